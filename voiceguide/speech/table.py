"""A read-only mapping of text keys held in one bytes blob, unpacked a key at a time.

hibari's lexicons and its tagger's weights hold 260,000 entries: unpacked into
dicts they take 0.09 s at every start of the natural voice, and a clip reads a
few dozen of them. Packed once into a table (open addressing on the crc32 of
each key, each value as marshal data), they load as one read, and each lookup
unpacks one value, equal to the dict's. The blob is this machine's own (native
byte order), kept in the store under a key that says so.

Values are written in marshal's version 2 (``MARSHAL``), which writes no references:
later versions mark an object as shared when its reference count is above one, so
the same value held once more elsewhere (by a thread, by a caller) would be written
as other bytes, and the same data kept by two processes would differ.
"""

from __future__ import annotations

import marshal
import struct
import sys
import zlib
from array import array
from collections.abc import Mapping
from typing import Any

MAGIC = b"voiceguide-table/1\n"
MARSHAL = 2  # the bytes of a value are the value's alone (no references by count)
FORMAT = ("voiceguide-table/1", sys.byteorder, MARSHAL)  # what a kept table is
_RECORD = struct.Struct("<II")  # key bytes, value bytes
_MISSING = object()


def pack(mapping: Mapping[str, Any]) -> bytes:
    """*mapping* (text keys, values marshal can write) as a table's blob."""
    slots = 1 << max(3, (2 * len(mapping)).bit_length())  # at most half full: probes end
    offsets = array("I", bytes(4 * slots))
    records = bytearray()
    base = len(MAGIC) + 4 + offsets.itemsize * slots
    for key, value in mapping.items():
        raw = key.encode("utf-8", "surrogatepass")
        data = marshal.dumps(value, MARSHAL)
        at = zlib.crc32(raw) & (slots - 1)
        while offsets[at]:
            at = (at + 1) & (slots - 1)
        offsets[at] = base + len(records)
        records += _RECORD.pack(len(raw), len(data)) + raw + data
    return MAGIC + struct.pack("<I", slots) + offsets.tobytes() + records


class Table:
    """The mapping in a blob ``pack`` made: ``get`` and ``in``, as hibari asks of a dict."""

    def __init__(self, blob: bytes) -> None:
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 4:
            raise ValueError("not a table")
        (slots,) = struct.unpack_from("<I", blob, len(MAGIC))
        start = len(MAGIC) + 4
        self._view = memoryview(blob)
        self._offsets = self._view[start : start + 4 * slots].cast("I")
        if len(self._offsets) != slots or slots & (slots - 1):
            raise ValueError("not a whole table")
        self._mask = slots - 1

    def get(self, key: Any, default: Any = None) -> Any:
        if not isinstance(key, str):
            return default
        raw = key.encode("utf-8", "surrogatepass")
        view, offsets, mask = self._view, self._offsets, self._mask
        at = zlib.crc32(raw) & mask
        while offset := offsets[at]:
            size, length = _RECORD.unpack_from(view, offset)
            start = offset + _RECORD.size
            if size == len(raw) and view[start : start + size] == raw:
                return marshal.loads(view[start + size : start + size + length])
            at = (at + 1) & mask
        return default

    def __contains__(self, key: Any) -> bool:
        return self.get(key, _MISSING) is not _MISSING
