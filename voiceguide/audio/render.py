"""Plan → 16-bit PCM, streamed in chunks and levelled to the loudness target.

Events are placed at exact sample positions (``round(ms * rate / 1000)``), so
timing never drifts however many cues a session has. Rendering runs twice:
the first pass measures the mix (only where something sounds), the second
applies the one gain that puts the file on target and yields the bytes.
Nothing but the current chunk and the clips playing in it is in memory.
Sessions with beds measure the events and the beds apart, stretch by stretch
(``Mixdown.measure``, ``bed_levels``), and are mixed piece by piece (``pieces.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from voiceguide.audio.loudness import (
    SILENCE,
    LoudnessMeter,
    TruePeakMeter,
    integrated_from_hops,
    to_db,
)

if TYPE_CHECKING:
    from voiceguide.audio.beds import BedMixer
    from voiceguide.audio.clips import ClipStore
    from voiceguide.plan import Event, Plan
    from voiceguide.speech.request import SpeechRequest

TARGET_LUFS = -16.0  # as heard on two earbuds (dual mono)
DUAL_MONO_DB = 10 * np.log10(2.0)  # a mono file counted in both ears reads this much louder
# LAME's quantiser rounds towards zero, so the decoded MP3 (64-192 kbit/s) reads
# 0.25-0.45 LU quieter than the PCM it was given; aim that much higher.
MP3_LOSS_LU = 0.3
TARGET_MONO_LUFS = TARGET_LUFS - DUAL_MONO_DB + MP3_LOSS_LU
PEAK_CEILING_DBTP = -1.5  # -1 is the promise; MP3 encoding may add a few tenths
WHOLE_TOLERANCE_LU = 0.6  # -16 ± 1 is the promise; the rest is margin for the encoder
BED_STEP_DB = 0.5
GAIN_STEP_DB = 0.5
BED_STEPS = 61  # beds are lowered by at most 30 dB
CHUNK_S = 2


@dataclass(frozen=True)
class _Placed:
    start: int  # sample index in the session
    audio: np.ndarray  # float, volume applied

    @property
    def end(self) -> int:
        return self.start + len(self.audio)


def to_sample(ms: int, rate: int) -> int:
    return round(ms * rate / 1000)


def render(plan: Plan, clips: ClipStore, sample_rate: int) -> Iterator[bytes]:
    """Yield the session (without beds) as s16le mono chunks; their total is the plan's
    duration exactly. Sessions with beds are made piece by piece: see ``pieces.py``."""
    mixdown = Mixdown(plan, clips, sample_rate, session_gain(plan, clips, sample_rate))
    step = CHUNK_S * sample_rate
    for begin in range(0, mixdown.total, step):
        yield mixdown.pcm(begin, min(mixdown.total, begin + step))


class Mixdown:
    """The session's PCM at its final levels (the second pass), for spans asked for in
    order; a span may reach back over the last *keep* samples given. What lies between
    spans is passed over without mixing."""

    def __init__(self, plan: Plan, clips: ClipStore, sample_rate: int, gain: float,
                 beds: BedMixer | None = None, keep: int = 0) -> None:
        self.events = _Events(plan, clips, sample_rate)
        self.gain, self.beds, self.keep = gain, beds, keep
        self.total = to_sample(plan.duration_ms, sample_rate)
        self.step = CHUNK_S * sample_rate
        self.pos = 0  # the next sample to mix
        self.recent = b""  # the last samples given, up to *keep* of them, ending at pos
        self._silence: dict[int, bytes] = {}

    def pcm(self, begin: int, end: int) -> bytes:
        """Samples [begin, end) as s16le; zeros past the session's end."""
        if begin < self.pos - len(self.recent) // 2:
            raise ValueError(f"sample {begin} is behind the mixdown ({self.pos})")
        parts = []
        if begin < self.pos:
            offset = len(self.recent) - 2 * (self.pos - begin)
            parts.append(self.recent[offset : offset + 2 * (min(end, self.pos) - begin)])
        elif begin > self.pos:
            self._pass(begin)
        while self.pos < end:
            stop = min(end, self.pos + self.step)
            if self.pos >= self.total:
                chunk = self._zeros(stop - self.pos)
            else:
                chunk = self._chunk(self.pos, min(stop, self.total))
            parts.append(chunk)
            self.pos += len(chunk) // 2
            if self.keep:
                self.recent = (self.recent + chunk)[-2 * self.keep :]
        return b"".join(parts)

    def measure(self, begin: int, end: int) -> Measured:
        """The levels of the events and of the beds in samples [begin, end), each on its
        own and before any gain (a mixdown made with gain 1 and the beds at their level)."""
        if begin < self.pos:
            raise ValueError(f"sample {begin} is behind the mixdown ({self.pos})")
        self._pass(begin)
        rate = self.events.rate
        speech, speech_peak = LoudnessMeter(rate), TruePeakMeter()
        bed, bed_peak = LoudnessMeter(rate), TruePeakMeter()
        for lo in range(begin, end, self.step):
            hi = min(end, lo + self.step)
            _measure(speech, speech_peak, self.events.mix(lo, hi), hi - lo)
            _measure(bed, bed_peak, self.beds.chunk(lo, hi) if self.beds else None, hi - lo)
        self.pos = end
        return Measured(speech.hop_energies(), bed.hop_energies(), speech_peak.finish(),
                        bed_peak.finish())

    def _chunk(self, begin: int, end: int) -> bytes:
        mix = self.events.mix(begin, end)
        bed = self.beds.chunk(begin, end) if self.beds is not None else None
        if mix is None and bed is None:
            return self._zeros(end - begin)
        if bed is None:
            assert mix is not None
            return to_pcm16(mix * self.gain)
        return to_pcm16(bed if mix is None else np.asarray(mix * self.gain + bed))

    def _zeros(self, count: int) -> bytes:
        return self._silence.setdefault(count, bytes(2 * count))

    def _pass(self, until: int) -> None:
        """Move to sample *until* without mixing."""
        if self.pos < until:  # only the clips still sounding at *until* are read
            self.events.mix(self.pos, until, skip=True)
            self.pos = until
        self.recent = b""

    def close(self) -> None:
        if self.beds is not None:
            self.beds.close()


def session_gain(plan: Plan, clips: ClipStore, sample_rate: int) -> float:
    """The linear gain that lands the mix on the target, its true peak under the ceiling."""
    measured = Mixdown(plan, clips, sample_rate, 1.0).measure(0, to_sample(plan.duration_ms,
                                                                         sample_rate))
    return gain_for(integrated_from_hops(measured.speech), to_db(measured.speech_peak))


@dataclass(frozen=True)
class Measured:
    """A stretch's levels: 100 ms hop energies and true peaks, of the events (before the
    session's gain) and of the beds (at their level), each on its own."""

    speech: np.ndarray
    beds: np.ndarray
    speech_peak: float
    beds_peak: float

    @staticmethod
    def silence(hops: int) -> Measured:
        return Measured(np.zeros(hops), np.zeros(hops), 0.0, 0.0)


def bed_levels(stretches: list[Measured]) -> tuple[float, float]:
    """(the events' gain, the beds' gain) for a session measured stretch by stretch: the
    speech lands on the target as without beds; the beds keep their level below it unless
    that would take the whole file off its target (bed-only stretches count in the gated
    loudness) or over the peak ceiling, in which case they are lowered, in steps of half
    a decibel, just as far as needed."""
    hops_speech = np.concatenate([m.speech for m in stretches] or [np.zeros(0)])
    hops_bed = np.concatenate([m.beds for m in stretches] or [np.zeros(0)])
    speech_peak = max((m.speech_peak for m in stretches), default=0.0)
    bed_peak = max((m.beds_peak for m in stretches), default=0.0)
    gain = gain_for(integrated_from_hops(hops_speech), to_db(speech_peak))
    ceiling = 10 ** (PEAK_CEILING_DBTP / 20)
    for step in range(BED_STEPS):
        bed_gain = 10 ** (-step * BED_STEP_DB / 20)
        whole = integrated_from_hops(gain**2 * hops_speech + bed_gain**2 * hops_bed)
        peak = gain * speech_peak + bed_gain * bed_peak
        if abs(whole - TARGET_MONO_LUFS) <= WHOLE_TOLERANCE_LU and peak <= ceiling:
            return gain, bed_gain
    return gain, 10 ** (-(BED_STEPS - 1) * BED_STEP_DB / 20)


def _measure(loudness: LoudnessMeter, peak: TruePeakMeter, mix: np.ndarray | None,
             count: int) -> None:
    """Feed a chunk to the meters, skipping its digital silence cheaply."""
    sounding = np.flatnonzero(mix) if mix is not None else np.zeros(0, dtype=int)
    if mix is None or sounding.size == 0:
        loudness.skip(count)
        peak.skip()
        return
    first, last = int(sounding[0]), int(sounding[-1]) + 1  # measure only where sound is
    if first:
        loudness.skip(first)
        peak.skip()
    loudness.feed(mix[first:last])
    peak.feed(mix[first:last])
    if last < count:
        loudness.skip(count - last)
        peak.skip()


def gain_for(loudness_lufs: float, peak_dbtp: float) -> float:
    """The session gain, on a grid of GAIN_STEP_DB: an edit that moves the loudness a
    little leaves the gain, and so every other island's PCM, as it was (the nearest
    step for loudness, within ±0.25 dB of the target; the step below for the peak)."""
    if loudness_lufs == SILENCE or peak_dbtp == SILENCE:
        return 1.0
    loudness_db = round((TARGET_MONO_LUFS - loudness_lufs) / GAIN_STEP_DB) * GAIN_STEP_DB
    peak_db = math.floor((PEAK_CEILING_DBTP - peak_dbtp) / GAIN_STEP_DB) * GAIN_STEP_DB
    return float(10 ** (min(loudness_db, peak_db) / 20))


def to_pcm16(samples: np.ndarray) -> bytes:
    """Round to 16 bits without dither, so silence stays zero and output is reproducible."""
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()


class _Events:
    """The plan's events, mixed span by span in order (before the session's gain)."""

    def __init__(self, plan: Plan, clips: ClipStore, sample_rate: int) -> None:
        self.clips, self.rate = clips, sample_rate
        self.events = sorted(plan.events, key=lambda e: e.start_ms)
        self.upcoming = 0
        self.playing: list[_Placed] = []

    def mix(self, begin: int, end: int, skip: bool = False) -> np.ndarray | None:
        """The events sounding in [begin, end) summed; None where none do (or *skip*)."""
        events = self.events
        while self.upcoming < len(events) and \
                (start := to_sample(events[self.upcoming].start_ms, self.rate)) < end:
            event = events[self.upcoming]
            self.upcoming += 1
            # passed over whole: its length is enough, and it is known without the clip
            if not (skip and start + identity_of(event, self.clips)[0] <= end):
                self.playing.append(_place(event, self.clips, self.rate))
        past = end if skip else begin
        self.playing = [p for p in self.playing if p.end > past and len(p.audio)]
        return _mix(self.playing, begin, end) if self.playing and not skip else None


def _place(event: Event, clips: ClipStore, sample_rate: int) -> _Placed:
    clip = clip_of(event, clips)[1]
    volume = float(event.volume)
    audio = clip if volume == 1.0 else clip * np.float32(volume)
    return _Placed(to_sample(event.start_ms, sample_rate), audio)


def clip_of(event: Event, clips: ClipStore) -> tuple[tuple[str, object], np.ndarray]:
    """(what the event plays, as a key, and its clip), before the event's volume."""
    if event.type == "speech":
        return ("speech", _request(event)), clips.speech_clip(_request(event))
    return ("sound", _sound(event)), clips.sound_clip(_sound(event))


def identity_of(event: Event, clips: ClipStore) -> tuple[int, str]:
    """(how many samples the event's clip has, the sha256 of them), without reading the
    clip where the prepared clips on disk say (``ClipStore.speech_identity``)."""
    if event.type == "speech":
        return clips.speech_identity(_request(event))
    return clips.sound_identity(_sound(event))


def _request(event: Event) -> SpeechRequest:
    if event.request is None:
        raise ValueError(f"speech event at {event.start_ms} ms has no request")
    return event.request


def _sound(event: Event) -> str:
    if event.sound is None:
        raise ValueError(f"sound event at {event.start_ms} ms names no sound")
    return event.sound


def _mix(playing: list[_Placed], begin: int, end: int) -> np.ndarray:
    """Sum the clips sounding in [begin, end); overlaps add (the gain keeps peaks in range)."""
    out = np.zeros(end - begin, dtype=np.float64)
    for placed in playing:
        lo, hi = max(begin, placed.start), min(end, placed.end)
        if lo < hi:
            out[lo - begin : hi - begin] += placed.audio[lo - placed.start : hi - placed.start]
    return out
