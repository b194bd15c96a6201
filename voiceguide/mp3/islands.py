"""Encode only what sounds: a session's PCM → its MP3 frames, islands of sound spliced
between ready-made silent frames.

Most of a session is digital silence, and a silent frame is the same bytes every
time (``mpeg.FrameFormat.silent_frame``). So the rendered PCM is cut, on the
frame grid, into *islands* — the frames a sound can reach, from a little
before it (the encoder's analysis window) to a little after (its overlap and
the decoder's) — and runs of silence between them. Each island is encoded on
its own by LAME, from its first frame, as if the session started there:

- An island starts on a frame whose number is a multiple of the padding
  pattern's period, so LAME pads its frames exactly as the whole stream
  needs (the splice checks every frame against the pattern).
- Its first frame takes no bits from earlier frames (an encode's first frame
  cannot), and silent frames take none from it, so no bit reservoir reaches
  across a splice; each island ends with frames of silence, so the decoder's
  state there is zero, as after any silent frame.
- Islands are encoded in parallel threads (LAME runs outside the GIL) and
  kept in the cache by content: an edit re-encodes only the islands it
  changed, and the same PCM always gives the same frames, whatever the cache
  holds or the number of threads.

An island longer than half a minute (a long user sound, speech without a
pause) is streamed through one encoder instead of held in memory; it is not
cached. Sessions with beds, where sound never stops, are made from the plan
instead (``pieces.py``), which uses ``Encoding`` for its pieces.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from voiceguide.errors import AudioError
from voiceguide.mp3.frames import FrameError, FrameFormat, Frames
from voiceguide.tools import cores_per_build, installed_version

if TYPE_CHECKING:
    from voiceguide.store import Entries

LEAD = 3  # frames before a sound that its encoding can reach (analysis window, look-ahead)
TAIL = 6  # frames after it: the overlap, the decoder's delay, then two wholly silent frames
LONGEST_CACHED_S = 30  # longer islands are streamed, not held
QUALITY = 3  # LAME's own default: ffmpeg's, and the speed voiceguide's figures assume
MAGIC = "voiceguide-island/1"
ENCODE_BYTES = 1 << 17  # PCM given to the encoder per call (1.5 s at 44.1 kHz)


@functools.cache
def encoder_version() -> str:
    return f"lameenc {installed_version('lameenc')}"


def _new_encoder(fmt: FrameFormat) -> Any:
    import lameenc

    encoder = lameenc.Encoder()
    encoder.set_channels(1)
    encoder.set_in_sample_rate(fmt.sample_rate)
    encoder.set_out_sample_rate(fmt.sample_rate)
    encoder.set_bit_rate(fmt.kbps)
    encoder.set_quality(QUALITY)
    encoder.silence()
    return encoder


@dataclass
class Encoding:
    """How a session's frames are made: the format, the island cache, the threads."""

    fmt: FrameFormat
    cache: Entries | None = None
    threads: int = field(default_factory=cores_per_build)
    encoded: int = 0  # islands encoded in this build (the rest came from the cache)
    reused: int = 0

    def key(self, pcm: bytes, first: int, count: int) -> str:
        digest = hashlib.sha256(pcm).hexdigest()
        fields = (MAGIC, encoder_version(), QUALITY, self.fmt.sample_rate, self.fmt.kbps,
                  first % self.fmt.period, count, digest)
        return hashlib.sha256(repr(fields).encode()).hexdigest()

    def island(self, pcm: bytes, first: int, count: int) -> bytes:
        """Frames *first* .. first+count-1 of the stream, whose PCM from frame *first* on is
        *pcm*: from the cache when a whole entry is there, else encoded (and cached)."""
        key = self.key(pcm, first, count)
        kept = self.lookup(key, first, count)
        return kept if kept is not None else self.encode(key, pcm, first, count)

    def lookup(self, key: str, first: int, count: int) -> bytes | None:
        """The *count* frames from frame *first* kept under *key*, if whole and sound."""
        frames = self.lookup_frames(key, first, count)
        return None if frames is None else frames.data

    def lookup_frames(self, key: str, first: int, count: int) -> Frames | None:
        """``lookup``'s frames, one by one. Their headers were checked before they were
        kept, and the store checks every entry's sha256 as it reads it: here they are only
        found where each starts, which the frame the island begins at tells."""
        if self.cache is None or (kept := self.cache.get(key)) is None:
            return None
        try:
            frames = self.fmt.tiled(kept, first)
        except FrameError:
            return None  # not the frames the key says: encode them again
        if len(frames) != count:
            return None
        self.reused += 1
        return frames

    def encode(self, key: str, pcm: bytes, first: int, count: int) -> bytes:
        """Encode *pcm* as frames *first* .. first+count-1 and keep them under *key*."""
        encoder = _new_encoder(self.fmt)
        data = _encoded(encoder, pcm) + bytes(encoder.flush())
        frames = _checked(self.fmt, data, first)
        if len(frames) < count:
            raise AudioError(f"the encoder gave {len(frames)} frames for {count}")
        data = frames.joined(0, count)
        self.encoded += 1
        if self.cache is not None:
            with contextlib.suppress(OSError):  # a cache that cannot grow costs time, not the build
                self.cache.put(key, data)
        return data


def _encoded(encoder: Any, pcm: bytes) -> bytes:
    """*pcm* through *encoder*, ``ENCODE_BYTES`` at a time: the same frames as in one call
    (LAME buffers its input), but the encoder's working copies of the samples stay small
    (7 MB for a 20-second piece in one call, under 1 MB so)."""
    return b"".join(bytes(encoder.encode(pcm[at : at + ENCODE_BYTES]))
                    for at in range(0, len(pcm), ENCODE_BYTES))


def _checked(fmt: FrameFormat, data: bytes, first: int) -> Frames:
    try:
        return fmt.cut(data, first)
    except FrameError as exc:
        raise AudioError(f"the encoder's frames cannot be spliced: {exc}") from exc


class _Stream:
    """One long island through one encoder, fed in order from a single thread."""

    def __init__(self, encoding: Encoding, first: int) -> None:
        self.fmt, self.first, self.made = encoding.fmt, first, 0
        self.encoder = _new_encoder(encoding.fmt)
        self.pending = b""

    def feed(self, pcm: bytes) -> bytes:
        return self._frames(_encoded(self.encoder, pcm))

    def finish(self, count: int) -> bytes:
        data = self._frames(bytes(self.encoder.flush()), limit=count)
        if self.made < count:
            raise AudioError(f"the encoder gave {self.made} frames for {count}")
        return data

    def _frames(self, data: bytes, limit: int | None = None) -> bytes:
        """The whole frames made so far: the encoder hands on bytes, not always whole
        frames, until the flush (*limit*: the frames the island needs)."""
        try:
            frames, self.pending = self.fmt.cut_some(self.pending + data, self.first + self.made)
            count = len(frames)
            if limit is not None:
                if self.pending:
                    raise FrameError(f"frame {self.first + self.made + count} is cut short")
                count = min(count, max(0, limit - self.made))
        except FrameError as exc:
            raise AudioError(f"the encoder's frames cannot be spliced: {exc}") from exc
        self.made += count
        return frames.joined(0, count)


class FrameSource(Protocol):
    """What an MP3 writer writes: a session's frames in order, and once they are all
    given, how many samples and frames there were (for the Info frame)."""

    samples: int
    total: int

    def frames(self, encoding: Encoding) -> Iterator[bytes | memoryview]: ...


class PcmFrames:
    """A FrameSource for PCM chunks (s16le mono): its islands found in the samples."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = chunks
        self.samples = self.total = 0

    def frames(self, encoding: Encoding) -> Iterator[bytes | memoryview]:
        splicer = Splicer(encoding)
        yield from splicer.frames(self.chunks)
        self.samples, self.total = splicer.samples, splicer.total


class Splicer:
    """Takes the session's PCM in chunks, gives its MP3 frames in order (``frames``)."""

    def __init__(self, encoding: Encoding) -> None:
        self.encoding, self.fmt = encoding, encoding.fmt
        self.spf = self.fmt.samples
        self.longest = LONGEST_CACHED_S * self.fmt.sample_rate // self.spf
        self.rest = np.zeros(0, dtype=np.int16)  # samples short of a whole frame
        self.frame = 0  # frames taken in
        self.written = 0  # frames handed on (silence and islands)
        self.start: int | None = None  # the open island's first frame
        self.end = 0  # ... and the frame after the last one its sounds reach
        self.held = np.zeros(0, dtype=np.int16)  # PCM of frames held_from .. frame
        self.held_from = 0
        self.stream: _Stream | None = None
        self.out: deque[Future[bytes] | bytes | memoryview] = deque()
        self.samples = self.total = 0  # known once the last chunk is in

    def frames(self, chunks: Iterable[bytes]) -> Iterator[bytes | memoryview]:
        """The whole session's frames, in order, for *chunks* of s16le mono PCM."""
        with ThreadPoolExecutor(self.encoding.threads) as pool, \
                ThreadPoolExecutor(1) as streamer:
            try:
                samples = 0
                for chunk in chunks:
                    samples += len(chunk) // 2
                    self._take(np.frombuffer(chunk, dtype="<i2"), pool, streamer)
                    yield from self._ready(keep=2 * self.encoding.threads + 4)
                total = self.fmt.frames_for(samples)
                if len(self.rest):
                    self._take(np.zeros(self.spf - len(self.rest), dtype=np.int16), pool, streamer)
                if self.start is not None:
                    self._close(min(self.end, total), pool, streamer)
                self._silence(total)
                self.samples, self.total = samples, total
                yield from self._ready(keep=0)
            finally:
                for item in self.out:
                    if isinstance(item, Future):
                        item.cancel()

    def _ready(self, keep: int) -> Iterator[bytes | memoryview]:
        """Hand on the finished items at the head of the queue; while more than *keep*
        are queued, wait for the head."""
        while self.out:
            head = self.out[0]
            if isinstance(head, Future) and not head.done() and len(self.out) <= keep:
                return
            self.out.popleft()
            yield head.result() if isinstance(head, Future) else head

    def _take(self, pcm: np.ndarray, pool: Executor, streamer: Executor) -> None:
        if len(self.rest):
            pcm = np.concatenate([self.rest, pcm])
        whole = len(pcm) // self.spf
        self.rest = pcm[whole * self.spf :].copy()
        if not whole:
            return
        block = pcm[: whole * self.spf]
        first, self.frame = self.frame, self.frame + whole
        if self.start is not None or block.any():
            sounding = np.flatnonzero(block.reshape(whole, self.spf).any(axis=1)) + first
            self._hold(block, first)
            period = self.fmt.period
            for begin, last in _runs(sounding):
                start = max(0, (begin - LEAD) // period * period)
                if self.start is not None and start >= self.end:
                    self._close(self.end, pool, streamer)
                if self.start is None:
                    self._silence(start)
                    self.held = self._pcm(start, self.frame)
                    self.start, self.held_from = start, start
                self.end = max(self.end, last + TAIL + 1)
        if self.start is None:
            self.held, self.held_from = self.held[:0], self.frame
            return
        if self.frame >= self.end + self.fmt.period + LEAD:  # no later sound can join it
            self._close(self.end, pool, streamer)
        elif self.frame - self.start > self.longest:
            self._stream_to(min(self.frame, self.end), streamer)

    def _hold(self, block: np.ndarray, first: int) -> None:
        if self.start is None:
            self.held, self.held_from = block, first
        else:
            self.held = np.concatenate([self.held, block])

    def _pcm(self, begin: int, end: int) -> np.ndarray:
        """PCM of frames begin .. end-1: held samples, zeros outside them (known silence)."""
        out = np.zeros((end - begin) * self.spf, dtype=np.int16)
        lo, hi = max(begin, self.held_from), min(end, self.held_from + len(self.held) // self.spf)
        if lo < hi:
            out[(lo - begin) * self.spf : (hi - begin) * self.spf] = \
                self.held[(lo - self.held_from) * self.spf : (hi - self.held_from) * self.spf]
        return out

    def _stream_to(self, end: int, streamer: Executor) -> None:
        assert self.start is not None
        if self.stream is None:
            self.stream = _Stream(self.encoding, self.start)
        if end > self.held_from:
            pcm = self._pcm(self.held_from, end).tobytes()
            self.out.append(streamer.submit(self.stream.feed, pcm))
            self.held = self._pcm(end, max(end, self.frame))
            self.held_from = end

    def _close(self, end: int, pool: Executor, streamer: Executor) -> None:
        assert self.start is not None
        if self.stream is not None:
            self._stream_to(end, streamer)
            self.out.append(streamer.submit(self.stream.finish, end - self.start))
            self.stream = None
        else:
            pcm = self._pcm(self.start, end).tobytes()
            self.out.append(pool.submit(self.encoding.island, pcm, self.start, end - self.start))
        self.written = end
        self.held = self._pcm(end, self.frame) if self.frame > end else self.held[:0]
        self.held_from = end
        self.start, self.end = None, 0

    def _silence(self, until: int) -> None:
        if self.written < until:
            self.out.extend(self.fmt.silent(self.written, until - self.written))
            self.written = until


def _runs(sounding: np.ndarray) -> Iterator[tuple[int, int]]:
    """(first, last) of each run of neighbouring frames in *sounding*."""
    if not len(sounding):
        return
    gaps = np.flatnonzero(np.diff(sounding) > 1)
    firsts = np.concatenate([sounding[:1], sounding[gaps + 1]])
    lasts = np.concatenate([sounding[gaps], sounding[-1:]])
    yield from zip(firsts.tolist(), lasts.tolist(), strict=True)
