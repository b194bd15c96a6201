"""The ID3v2.3 tag at the front of a session: title, artist, album, chapters, description.

Written in the layout players read chapters from: a CTOC frame listing the
chapters in order, then one CHAP frame per chapter (start and end in
milliseconds, its title as a TIT2 sub-frame), and the description as a COMM
comment, the frame players show. Every frame is length-prefixed, so no text a
script holds can end a frame early or add one; characters a tag cannot carry
(NUL, other control characters but newline) become U+FFFD.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

TEXT_FRAMES = {"title": b"TIT2", "artist": b"TPE1", "album": b"TALB", "genre": b"TCON",
               "date": b"TYER", "track": b"TRCK"}


class ChapterLike(Protocol):
    @property
    def title(self) -> str: ...

    @property
    def start_ms(self) -> int: ...

    @property
    def end_ms(self) -> int: ...


def tag(tags: Mapping[str, str], chapters: Sequence[ChapterLike], language: str = "eng",
        cover: bytes | None = None) -> bytes:
    """The whole tag: header, frames, no padding. *language* is the comment's (ISO 639-2);
    *cover*, a JPEG or PNG, becomes the front cover (APIC)."""
    frames = [_frame(TEXT_FRAMES[key], _text(value)) for key, value in tags.items()
              if key in TEXT_FRAMES and value]
    if chapters:
        ids = [b"ch%d" % number for number in range(len(chapters))]
        frames += _tables_of_contents(ids)
        for element, chapter in zip(ids, chapters, strict=True):
            times = (int(chapter.start_ms).to_bytes(4, "big")
                     + int(chapter.end_ms).to_bytes(4, "big")
                     + b"\xff" * 8)  # no byte offsets: players seek by time
            frames.append(_frame(b"CHAP", element + b"\0" + times
                                 + _frame(b"TIT2", _text(chapter.title))))
    if tags.get("comment"):
        bom = "\ufeff".encode("utf-16-le")  # UTF-16, an empty short description, the text
        frames.append(_frame(b"COMM", b"\x01" + _language(language) + bom + b"\0\0" + bom
                             + clean(tags["comment"]).encode("utf-16-le")))
    if cover:
        mime = b"image/png" if cover.startswith(b"\x89PNG") else b"image/jpeg"
        frames.append(_frame(b"APIC", b"\0" + mime + b"\0" + b"\x03" + b"\0" + cover))
    body = b"".join(frames)
    return b"ID3\x03\x00\x00" + _syncsafe(len(body)) + body


MAX_ENTRIES = 255  # a CTOC frame counts its entries in one byte


def _tables_of_contents(ids: list[bytes]) -> list[bytes]:
    """The CTOC frames: one top-level table of the chapters, or, past 255 chapters, a
    top-level table of tables of up to 255 chapters each (nested, as the ID3 chapter
    addendum allows), so a session of up to 1,000 stages keeps every chapter."""
    if len(ids) <= MAX_ENTRIES:
        return [_toc(b"toc", 0x03, ids)]  # top-level, ordered
    groups = [ids[i : i + MAX_ENTRIES] for i in range(0, len(ids), MAX_ENTRIES)]
    names = [b"toc%d" % n for n in range(len(groups))]
    return [_toc(b"toc", 0x03, names),
            *(_toc(name, 0x01, group) for name, group in zip(names, groups, strict=True))]


def _toc(element: bytes, flags: int, entries: list[bytes]) -> bytes:
    return _frame(b"CTOC", element + b"\0" + bytes([flags, len(entries)])
                  + b"".join(e + b"\0" for e in entries))


def _language(code: str) -> bytes:
    """Three lower-case ASCII letters, as the frame's language field holds."""
    return code.encode("ascii") if len(code) == 3 and code.isascii() and code.isalpha() \
        else b"eng"


def clean(text: str) -> str:
    """*text* without the characters a tag cannot carry."""
    return "".join("\ufffd" if ord(c) < 32 and c != "\n" else c for c in text)


def _text(value: str) -> bytes:
    """A text frame's body: Latin-1 when plain ASCII, else UTF-16 with a byte-order mark."""
    value = clean(value)
    return b"\0" + value.encode("ascii") + b"\0" if value.isascii() else _utf16(value)


def _utf16(value: str) -> bytes:
    return b"\x01" + "\ufeff".encode("utf-16-le") + clean(value).encode("utf-16-le") + b"\0\0"


def _frame(name: bytes, body: bytes) -> bytes:
    return name + len(body).to_bytes(4, "big") + b"\0\0" + body


def _syncsafe(value: int) -> bytes:
    return bytes([(value >> 21) & 0x7F, (value >> 14) & 0x7F, (value >> 7) & 0x7F, value & 0x7F])


# ---------------------------------------------------------------------------
# Reading back the tag voiceguide wrote (a published folder whose index is lost)


def read(data: bytes) -> dict[str, object] | None:
    """The title, comment (and its language) and chapters of a tag as ``tag`` writes it
    (``title``, ``comment``, ``language``, ``chapters`` as (title, start, end) in ms);
    None when *data* does not start with such a tag."""
    if len(data) < 10 or data[:4] != b"ID3\x03" or data[5]:
        return None
    size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    found: dict[str, object] = {"title": "", "comment": "", "language": "eng", "chapters": []}
    try:
        for name, body in _frames(data[10 : 10 + size]):
            if name == b"TIT2":
                found["title"] = _read_text(body)
            elif name == b"COMM" and len(body) >= 4:
                found["language"] = body[1:4].decode("ascii")
                found["comment"] = _read_text(body[:1] + _after_description(body[0], body[4:]))
            elif name == b"CHAP":
                element_end = body.index(b"\0")
                times = body[element_end + 1 : element_end + 9]
                titles = [_read_text(b) for n, b in _frames(body[element_end + 17 :])
                          if n == b"TIT2"]
                chapters = found["chapters"]
                assert isinstance(chapters, list)
                chapters.append((titles[0] if titles else "", int.from_bytes(times[:4], "big"),
                                 int.from_bytes(times[4:], "big")))
    except (ValueError, UnicodeDecodeError, IndexError):
        return None
    return found


def _frames(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    at = 0
    while at + 10 <= len(data) and data[at : at + 1] != b"\0":
        size = int.from_bytes(data[at + 4 : at + 8], "big")
        if at + 10 + size > len(data):
            raise ValueError("a frame runs past its tag")
        yield data[at : at + 4], data[at + 10 : at + 10 + size]
        at += 10 + size


def _after_description(encoding: int, rest: bytes) -> bytes:
    """A comment's text, past its (empty or not) short description."""
    if encoding == 0:
        return rest[rest.index(b"\0") + 1 :]
    for at in range(0, len(rest) - 1, 2):
        if rest[at : at + 2] == b"\0\0":
            return rest[at + 2 :]
    raise ValueError("a comment without its text")


def _read_text(body: bytes) -> str:
    """A text frame's body: Latin-1, or UTF-16 with its byte-order mark."""
    if not body:
        return ""
    if body[0] == 0:
        return body[1:].split(b"\0", 1)[0].decode("latin-1")
    if body[0] == 1:
        return body[1:].decode("utf-16").split("\0", 1)[0]
    raise ValueError("a text encoding voiceguide does not write")
