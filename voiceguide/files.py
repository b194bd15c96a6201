"""Files that appear whole or not at all, for every writer in voiceguide (MP3s,
transcripts, pictures, feeds, pages, covers).

Everything goes to a temporary file beside the target, fsynced and renamed
over it, so a reader sees the old file or the new one, never a part. The
temporary file's name carries the process id, so a later write sweeps what a
killed one left. No audio here: the phone's files are written without numpy.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from voiceguide import scratch
from voiceguide.errors import OutputError

KEPT = "any earlier file there is unchanged"
NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def write_atomically(target: Path, data: bytes) -> None:
    """Write *data* to *target*: whole or not at all."""
    with replacing(Path(target)) as temp:
        temp.write_bytes(data)


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary file beside *target*, fsynced and renamed over it if the block succeeds.

    Whatever happens, the temporary file does not stay behind; an OSError (e.g.
    the disk filled up while syncing) becomes an OutputError.
    """
    temp = _temp_name(target)
    try:
        _claim(temp, target)  # inside the try: a signal landing just after leaves nothing
        yield temp
        _fsync(temp)
        os.replace(temp, target)
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise OutputError(f"not enough space to write {target}: free some disk space and "
                              f"build again; {KEPT}") from exc
        raise OutputError(f"cannot write {target}: {exc.strerror}; {KEPT}") from exc
    finally:
        temp.unlink(missing_ok=True)
    _fsync_folder(target.parent)


def _temp_name(target: Path) -> Path:
    """``.<name>.<pid>.<random>.tmp`` beside *target* (same file system: atomic rename).

    The process id in the name lets a later build remove what a killed one left.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
    except OSError as exc:
        raise OutputError(f"cannot write to {target.parent}: {exc.strerror}") from exc
    return target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"


def _claim(temp: Path, target: Path) -> None:
    try:
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except OSError as exc:
        raise OutputError(f"cannot write to {target.parent}: {exc.strerror}") from exc


def remove_stale_temps(target: Path) -> list[Path]:
    """Deletes temporary files beside *target* whose build process is gone (e.g. SIGKILLed)."""
    prefix = f".{target.name}."
    removed = []
    for entry in target.parent.glob(glob.escape(prefix) + "*.tmp"):
        pid, _, token = entry.name[len(prefix) : -len(".tmp")].partition(".")
        if pid.isdigit() and len(token) == 12 and not scratch.alive(int(pid)):
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every file system lets a folder be fsynced."""
    with contextlib.suppress(OSError):
        _fsync(folder)
