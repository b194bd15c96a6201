"""Sessions with beds: frames made piece by piece from the plan, kept by what makes them.

Under a music bed sound never stops, so finding the silence in the rendered
PCM (``islands.py``) would make the session one island: rendered, measured
and encoded on one thread on every build. Here the plan says where sound can
be and what makes it:

- Islands come from the plan: every event, music bed and cadence tick,
  widened by the encoder's LEAD and TAIL frames, merged where they come close.
- An island longer than half a minute is cut into *pieces* of ``PIECE_S`` on
  the padding period. A piece is encoded on its own, from *lead* frames
  before its first to a few frames after its end (so the encoder's end does
  not reach it); pieces are encoded in parallel.
- Two pieces join within the right piece's lead, at its first frame past the
  encoder's start (whose first frame hears zeros before the music) where it
  borrows no more from the bit reservoir than the left piece left free: an
  encode that has just started has little in its reservoir, and the bytes it
  borrows are copied into the end of the left piece's frames. The block types
  must meet too (a long block ends the left side, a long or start block begins
  the right). The stream is as valid as either encode, and decodes as one
  long encode does but for quantisation noise at that frame.
- A piece is kept in the island cache under the digest of its *recipe*:
  each event's clip (its samples' digest, from its prepared clip's header),
  place and volume; the music beds, their place in the playlist and the
  files' digests; the duck spans; the ticks; the gains; the format, the
  encoder, and ffmpeg's version. The levels
  are measured in stretches of 25.6 s, each kept under its own recipe's
  digest. A warm build mixes, measures and encodes nothing it made before; an
  edit, only the stretches and pieces it reaches.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from voiceguide import __version__
from voiceguide.audio.loudness import HOP_S
from voiceguide.audio.render import Measured, Mixdown, bed_levels, identity_of, to_sample
from voiceguide.errors import AudioError
from voiceguide.mp3.frames import FrameFormat, Frames
from voiceguide.mp3.islands import LEAD, LONGEST_CACHED_S, QUALITY, TAIL, Encoding, encoder_version
from voiceguide.tools import cores_per_build, release_memory

if TYPE_CHECKING:
    from voiceguide.audio.beds import BedMixer
    from voiceguide.audio.clips import ClipStore
    from voiceguide.plan import Plan
    from voiceguide.store import Entries

PIECE_S = 20
WARM = 2  # frames an encode gives before its output is the music's own (the first hears zeros)
JOIN_FRAMES = 16  # frames, after those, within which the right piece can take over
TAIL_FRAMES = 4  # frames encoded past a piece's end, so the encoder's end does not reach it
MIX = "voiceguide-mix/1"  # change it whenever the same recipe would mix other samples
PIECE = "voiceguide-piece/1"
LEVELS = "voiceguide-levels/3"
_LEVELS_HEAD = struct.Struct("<IIdd")  # a kept stretch: its hops (events, beds), its peaks
MEASURE_HOPS = 256  # the levels are measured and kept in stretches of 25.6 s

Progress = Callable[[int, int], None]  # (samples done, samples in all)


@dataclass(frozen=True)
class Piece:
    """Frames first .. end-1 of the stream, encoded from frame first-lead to end+tail."""

    first: int
    end: int
    lead: int = 0
    tail: int = 0

    @property
    def start(self) -> int:
        return self.first - self.lead

    @property
    def stop(self) -> int:
        return self.end + self.tail

    @property
    def count(self) -> int:
        return self.stop - self.start


def islands(spans: list[tuple[int, int]], samples: int, fmt: FrameFormat) -> list[tuple[int, int]]:
    """Frame ranges [first, end) that cover every sample span that may sound."""
    total = fmt.frames_for(samples)
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        lo, hi = max(0, lo), min(samples, hi)
        if hi <= lo:
            continue
        start = max(0, (lo // fmt.samples - LEAD) // fmt.period * fmt.period)
        end = min(total, (hi - 1) // fmt.samples + TAIL + 1)
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def context_frames(fmt: FrameFormat) -> int:
    """Frames a piece is encoded from before its first: room to find the join, on the
    padding period."""
    return math.ceil((WARM + JOIN_FRAMES) / fmt.period) * fmt.period


def pieces(first: int, end: int, fmt: FrameFormat) -> list[Piece]:
    """The island [first, end) in pieces (one when it is short)."""
    if end - first <= LONGEST_CACHED_S * fmt.sample_rate // fmt.samples:
        return [Piece(first, end)]
    size = max(1, round(PIECE_S * fmt.sample_rate / fmt.samples / fmt.period)) * fmt.period
    cuts = [first, *range(first + size, end - size // 2, size), end]
    lead, tail = context_frames(fmt), TAIL_FRAMES
    return [Piece(a, b, lead if a != first else 0, tail if b != end else 0)
            for a, b in pairwise(cuts)]


def reach(layout: list[list[Piece]]) -> int:
    """Frames a piece's encode reaches back before the end of the one mixed before it:
    that piece's tail, then this one's lead (the Mixdown keeps this many samples)."""
    return max((left.tail + right.lead for island in layout
                for left, right in pairwise(island)), default=0)


def join(fmt: FrameFormat, left: Frames, left_piece: Piece, right: Frames,
         right_piece: Piece) -> int:
    """Where *right* takes over from *left* (a frame number); the bytes the right piece's
    frame there borrows are copied into the end of *left*'s frames before it."""
    for at in range(right_piece.start + WARM, right_piece.first + 1):
        ours, theirs = left[at - left_piece.start], right[at - right_piece.start]
        if fmt.main_data_begin(theirs) <= fmt.main_data_begin(ours) and \
                fmt.edge_blocks(left[at - 1 - left_piece.start])[1] in (0, 3) and \
                fmt.edge_blocks(theirs)[0] in (0, 1):
            break
    else:
        raise AudioError(f"the encoder's pieces cannot be joined near frame {right_piece.first}")
    borrowed, index = fmt.main_data_begin(theirs), at - 1
    while borrowed > 0:  # bytes of the right piece's own frames: it started with none
        mine, other = left[index - left_piece.start], right[index - right_piece.start]
        take = min(borrowed, fmt.payload(mine))
        left[index - left_piece.start] = mine[: len(mine) - take] + other[len(other) - take :]
        borrowed -= take
        index -= 1
    return at


class Recipe:
    """What the session's mix is made of, as digests of any span of samples."""

    def __init__(self, plan: Plan, clips: ClipStore, rate: int, beds: BedMixer,
                 samples: int) -> None:
        context, items, shaping = beds.recipe()
        for event in sorted(plan.events, key=lambda e: e.start_ms):
            length, digest = identity_of(event, clips)
            start = to_sample(event.start_ms, rate)
            items.append((start, start + length, f"e{start},{digest},{float(event.volume)!r}"))
        self.sounding = [(lo, hi) for lo, hi, _ in items]
        items += shaping
        versions = (MIX, __version__, f"numpy {np.__version__}")  # numpy: the levels' FFTs
        self.context = hashlib.sha256(repr((versions, rate, samples, context)).encode()).hexdigest()
        self.starts = np.array([lo for lo, _, _ in items], dtype=np.int64)
        self.ends = np.array([hi for _, hi, _ in items], dtype=np.int64)
        self.what = [what for _, _, what in items]

    def digest(self, lo: int, hi: int) -> str:
        """Of what makes samples [lo, hi) (before the gains)."""
        near = np.flatnonzero((self.starts < hi) & (self.ends > lo))
        text = "\n".join([self.context, f"{lo},{hi}", *(self.what[i] for i in near)])
        return hashlib.sha256(text.encode()).hexdigest()

    def empty(self, lo: int, hi: int) -> bool:
        """Nothing sounds or shapes the sound in [lo, hi)."""
        return not bool(np.any((self.starts < hi) & (self.ends > lo)))


class _Shared:
    """An iterator several threads take items from in turn, each item once."""

    def __init__(self, items: Iterable[tuple[int, int, str]]) -> None:
        self._items, self._lock = iter(items), threading.Lock()

    def __iter__(self) -> _Shared:
        return self

    def __next__(self) -> tuple[int, int, str]:
        with self._lock:
            return next(self._items)


class PieceFrames:
    """The MP3 frames of a session with beds, for ``mp3.write_mp3`` in place of PCM."""

    def __init__(self, plan: Plan, clips: ClipStore, rate: int, beds: Callable[[], BedMixer],
                 levels_cache: Entries | None = None, progress: Progress | None = None) -> None:
        self.plan, self.clips, self.rate, self.beds = plan, clips, rate, beds
        self.levels_cache, self.progress = levels_cache, progress
        self.samples = to_sample(plan.duration_ms, rate)
        self.total = 0  # frames, known once written
        self.bed_gain = 1.0

    def levels(self, recipe: Recipe, mixer: BedMixer,
               then: Sequence[tuple[int, int]] = ()) -> tuple[float, float]:
        """(the events' gain, the beds' gain), from the levels of stretches of
        ``MEASURE_HOPS`` hops, each measured once and kept under its recipe's digest.
        Without music (which is decoded in order) the stretches to measure are shared
        out in runs among the build's cores, each run measured by its own mixdown and
        taking the next stretch as it is done with its last (stretches differ in cost, and
        a run given its share up front would leave a core idle at the end). The
        music under the sample spans *then* to be mixed next, where they meet a stretch
        to measure, is kept as it is decoded: an edit decodes the music once."""
        hop = round(self.rate * HOP_S)
        span = MEASURE_HOPS * hop
        stretches: dict[int, Measured] = {}
        todo: list[tuple[int, int, str]] = []
        for lo in range(0, self.samples, span):
            hi = min(self.samples, lo + span)
            if recipe.empty(lo, hi):
                stretches[lo] = Measured.silence((hi - lo) // hop)
                continue
            key = hashlib.sha256(f"{LEVELS}\n{recipe.digest(lo, hi)}".encode()).hexdigest()
            measured = self._kept(key)
            if measured is None:
                todo.append((lo, hi, key))
            else:
                stretches[lo] = measured
        music = any(bed.type == "music" for bed in self.plan.beds)
        if music:
            mixer.keep([(a, b) for a, b in then
                        if any(a < hi and lo < b for lo, hi, _ in todo)])
        runs = 1 if music else max(1, min(cores_per_build(), len(todo)))
        shared = _Shared(todo)  # each run takes the next stretch: none waits on another's
        parts = [shared] * runs if todo else []
        stop = threading.Event()  # an interrupt: the other runs end at their next stretch

        def run_of(run: Iterable[tuple[int, int, str]]) -> dict[int, Measured]:
            return self._measured(run, mixer, stop)

        if len(parts) > 1:
            with ThreadPoolExecutor(len(parts)) as pool:
                try:
                    for measured_run in pool.map(run_of, parts):
                        stretches.update(measured_run)
                except BaseException:
                    stop.set()
                    raise
        elif parts:
            stretches.update(run_of(parts[0]))
        return bed_levels([stretches[lo] for lo in sorted(stretches)])

    def _measured(self, run: Iterable[tuple[int, int, str]], mixer: BedMixer,
                  stop: threading.Event) -> dict[int, Measured]:
        """The stretches of *run* (in order), measured by one mixdown and kept; a stretch's
        levels are its own, whichever run measures it."""
        found: dict[int, Measured] = {}
        measurer = Mixdown(self.plan, self.clips, self.rate, 1.0, mixer)
        for lo, hi, key in run:
            if stop.is_set():
                break
            found[lo] = measurer.measure(lo, hi)
            self._keep(key, found[lo])
            release_memory()
        return found

    def _kept(self, key: str) -> Measured | None:
        """A stretch's levels as ``_keep`` kept them: the counts of its hops and its two
        peaks (``_LEVELS_HEAD``), then each list of hop energies as little-endian doubles
        (a warm hour-long build reads 70,000 of them: from JSON, 19 ms; so, 5 ms)."""
        if self.levels_cache is None or (kept := self.levels_cache.get(key)) is None:
            return None
        with contextlib.suppress(ValueError, struct.error):
            speech, beds, speech_peak, beds_peak = _LEVELS_HEAD.unpack_from(kept)
            if len(kept) == _LEVELS_HEAD.size + 8 * (speech + beds):
                hops = np.frombuffer(kept, "<f8", offset=_LEVELS_HEAD.size).astype(np.float64)
                return Measured(hops[:speech], hops[speech:], speech_peak, beds_peak)
        return None

    def _keep(self, key: str, measured: Measured) -> None:
        if self.levels_cache is not None:
            entry = (_LEVELS_HEAD.pack(len(measured.speech), len(measured.beds),
                                       measured.speech_peak, measured.beds_peak)
                     + measured.speech.astype("<f8").tobytes()
                     + measured.beds.astype("<f8").tobytes())
            with contextlib.suppress(OSError):  # a cache that cannot grow costs time only
                self.levels_cache.put(key, entry)

    def _levelled(self, mixer: BedMixer, recipe: Recipe,
                  then: Sequence[tuple[int, int]] = ()) -> float:
        """The events' gain; the beds scaled to theirs."""
        gain, self.bed_gain = self.levels(recipe, mixer, then)
        mixer.scale(self.bed_gain)
        return gain

    def pcm(self) -> Iterator[bytes]:
        """The session as s16le chunks at its final levels: the samples its frames encode."""
        mixer = self.beds()
        try:
            gain = self._levelled(mixer, Recipe(self.plan, self.clips, self.rate, mixer,
                                                self.samples))
            mixdown = Mixdown(self.plan, self.clips, self.rate, gain, mixer)
            for begin in range(0, self.samples, mixdown.step):
                yield mixdown.pcm(begin, min(self.samples, begin + mixdown.step))
        finally:
            mixer.close()

    def frames(self, encoding: Encoding) -> Iterator[bytes | memoryview]:
        """The session's frames in order (``total`` is set once they are all given)."""
        fmt = encoding.fmt
        mixer = self.beds()
        try:
            recipe = Recipe(self.plan, self.clips, self.rate, mixer, self.samples)
            layout = [pieces(a, b, fmt) for a, b in islands(recipe.sounding, self.samples, fmt)]
            spf = fmt.samples
            gain = self._levelled(mixer, recipe, [(piece.start * spf, piece.stop * spf)
                                                  for island in layout for piece in island])
            mixdown = Mixdown(self.plan, self.clips, self.rate, gain, mixer,
                              keep=reach(layout) * fmt.samples)
            gains = (repr(gain), repr(self.bed_gain))
            yield from self._spliced(encoding, layout, recipe, mixdown, gains)
        finally:
            mixer.close()

    def _spliced(self, encoding: Encoding, layout: list[list[Piece]], recipe: Recipe,
                 mixdown: Mixdown, gains: tuple[str, str]) -> Iterator[bytes | memoryview]:
        fmt, spf = encoding.fmt, encoding.fmt.samples
        total = fmt.frames_for(self.samples)
        written = 0
        queue: deque[tuple[Piece, bool, Future[bytes] | Frames]] = deque()
        held: tuple[Piece, Frames, int] | None = None  # a piece waiting for the next

        def emit(piece: Piece, last: bool,
                 made: Future[bytes] | Frames) -> Iterator[bytes | memoryview]:
            nonlocal written, held
            frames = fmt.cut(made.result(), piece.start) if isinstance(made, Future) else made
            if held is None:
                yield from fmt.silent(written, piece.first - written)
                held = (piece, frames, piece.first)
            else:
                left, kept, since = held
                at = join(fmt, kept, left, frames, piece)
                yield kept.joined(since - left.start, at - left.start)
                held = (piece, frames, at)
            if last:
                piece, frames, since = held
                yield frames.joined(since - piece.start, piece.end - piece.start)
                written, held = piece.end, None
            if self.progress is not None:
                self.progress(min(self.samples, piece.end * spf), self.samples)
            release_memory()

        with ThreadPoolExecutor(encoding.threads) as pool:
            try:
                for island in layout:
                    for index, piece in enumerate(island):
                        key = self._key(encoding, piece, recipe, gains)
                        made: Future[bytes] | Frames | None = \
                            encoding.lookup_frames(key, piece.start, piece.count)
                        if made is None:
                            pcm = mixdown.pcm(piece.start * spf, piece.stop * spf)
                            made = pool.submit(encoding.encode, key, pcm, piece.start, piece.count)
                        queue.append((piece, index == len(island) - 1, made))
                        while queue and (len(queue) > encoding.threads + 1 or
                                         not isinstance(queue[0][2], Future) or queue[0][2].done()):
                            yield from emit(*queue.popleft())
                while queue:
                    yield from emit(*queue.popleft())
                yield from fmt.silent(written, total - written)
                self.total = total
                if self.progress is not None and written * spf < self.samples:
                    self.progress(self.samples, self.samples)  # ends on silence: say so
            finally:
                for _, _, item in queue:
                    if isinstance(item, Future):
                        item.cancel()

    def _key(self, encoding: Encoding, piece: Piece, recipe: Recipe,
             gains: tuple[str, str]) -> str:
        fmt = encoding.fmt
        fields = (PIECE, encoder_version(), QUALITY, fmt.sample_rate, fmt.kbps,
                  piece.start % fmt.period, piece.lead, piece.tail, piece.count, gains,
                  recipe.digest(piece.start * fmt.samples, piece.stop * fmt.samples))
        return hashlib.sha256(repr(fields).encode()).hexdigest()
