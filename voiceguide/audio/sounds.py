"""Built-in sounds and user sound files, read safely.

A user's file is identified by its content, never its name, and decoded by
ffmpeg with the demuxer forced and the bytes piped in: a playlist or other
container saved as ``x.mp3`` cannot make ffmpeg open further files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np

from voiceguide import builtins
from voiceguide.audio import decode
from voiceguide.errors import AudioError
from voiceguide.speech import wav

FORMATS = ("wav", "flac", "ogg", "mp3")
MAX_FILE_BYTES = 64 * 1024 * 1024  # sounds are short; this bounds what a script can make us decode
MIN_RATE, MAX_RATE = 8000, 192_000  # Hz: telephone quality to studio masters
MAX_SOUND_MS = 5 * 60 * 1000  # a chime, a whistle, a spoken sample: never an hour
_SNIFF_BYTES = 16
_MPEG_BITRATE_BAD = (0x0, 0xF)


def sniff_bytes(head: bytes) -> str | None:
    """The audio format the first bytes announce: wav, flac, ogg, mp3, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:3] == b"ID3" or _is_mpeg_frame(head):
        return "mp3"
    return None


def _is_mpeg_frame(head: bytes) -> bool:
    """An MPEG audio frame header: sync, a real version and layer, valid bitrate and rate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0x3, (head[1] >> 1) & 0x3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0x3
    return version != 1 and layer != 0 and bitrate not in _MPEG_BITRATE_BAD and rate != 3


def sniff_format(path: Path) -> str | None:
    """The real format of the file at *path*, from its content; None when not supported."""
    try:
        with open(path, "rb") as f:
            return sniff_bytes(f.read(_SNIFF_BYTES))
    except OSError:
        return None


def validate_sound_file(path: Path) -> str | None:
    """None when *path* is a usable sound, else a one-line reason (for a script error).
    Decoded as a stream, a block at a time: judging a sound holds none of it."""
    samples, heard = 0, False
    try:
        for block in _stream(_read_limited(path), path.name):
            samples += len(block)
            heard = heard or bool(np.any(block))
    except AudioError as exc:
        return str(exc)
    if not samples:
        return f"{path.name} contains no audio"
    return None if heard else f"{path.name} is silent"


def decode_file(path: Path, keep_ms: int | None = None) -> tuple[np.ndarray, int]:
    """Decode a user's sound file to float32 mono at its own sample rate (its first
    *keep_ms* only, when given)."""
    data = _read_limited(path)
    fmt = sniff_bytes(data[:_SNIFF_BYTES])
    if fmt is None:
        raise AudioError(f"{path.name} is not a WAV, FLAC, OGG or MP3 file")
    return decode_bytes(data, fmt, path.name, keep_ms)


def _read_limited(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise AudioError(f"{path} is not a file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise AudioError(f"{path.name} is larger than {MAX_FILE_BYTES // 2**20} MiB")
        return path.read_bytes()
    except OSError as exc:
        raise AudioError(f"cannot read {path}: {exc.strerror}") from exc


def decode_bytes(data: bytes, fmt: str, label: str,
                 keep_ms: int | None = None) -> tuple[np.ndarray, int]:
    """Decode *data* of format *fmt* through ffmpeg's forced demuxer, fed on stdin only.

    The output is read as it comes and bounded: a sample rate outside
    ``MIN_RATE..MAX_RATE`` or more than ``MAX_SOUND_MS`` of audio stops the
    decoder at once, so a small hostile file cannot cost minutes or gigabytes.
    *keep_ms*: only the sound's first milliseconds are wanted; the decoder stops there.
    """
    rates: list[int] = []
    blocks = list(_stream(data, label, fmt, keep_ms, rates))
    if not blocks or not sum(len(b) for b in blocks):
        raise AudioError(f"{label} contains no audio")
    return np.clip(np.concatenate(blocks), -1.0, 1.0), rates[0]


def _stream(data: bytes, label: str, fmt: str | None = None, keep_ms: int | None = None,
            rate_out: list[int] | None = None) -> Iterator[np.ndarray]:
    """*data*'s samples (float32 mono at its own rate, appended to *rate_out*) a block at
    a time as ffmpeg decodes them: refused as soon as the rate or the length is out of
    bounds, and ended after *keep_ms* when that is all that is wanted. *fmt*: sniffed
    from the data when not given."""
    fmt = fmt or sniff_bytes(data[:_SNIFF_BYTES])
    if fmt is None:
        raise AudioError(f"{label} is not a WAV, FLAC, OGG or MP3 file")
    if fmt not in FORMATS:
        raise AudioError(f"{label}: unsupported format {fmt}")
    output = ["-map", "0:a:0", "-ac", "1", "-c:a", "pcm_f32le", "-f", "wav", "pipe:1"]
    blocks = decode.blocks(data, fmt, output, size=1 << 16)
    head, carry = bytearray(), b""
    samples = limit = 0
    kept: int | None = None
    try:
        with contextlib.closing(blocks):  # stopping early kills the decoder
            for block in blocks:
                if not limit:  # the WAV header has not all arrived yet
                    head += block
                    header = _data_start(head)
                    if header is None:
                        continue
                    rate, start = header
                    if not MIN_RATE <= rate <= MAX_RATE:
                        raise AudioError(f"{label} has a sample rate of {rate:,} Hz; sounds "
                                         f"must be {MIN_RATE:,} to {MAX_RATE:,} Hz")
                    if rate_out is not None:
                        rate_out.append(rate)
                    limit = MAX_SOUND_MS * rate // 1000 + 1
                    kept = None if keep_ms is None else -(-keep_ms * rate // 1000)
                    block = bytes(head[start:])
                whole = carry + block
                usable = len(whole) // 4 * 4
                carry = whole[usable:]
                floats = np.frombuffer(whole[:usable], dtype="<f4").astype(np.float32)
                if kept is not None and samples + len(floats) >= kept:
                    yield floats[: kept - samples]
                    return
                samples += len(floats)
                if samples > limit:
                    raise AudioError(f"{label} lasts more than {MAX_SOUND_MS // 60_000} "
                                     f"minutes; a sound is at most {MAX_SOUND_MS // 60_000} "
                                     "minutes long")
                yield floats
    except decode.DecodeFailure as failure:
        if failure.stalled_s is not None:
            raise AudioError(f"ffmpeg took over {failure.stalled_s:g} s decoding {label}; "
                             "try again") from None
        raise AudioError(f"{label} cannot be decoded: {failure.said}") from None


def _data_start(data: bytes | bytearray) -> tuple[int, int] | None:
    """(sample rate, offset of the samples) once a WAV's header has arrived, else None."""
    pos, rate = 12, None
    while pos + 8 <= len(data):
        kind, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if kind == b"fmt " and pos + 16 <= len(data):
            rate = int.from_bytes(data[pos + 12 : pos + 16], "little")
        elif kind == b"data":
            return (rate, pos + 8) if rate is not None else None
        pos += 8 + size + (size & 1)
    return None


class SoundLibrary:
    """Named sounds: the built-ins, plus the script's own files (which win on a name clash)."""

    def __init__(self, user_sounds: Mapping[str, Path] = MappingProxyType({})) -> None:
        self._user = {name: Path(path) for name, path in user_sounds.items()}
        self._builtin = {name: builtins.sound_path(name) for name in builtins.SOUNDS}

    def names(self) -> set[str]:
        return set(self._builtin) | set(self._user)

    def source(self, name: str) -> Path:
        """The file that sounds *name* here (the script's own, else the built-in)."""
        return self._user.get(name) or self._builtin[name]

    def audio(self, name: str, keep_ms: int | None = None) -> tuple[np.ndarray, int]:
        """Float32 mono samples in [-1, 1] at the file's own rate: its first *keep_ms*
        only, when given."""
        if name in self._user:
            return decode_file(self._user[name], keep_ms)
        if name in self._builtin:
            samples, rate = wav.decode(self._builtin[name].read_bytes())  # our own WAVs
            return (samples, rate) if keep_ms is None else (
                samples[: -(-keep_ms * rate // 1000)], rate)
        raise AudioError(f"unknown sound {name!r}; known: {', '.join(sorted(self.names()))}")
