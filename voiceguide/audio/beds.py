"""Sound beds under the session: the music, ducked from the plan, and cadence ticks.

Music files are decoded by ffmpeg as a stream (format from the file's content,
the bytes piped in, no protocol but the pipe) at the session's rate, a block at
a time, so an hour of music never sits in memory. Each file is levelled on its
own to the bed's level below the speech: its loudness is measured once and kept
in the cache folder under the file's content hash.

The duck envelope comes from the plan, not from listening: from 100 ms before
every speech or sound event until 300 ms after it the music is ``duck`` dB
lower, with linear ramps of ``RAMP_MS`` outside those margins, computed per
sample and so the same on every build. Cadence ticks are placed at exact sample
positions (stage start + k × 60/C s) and are never ducked.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import itertools
import json
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from voiceguide.audio import decode
from voiceguide.audio.decode import ffmpeg_path
from voiceguide.audio.loudness import SILENCE, LoudnessMeter
from voiceguide.audio.sounds import sniff_format
from voiceguide.errors import AudioError
from voiceguide.tools import first_line

if TYPE_CHECKING:
    from voiceguide.audio.clips import ClipStore
    from voiceguide.plan import Bed, Plan
    from voiceguide.script import MusicFile, Script
    from voiceguide.store import Entries

DUCK_BEFORE_MS = 100
DUCK_AFTER_MS = 300
RAMP_MS = 80  # at least 50 ms: no clicks
FADE_IN_MS = 1000
FADE_OUT_MS = 2000
BLOCK_SAMPLES = 1 << 16
MEASURE = "voiceguide-music-level/2"  # change it when the measurement would change
HOLD_S = 60  # files up to a minute are decoded once per build and looped from memory
KEEP_S = 90  # of music an edited build keeps in memory, so that it decodes the music once
TICKS = "voiceguide-tick-gain/1"  # change it when a tick track would measure differently
MEASURE_S = 600  # a music file's level is that of its first ten minutes
TICK_TRACK_S = 30  # how much of a tick track is measured to level the ticks

T = TypeVar("T")


def decode_stream(path: Path, label: str, rate: int) -> Iterator[np.ndarray]:
    """The file's audio as float32 mono blocks at *rate*; AudioError on damage (any point)."""
    fmt = sniff_format(path)
    if fmt is None:
        raise AudioError(f"{label} is not a WAV, FLAC, OGG or MP3 file")
    output = ["-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "f32le", "pipe:1"]
    done = 0
    try:
        for block in decode.blocks(path, fmt, output, size=4 * BLOCK_SAMPLES, strict=True):
            done += len(block) // 4
            yield np.frombuffer(block[: len(block) // 4 * 4], dtype="<f4")
    except decode.DecodeFailure as failure:
        if failure.stalled_s is not None:
            raise AudioError(f"ffmpeg gave nothing for {failure.stalled_s:g} s decoding {label} "
                             f"after {done / rate:.1f} s; try again") from None
        raise AudioError(f"{label} cannot be decoded after {done / rate:.1f} s: "
                         f"{failure.said}") from None
    if done == 0:
        raise AudioError(f"{label} contains no audio")


# ---------------------------------------------------------------------------
# Levels


class MusicLevels:
    """Each music file's integrated loudness at a rate, measured once and kept on disk."""

    def __init__(self, kept: Entries, rate: int) -> None:
        self.kept = kept  # the store's music entries
        self.rate = rate

    def loudness(self, music: MusicFile) -> float:
        return self.measure(music)[0]

    def measure(self, music: MusicFile) -> tuple[float, float | None]:
        """(its integrated loudness, its length in seconds when it is short enough to
        have been decoded whole, else None)."""
        def measured() -> dict[str, object]:
            meter, heard, whole = LoudnessMeter(self.rate), 0, True
            for block in decode_stream(music.path, music.name, self.rate):
                meter.feed(block)
                heard += len(block)
                if heard >= MEASURE_S * self.rate:
                    whole = False
                    break  # enough to know its level; an hour-long file costs no more
            if (lufs := meter.integrated()) == SILENCE:
                raise AudioError(f"{music.name} is silent")
            return {"lufs": lufs, "seconds": heard / self.rate if whole else None}

        def read(entry: Any) -> tuple[float, float | None]:
            seconds = entry["seconds"]
            return float(entry["lufs"]), None if seconds is None else float(seconds)

        digest = content_digest(music.path, self.kept)
        key = hashlib.sha256(f"{MEASURE} {self.rate} {digest}".encode())
        return self._remembered(key.hexdigest(), measured, read)

    def playing(self, files: Sequence[MusicFile], need_s: float,
                problems: list[tuple[MusicFile, AudioError]] | None = None,
                ) -> list[tuple[MusicFile, float, float | None]]:
        """The files of a playlist that beds of *need_s* seconds in all reach, each with
        its (loudness, seconds): in order, up to the first that plays past the end (the
        whole list, when it is shorter, for it loops). The rest are never decoded, so a
        long list costs what is played of it. *problems*: where files that cannot be
        played are told (they count as nothing played), instead of raising."""
        reached: list[tuple[MusicFile, float, float | None]] = []
        covered = 0.0
        for music in files:
            if covered > need_s:
                break
            try:
                lufs, seconds = self.measure(music)
            except AudioError as exc:
                if problems is None:
                    raise
                problems.append((music, exc))
                continue
            reached.append((music, lufs, seconds))
            covered += MEASURE_S if seconds is None else seconds
        return reached

    def tick_gain(self, tick: np.ndarray, spm: int, target: float,
                  measure: Callable[[], float]) -> float:
        """The gain that makes a track of *tick* at *spm* read *target* LUFS: *measure*d
        once (a track of ticks, filtered and gated: most of a warm build's time with
        cadence) and kept on disk beside the music's levels, the very same float."""
        fields = [TICKS, self.rate, spm, repr(target), hashlib.sha256(tick.tobytes()).hexdigest()]
        key = hashlib.sha256(json.dumps(fields).encode()).hexdigest()
        return self._remembered(key, lambda: {"gain": measure()},
                                lambda entry: float(entry["gain"]))

    def _remembered(self, key: str, make: Callable[[], dict[str, object]],
                    read: Callable[[Any], T]) -> T:
        """*read* of the entry kept under *key*, or of *make*'s, then kept: an entry that
        cannot be read (damaged, or a field missing) is made again. JSON keeps a float
        exactly, so a kept figure is the very one measured."""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            if (stored := self.kept.get(key)) is not None:
                return read(json.loads(stored))
        entry = make()
        with contextlib.suppress(OSError):  # an unwritable store measures again next time
            self.kept.put(key, json.dumps(entry).encode())
        return read(entry)


_digests: dict[tuple[int, int, int, int, int], str] = {}


def content_digest(path: Path, memo: Entries | None = None) -> str:
    """sha256 of the file's bytes, read once per build (a file changed since is read again):
    kept by the file's identity, whatever path names it; in *memo* (the store's music
    entries) from one build to the next (``store.file_digest``): an hour of music is
    57 MB to hash, 0.08 s of every build with it."""
    stat = path.stat()
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    if key not in _digests:
        from voiceguide.store import file_digest

        kept = file_digest(path, memo)
        if kept is None:  # unreadable: the error says why
            with open(path, "rb") as f:
                kept = hashlib.file_digest(f, "sha256").hexdigest()
        _digests[key] = kept
    return _digests[key]


@functools.cache
def decoder_version() -> str:
    """ffmpeg's version line: the music's samples are as ffmpeg decodes them."""
    return first_line([ffmpeg_path(), "-version"])


def gain_to(target_lufs: float, measured_lufs: float) -> float:
    return float(10 ** ((target_lufs - measured_lufs) / 20))


# ---------------------------------------------------------------------------
# The mix


def duck_spans(plan: Plan, rate: int) -> list[tuple[int, int]]:
    """Sample spans (merged) where the music is fully ducked."""
    spans: list[tuple[int, int]] = []
    for event in sorted(plan.events, key=lambda e: e.start_ms):
        lo = _sample(event.start_ms - DUCK_BEFORE_MS, rate)
        hi = _sample(event.end_ms + DUCK_AFTER_MS, rate)
        if spans and lo <= spans[-1][1] + 2 * _sample(RAMP_MS, rate):
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))  # no swell between close events
        else:
            spans.append((lo, hi))
    return spans


def _sample(ms: int, rate: int) -> int:
    return round(ms * rate / 1000)


class MusicBed:
    """The playlist as one endless stream at the session's rate, each file at its gain,
    read at any place in it. Ahead of the decoder it decodes on (passing over what lies
    between); behind it, from memory where that place was kept (``keep``), else from
    the start again. Files known to be short (a loop) are decoded once and played from memory."""

    def __init__(self, files: Sequence[tuple[MusicFile, float]], rate: int,
                 short: Sequence[bool] = ()) -> None:
        self.files = files
        self.rate = rate
        self.short = short or [False] * len(files)
        self._held: dict[int, list[np.ndarray]] = {}
        self._wanted: list[tuple[int, int]] = []  # places to keep once decoded
        self._kept: list[np.ndarray] = []  # what was kept, in order, with
        self._kept_at: list[int] = []  # the place of each one's first sample
        self._restart()

    def _restart(self) -> None:
        self._stream = self._forever()
        self._buffer = np.zeros(0, dtype=np.float32)
        self._at = 0  # the place of the buffer's first sample
        self._end = 0  # the place after the last sample decoded

    def _forever(self) -> Generator[np.ndarray, None, None]:
        while True:
            for index, (music, gain) in enumerate(self.files):
                if index in self._held:
                    yield from self._held[index]
                    continue
                blocks: list[np.ndarray] = []
                for block in decode_stream(music.path, music.name, self.rate):
                    scaled = block * np.float32(gain)
                    if self.short[index]:
                        blocks.append(scaled)
                    yield scaled
                if self.short[index]:
                    self._held[index] = blocks

    def keep(self, places: Sequence[tuple[int, int]]) -> None:
        """Keep the music at these places [lo, hi) in memory once decoded, to be read
        again without decoding, when they come to at most ``KEEP_S`` (else keep none)."""
        if sum(hi - lo for lo, hi in places) <= KEEP_S * self.rate:
            self._wanted = sorted(places)

    def read(self, at: int, count: int) -> np.ndarray:
        """*count* samples of the playlist from place *at*."""
        parts = [np.zeros(0, dtype=np.float32)]
        while count > 0:
            part = self._from_kept(at, count)
            if part is None:
                if at < self._at:
                    self.close()
                    self._restart()  # decoded already and not kept: from the start again
                part = self._decoded(at, count)
            parts.append(part)
            at, count = at + len(part), count - len(part)
        return np.concatenate(parts) if len(parts) > 2 else parts[-1]

    def _from_kept(self, at: int, count: int) -> np.ndarray | None:
        index = bisect.bisect_right(self._kept_at, at) - 1
        if index < 0 or at >= self._kept_at[index] + len(self._kept[index]):
            return None
        offset = at - self._kept_at[index]
        return self._kept[index][offset : offset + count]

    def _decoded(self, at: int, count: int) -> np.ndarray:
        """From the decoder, which is at or before *at*."""
        while self._end <= at:  # pass over what lies before
            self._buffer = self._pull()
            self._at = self._end - len(self._buffer)
        parts = [self._buffer[at - self._at :]]
        have = len(parts[0])
        while have < count:
            parts.append(self._pull())
            have += len(parts[-1])
        joined = np.concatenate(parts) if len(parts) > 1 else parts[0]
        self._buffer, self._at = joined[count:], at + count
        return joined[:count]

    def _pull(self) -> np.ndarray:
        """The decoder's next block, kept where it meets a wanted place not kept yet."""
        block = next(self._stream)
        place, self._end = self._end, self._end + len(block)
        kept_to = self._kept_at[-1] + len(self._kept[-1]) if self._kept else 0
        for lo, hi in self._wanted:
            lo, hi = max(lo, place, kept_to), min(hi, self._end)
            if lo < hi:
                self._kept.append(block[lo - place : hi - place].copy())
                self._kept_at.append(lo)
                kept_to = hi
        return block

    def close(self) -> None:
        self._stream.close()  # ends the ffmpeg now decoding


class BedMixer:
    """The beds of a plan, chunk by chunk, at their levels relative to the speech target."""

    def __init__(self, plan: Plan, script: Script, clips: ClipStore, rate: int,
                 speech_lufs: float, levels: MusicLevels | None) -> None:
        self.rate = rate
        self.music_beds = [b for b in plan.beds if b.type == "music"]
        self.ticks: list[tuple[int, np.ndarray]] = []
        self.music: MusicBed | None = None
        self.placed: list[tuple[int, int, int]] = []  # each music bed: (lo, hi, playlist place)
        if self.music_beds and script.music is not None and levels is not None:
            target = speech_lufs + script.music.level
            played = 0
            for bed in self.music_beds:
                lo, hi = _sample(bed.start_ms, rate), _sample(bed.end_ms, rate)
                self.placed.append((lo, hi, played))
                played += max(0, hi - lo)
            reached = levels.playing(script.music.files, played / rate)
            files = [(f, gain_to(target, lufs)) for f, lufs, _ in reached]
            short = [seconds is not None and seconds <= HOLD_S for _, _, seconds in reached]
            self.music = MusicBed(files, rate, short)
            self.music_files = [(content_digest(f.path), gain) for f, gain in files]
            self.duck = 10 ** (-script.music.duck / 20)
            self.spans = duck_spans(plan, rate)
            self.span_ends = [b for _, b in self.spans]
        cadence = [b for b in plan.beds if b.type == "cadence"]
        if cadence:
            tick_target = speech_lufs + script.cadence_level
            scaled: dict[int, np.ndarray] = {}  # each cadence's tick, at most a beat long
            for spm in sorted({b.spm for b in cadence if b.spm}):
                tick = clips.cadence_clip(script.cadence_sound, 60_000 // spm)

                def measure(spm: int = spm, tick: np.ndarray = tick) -> float:
                    return self._tick_gain(tick, spm, tick_target)
                gain = measure() if levels is None else \
                    levels.tick_gain(tick, spm, tick_target, measure)
                scaled[spm] = (tick * np.float32(gain)).astype(np.float32)
            for bed in cadence:
                assert bed.spm is not None
                self.ticks += [(at, scaled[bed.spm]) for at in tick_samples(bed, rate)]
        self.ticks.sort(key=lambda t: t[0])
        self.tick_starts = [at for at, _ in self.ticks]
        self.longest_tick = max((len(tick) for _, tick in self.ticks), default=0)
        self.gain = 1.0

    def scale(self, gain: float) -> None:
        """Play every bed *gain* times as loud (the renderer lowers them if it must)."""
        self.gain = gain

    def _tick_gain(self, tick: np.ndarray, spm: int, target: float) -> float:
        """The gain that makes a track of these ticks at *spm* read *target* LUFS."""
        track = np.zeros(TICK_TRACK_S * self.rate)
        for at in range(0, len(track), round(60 * self.rate / spm)):
            part = tick[: len(track) - at]
            track[at : at + len(part)] += part
        meter = LoudnessMeter(self.rate)
        meter.feed(track)
        measured = meter.integrated()
        return 1.0 if measured == SILENCE else gain_to(target, measured)

    def chunk(self, begin: int, end: int) -> np.ndarray | None:
        """The beds in samples [begin, end), or None where there are none. Spans may be
        asked for in any order (the music is read at its place in the playlist)."""
        out: np.ndarray | None = None
        if self.music is not None:
            for bed, (start, stop, played) in zip(self.music_beds, self.placed, strict=True):
                lo, hi = max(begin, start), min(end, stop)
                if lo >= hi:
                    continue
                audio = self.music.read(played + lo - start, hi - lo).astype(np.float64)
                for envelope in (self._fades(bed, lo, hi), self._ducking(lo, hi)):
                    if envelope is not None:
                        audio *= envelope
                out = np.zeros(end - begin) if out is None else out
                out[lo - begin : hi - begin] += audio
        first = bisect.bisect_right(self.tick_starts, begin - self.longest_tick)
        for at, tick in itertools.islice(self.ticks, first, None):
            if at >= end:
                break
            lo, hi = max(begin, at), min(end, at + len(tick))
            if lo < hi:
                out = np.zeros(end - begin) if out is None else out
                out[lo - begin : hi - begin] += tick[lo - at : hi - at]
        return out if out is None or self.gain == 1.0 else out * self.gain

    def keep(self, spans: Sequence[tuple[int, int]]) -> None:
        """The music under these sample spans is to be read again: keep it once decoded
        (within ``KEEP_S``), rather than decoding the playlist again to reach it."""
        if self.music is not None:
            self.music.keep([(played + max(a, lo) - lo, played + min(b, hi) - lo)
                             for a, b in spans for lo, hi, played in self.placed
                             if max(a, lo) < min(b, hi)])

    def recipe(self) -> tuple[list[object], list[tuple[int, int, str]], list[tuple[int, int, str]]]:
        """What the beds are made of, every fact ``chunk`` reads, so that equal recipes give
        equal samples (see ``pieces.py``): what holds everywhere, then [(first sample, end,
        what)] for what sounds (music, ticks) and for what only shapes it (duck spans)."""
        context: list[object] = ["beds/1", self.rate, DUCK_BEFORE_MS, DUCK_AFTER_MS, RAMP_MS,
                                 FADE_IN_MS, FADE_OUT_MS]
        items: list[tuple[int, int, str]] = []
        shaping: list[tuple[int, int, str]] = []
        if self.music is not None:
            context += [decoder_version(), repr(self.duck),
                        [(digest, repr(gain)) for digest, gain in self.music_files]]
            items += [(lo, hi, f"m{lo},{hi},{played}") for lo, hi, played in self.placed]
            ramp = _sample(RAMP_MS, self.rate)
            shaping = [(a - ramp, b + ramp, f"d{a},{b}") for a, b in self.spans]
        digests: dict[int, str] = {}
        for at, tick in self.ticks:
            if id(tick) not in digests:
                digests[id(tick)] = hashlib.sha256(tick.tobytes()).hexdigest()
            items.append((at, at + len(tick), f"t{at},{digests[id(tick)]}"))
        return context, items, shaping

    def _fades(self, bed: Bed, lo: int, hi: int) -> np.ndarray | None:
        """The fade in and out over [lo, hi); None where neither reaches (all ones)."""
        start, stop = _sample(bed.start_ms, self.rate), _sample(bed.end_ms, self.rate)
        if lo >= start + _sample(FADE_IN_MS, self.rate) and \
                hi <= stop - _sample(FADE_OUT_MS, self.rate):
            return None
        n = np.arange(lo, hi, dtype=np.float64)
        fade_in = np.clip((n - start) / _sample(FADE_IN_MS, self.rate), 0.0, 1.0)
        fade_out = np.clip((stop - n) / _sample(FADE_OUT_MS, self.rate), 0.0, 1.0)
        return fade_in * fade_out

    def _ducking(self, lo: int, hi: int) -> np.ndarray | None:
        """1 where the music plays at its level, ``duck`` inside the spans, ramps between;
        None where no span reaches [lo, hi) (all ones)."""
        ramp = _sample(RAMP_MS, self.rate)
        # spans are sorted and apart, so their ends rise too: skip those that end before lo
        first = bisect.bisect_left(self.span_ends, lo - ramp)
        near = list(itertools.takewhile(lambda span: span[0] - ramp <= hi,
                                        itertools.islice(self.spans, first, None)))
        if not near:
            return None
        n = np.arange(lo, hi, dtype=np.float64)
        depth = np.zeros(hi - lo)
        for a, b in near:
            inside = np.clip((n - (a - ramp)) / ramp, 0, 1) * np.clip(((b + ramp) - n) / ramp, 0, 1)
            np.maximum(depth, inside, out=depth)
        return 1.0 - (1.0 - self.duck) * depth

    def close(self) -> None:
        if self.music is not None:
            self.music.close()


def tick_samples(bed: Bed, rate: int) -> list[int]:
    """Where each tick starts: the stage start + k × 60/C s, on exact samples, before the end
    (rounded half to even, in integers: the numerators over 1000 × C)."""
    assert bed.spm is not None
    whole = 1000 * bed.spm
    return [q + (2 * r > whole or (2 * r == whole and q & 1))
            for q, r in (divmod(at, whole) for at in range(bed.start_ms * rate * bed.spm,
                                                            bed.end_ms * rate * bed.spm,
                                                            60_000 * rate))]
