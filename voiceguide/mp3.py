"""PCM chunks → MP3 with tags and ID3 chapters, written atomically.

ffmpeg encodes (libmp3lame) into a regular temporary file beside the target:
only a seekable output gets the LAME/Info header that tells decoders the
encoder delay, without which every sound plays ~50 ms late. Tags and chapters
then go in through an ffmetadata remux with ``-c copy``, which keeps the CHAP
frames in order and the encoder-delay header as it is. (Giving ffmpeg the
metadata as a second input of the encode works too, but two inputs make it
read the PCM pipe through a thread queue, which slowed the encode by ~20 %.)
The finished file is fsynced and renamed over the target, so a reader sees
the old file or the new one, never a part.

Defaults: mono 44.1 kHz at 96 kbit/s CBR — speech and chimes through earbuds
sound clean at that rate (LAME's mono 64k smears the chimes' high partials),
it costs ~43 MB an hour, and constant bitrate lets any player seek to a
chapter exactly.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import signal
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Protocol

from voiceguide import scratch
from voiceguide.errors import AudioError, OutputError
from voiceguide.sounds import ffmpeg_path
from voiceguide.tools import last_line

SAMPLE_RATE = 44100
BITRATE = "96k"
KEPT = "any earlier file there is unchanged"


class ChapterLike(Protocol):
    @property
    def title(self) -> str: ...

    @property
    def start_ms(self) -> int: ...

    @property
    def end_ms(self) -> int: ...


def write_mp3(
    chunks: Iterable[bytes],
    target: Path,
    *,
    sample_rate: int = SAMPLE_RATE,
    bitrate: str = BITRATE,
    tags: Mapping[str, str],
    chapters: Sequence[ChapterLike],
) -> None:
    """Encode s16le mono *chunks* into *target*; the file appears whole or not at all."""
    ffmpeg = ffmpeg_path()
    target = Path(target)
    comment = tags.get("comment", "")
    tags = {key: value for key, value in tags.items() if key != "comment"}
    with _replacing(target) as temp:
        audio = _create_temp(target)
        try:
            with scratch.folder() as work:
                metadata = Path(work) / "metadata.txt"
                metadata.write_text(ffmetadata(tags, chapters), encoding="utf-8")
                log = Path(work) / "ffmpeg.log"
                _encode(encode_command(ffmpeg, audio, sample_rate, bitrate), chunks, log, target)
                _encode(remux_command(ffmpeg, audio, metadata, temp), (), log, target)
            if comment:
                add_comment(temp, comment)
        finally:
            audio.unlink(missing_ok=True)


def add_comment(path: Path, text: str) -> None:
    """Add the description as an ID3v2.3 comment frame (COMM), the frame players show.

    ffmpeg can only write it as a TXXX frame, which no player reads as a comment,
    and rewriting the tag with a library re-sorts its frames, so the chapters
    would no longer be in order in the file. So the frame is appended to the
    tag ffmpeg wrote, in place of some of its padding or before the audio: the
    frames, the chapters and the encoder-delay header stay exactly as they are.
    """
    data = path.read_bytes()
    if data[:4] != b"ID3\x03":
        raise AudioError("ffmpeg wrote no ID3v2.3 tag to add the comment to")
    size = _syncsafe(data[6:10])
    frames, audio = data[10 : 10 + size], data[10 + size :]
    end = 0
    while end + 10 <= len(frames) and frames[end : end + 4] != b"\0\0\0\0":  # to the padding
        end += 10 + int.from_bytes(frames[end + 4 : end + 8], "big")
    body = b"\x01eng" + "\ufeff".encode("utf-16-le") + b"\0\0" + text.encode("utf-16")
    frame = b"COMM" + len(body).to_bytes(4, "big") + b"\0\0" + body
    tag = frames[:end] + frame
    path.write_bytes(data[:6] + _to_syncsafe(len(tag)) + tag + audio)


def _syncsafe(four: bytes) -> int:
    return (four[0] << 21) | (four[1] << 14) | (four[2] << 7) | four[3]


def _to_syncsafe(value: int) -> bytes:
    return bytes([(value >> 21) & 0x7F, (value >> 14) & 0x7F, (value >> 7) & 0x7F, value & 0x7F])


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
    temp = _create_temp(target)
    try:
        yield temp
        _fsync(temp)
        os.replace(temp, target)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}; {KEPT}") from exc
    finally:
        temp.unlink(missing_ok=True)
    _fsync_folder(target.parent)


def _create_temp(target: Path) -> Path:
    """Claim ``.<name>.<pid>.<random>.tmp`` beside *target* (same file system: atomic rename).

    The process id in the name lets a later build remove what a killed one left.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        temp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except OSError as exc:
        raise OutputError(f"cannot write to {target.parent}: {exc.strerror}") from exc
    return temp


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


def encode_command(ffmpeg: str, output: Path, sample_rate: int, bitrate: str) -> list[str]:
    """PCM from stdin → MP3 audio (with its encoder-delay header) in a regular file."""
    return [
        ffmpeg, "-nostats", "-hide_banner", "-v", "error", "-y",
        "-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
        "-c:a", "libmp3lame", "-b:a", bitrate, "-ac", "1", "-ar", str(sample_rate),
        "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-write_xing", "1", "-f", "mp3", file_url(output),
    ]  # fmt: skip


def file_url(path: Path) -> str:
    """*path* for ffmpeg as a file, even when its name looks like a protocol (``5:00.mp3``)."""
    return "file:" + str(path)


def remux_command(ffmpeg: str, audio: Path, metadata: Path, output: Path) -> list[str]:
    """The encoded audio, copied as it is, plus tags and chapters from an ffmetadata file."""
    return [
        ffmpeg, "-nostats", "-hide_banner", "-v", "error", "-y",
        "-f", "mp3", "-i", file_url(audio),
        "-f", "ffmetadata", "-i", file_url(metadata),
        "-map", "0:a", "-map_metadata", "1", "-map_chapters", "1", "-c", "copy",
        "-fflags", "+bitexact", "-id3v2_version", "3", "-write_xing", "1",
        "-f", "mp3", file_url(output),
    ]  # fmt: skip


def _encode(command: list[str], chunks: Iterable[bytes], log: Path, target: Path) -> None:
    with open(log, "wb") as errors:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=errors)
        try:
            _feed(process.stdin, chunks)
        except BaseException:
            process.kill()
            process.wait()
            raise
        status = process.wait()
    said = last_line(log.read_bytes(), "no message")
    if status == -signal.SIGXFSZ or "No space left" in said:
        raise OutputError(f"not enough space to write {target}: free some disk space and build "
                          f"again; {KEPT}")
    if status != 0:
        raise AudioError(f"ffmpeg failed: {said}")


def _feed(stdin: IO[bytes] | None, chunks: Iterable[bytes]) -> None:
    assert stdin is not None
    # A broken pipe means ffmpeg stopped early; its exit status and log say why.
    with contextlib.suppress(BrokenPipeError), stdin:
        for chunk in chunks:
            stdin.write(chunk)


def ffmetadata(tags: Mapping[str, str], chapters: Sequence[ChapterLike]) -> str:
    """ffmpeg's metadata file: global tags, then one [CHAPTER] per chapter in milliseconds."""
    lines = [";FFMETADATA1"]
    lines += [f"{_escape(key)}={_escape(value)}" for key, value in tags.items() if value]
    for chapter in chapters:
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={int(chapter.start_ms)}",
            f"END={int(chapter.end_ms)}",
            f"title={_escape(chapter.title)}",
        ]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    """A value for the ffmetadata format: its specials escaped, characters it cannot carry
    (NUL ends a value early, a carriage return ends a line) replaced."""
    text = "".join("\ufffd" if ord(c) < 32 and c != "\n" else c for c in text)
    for special in ("\\", "=", ";", "#", "\n"):
        text = text.replace(special, "\\" + special)
    return text


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
