"""PCM chunks → MP3 with tags and ID3 chapters, written atomically.

voiceguide writes the file itself: the ID3v2.3 tag (``id3.py``), then the
Xing/LAME Info frame (``mpeg.py``: frame and byte counts, the seek table, the
encoder delay and padding that keep decoders sample-exact), then the audio
frames, which ``islands.py`` makes by encoding only the stretches that sound.
Everything goes to a temporary file beside the target, fsynced and renamed
over it, so a reader sees the old file or the new one, never a part.

Defaults: mono 44.1 kHz at 96 kbit/s CBR — speech and chimes through earbuds
sound clean at that rate (LAME's mono 64k smears the chimes' high partials),
it costs ~43 MB an hour, and constant bitrate lets any player seek to a
chapter exactly.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide import id3, scratch
from voiceguide.errors import OutputError
from voiceguide.id3 import ChapterLike
from voiceguide.islands import Encoding, Splicer
from voiceguide.mpeg import FrameFormat
from voiceguide.pieces import PieceFrames

if TYPE_CHECKING:
    from voiceguide.speech.cache import SpeechCache

SAMPLE_RATE = 44100
BITRATE = "96k"
KEPT = "any earlier file there is unchanged"
NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def write_mp3(
    audio: Iterable[bytes] | PieceFrames,
    target: Path,
    *,
    sample_rate: int = SAMPLE_RATE,
    bitrate: str = BITRATE,
    tags: Mapping[str, str],
    chapters: Sequence[ChapterLike],
    cache: SpeechCache | None = None,
    threads: int | None = None,
    language: str = "eng",
    cover: bytes | None = None,
) -> Encoding:
    """Encode *audio* — s16le mono chunks, or a session with beds made piece by piece —
    into *target*; the file appears whole or not at all.

    Encoded islands are kept in *cache* (none: every island is encoded). *language* is the
    comment's (ISO 639-2); *cover* (JPEG or PNG bytes) is embedded as the front cover."""
    encoding = Encoding(FrameFormat(sample_rate, int(bitrate.rstrip("k"))), cache)
    if threads is not None:
        encoding.threads = threads
    target = Path(target)
    with _replacing(target) as temp, open(temp, "r+b") as out:
        out.write(id3.tag(tags, chapters, language, cover))
        info_at = out.tell()
        out.write(bytes(encoding.fmt.info_size))
        if isinstance(audio, PieceFrames):
            source: Splicer | PieceFrames = audio
            frames = audio.frames(encoding)
        else:
            source = Splicer(encoding)
            frames = source.frames(audio)
        for data in frames:
            out.write(data)
        out.seek(info_at)
        out.write(encoding.fmt.info_frame(source.total, source.samples))
    return encoding


def write_atomically(target: Path, data: bytes) -> None:
    """Write *data* to *target* as ``write_mp3`` writes: whole or not at all."""
    with _replacing(Path(target)) as temp:
        temp.write_bytes(data)


@contextlib.contextmanager
def _replacing(target: Path) -> Iterator[Path]:
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
