"""Loudness (ITU-R BS.1770-4), true peak, per-clip levelling and trimming.

Written in numpy rather than with a library because voiceguide needs two
things the usual tools lack: measuring a long session in chunks with constant
memory, and levelling clips shorter than one 400 ms gating block.
All functions take float mono samples in [-1, 1].
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
from typing import TYPE_CHECKING

import numpy as np

from voiceguide.audio.dsp import (
    PEAK_REACH,
    FIRFilter,
    between_peaks,
    iir_impulse_response,
    oversampled_peaks,
    peak_bound_factor,
    running_min,
)
from voiceguide.errors import CacheError

if TYPE_CHECKING:
    from voiceguide.store import Entries

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
BLOCK_S = 0.4
HOP_S = 0.1  # 75 % overlap: a block is four hops
LEVEL_STEPS = 6
BLOCK_SAMPLES = 65536  # long clips are processed in pieces this big, to bound memory
LEVEL_TOLERANCE_LU = 0.05
LEAD_HOLD = 4  # 5 ms frames a clip must stay above the lead threshold to count as started
SILENCE = -math.inf


def k_weighting(rate: int) -> np.ndarray:
    """The K-weighting filter as second-order sections, derived for *rate* as libebur128 does."""
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2 * (k * k - 1) / a0,
        (1 - k / q + k * k) / a0,
    ]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


TAPS = "k-weighting taps/1"  # how the taps are worked out: a change makes new store keys


@functools.lru_cache(maxsize=8)
def k_weighting_taps(rate: int) -> np.ndarray:
    """The K-weighting filter as a FIR: its impulse response, until it has died away.

    Working it out runs a second of samples through each section in a Python loop
    (0.05 s at 44.1 kHz, in every command that measures a clip), so the taps are kept in
    the store (kind ``levels``) under the sections' own coefficients, and read back as
    the same float64 values."""
    sections = k_weighting(rate)
    key = hashlib.sha256(repr((TAPS, rate, sections.tolist())).encode()).hexdigest()
    kept = _levels()
    if kept is not None and (data := kept.get(key)) is not None and len(data) % 8 == 0:
        return np.frombuffer(data, dtype="<f8").astype(np.float64)
    taps = iir_impulse_response(sections, rate)
    if kept is not None:
        with contextlib.suppress(OSError):  # a store that cannot grow: worked out next time
            kept.put(key, taps.astype("<f8").tobytes())
    return taps


def _levels() -> Entries | None:
    """The store's levels entries; None when there is no usable store."""
    from voiceguide.store import Store

    try:
        return Store().entries("levels")
    except CacheError:
        return None


def k_weighted(samples: np.ndarray, rate: int) -> np.ndarray:
    """The K-weighted signal, as long as the input (what rings on after it is left out)."""
    return FIRFilter(k_weighting_taps(rate))(samples)


def energy_to_lufs(mean_square: float) -> float:
    return -0.691 + 10 * math.log10(mean_square) if mean_square > 0 else SILENCE


def lufs_to_energy(lufs: float) -> float:
    return 10 ** ((lufs + 0.691) / 10)


def gated_loudness(block_energies: np.ndarray) -> float:
    """Integrated loudness from the mean squares of the 400 ms blocks (BS.1770 gating)."""
    loud = block_energies[block_energies > lufs_to_energy(ABSOLUTE_GATE_LUFS)]
    if loud.size == 0:
        return SILENCE
    relative = lufs_to_energy(energy_to_lufs(float(loud.mean())) + RELATIVE_GATE_LU)
    kept = loud[loud > relative]
    return energy_to_lufs(float(kept.mean())) if kept.size else SILENCE


class LoudnessMeter:
    """Integrated loudness of a mono stream fed in chunks; keeps one float per 100 ms."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._filter = FIRFilter(k_weighting_taps(rate))
        self._hop = round(rate * HOP_S)
        self._partial_sum = 0.0
        self._partial_len = 0
        self._hops: list[float] = []  # sum of squares of each complete 100 ms hop

    def feed(self, samples: np.ndarray) -> None:
        for lo in range(0, len(samples), BLOCK_SAMPLES):  # bounded temporaries for long input
            weighted = self._filter(samples[lo : lo + BLOCK_SAMPLES])
            self._add_squares(weighted * weighted)

    def skip(self, count: int) -> None:
        """Advance over *count* samples of digital silence without filtering all of them."""
        ringing = 0 if self._filter.idle() else min(count, self._filter.ringing)
        self.feed(np.zeros(ringing))
        count -= ringing
        if count == 0:
            return
        self._filter.reset()
        fill = min(count, self._hop - self._partial_len)
        self._add_squares(np.zeros(fill))
        count -= fill
        whole, rest = divmod(count, self._hop)  # count > 0 only if the fill ended a hop
        self._hops.extend([0.0] * whole)
        self._partial_len += rest

    def _add_squares(self, squares: np.ndarray) -> None:
        pos = 0
        while pos < len(squares):
            take = min(len(squares) - pos, self._hop - self._partial_len)
            self._partial_sum += float(squares[pos : pos + take].sum())
            self._partial_len += take
            pos += take
            if self._partial_len == self._hop:
                self._hops.append(self._partial_sum)
                self._partial_sum, self._partial_len = 0.0, 0

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS (mono); -inf when nothing passes the gates."""
        return integrated_from_hops(self.hop_energies())

    def hop_energies(self) -> np.ndarray:
        """The mean square of each complete 100 ms hop of the K-weighted signal so far."""
        return np.array(self._hops) / self._hop


def integrated_from_hops(hops: np.ndarray) -> float:
    """Gated integrated loudness from 100 ms hop energies (400 ms blocks, 75 % overlap).

    Hop energies of independent signals add, so the loudness of a mix at other
    gains can be found from each part's hops without mixing it again.
    """
    if hops.size < 4:
        return SILENCE
    blocks = (hops[:-3] + hops[1:-2] + hops[2:-1] + hops[3:]) / 4
    return gated_loudness(blocks)


class TruePeakMeter:
    """Maximum of the 4x oversampled signal, fed in chunks with overlap at the seams.

    No interpolated value exceeds ``peak_bound_factor()`` times the largest
    sample within ``PEAK_REACH`` of it, so only stretches loud enough to beat
    the peak found so far are oversampled: the same answer, a fraction of the work.
    """

    CONTEXT = 2 * PEAK_REACH  # input samples carried to the next chunk

    def __init__(self) -> None:
        self._tail = np.zeros(0)
        self._measured = 0  # leading samples of the tail whose oversampled peak is counted
        self._bound = peak_bound_factor()
        self.peak = 0.0

    def feed(self, samples: np.ndarray) -> None:
        buffer = np.concatenate([self._tail, np.asarray(samples, dtype=np.float64)])
        if len(buffer) <= self.CONTEXT:
            self._tail = buffer
            return
        self._count(buffer, self._measured, len(buffer) - PEAK_REACH)
        self._tail = buffer[-self.CONTEXT :]
        self._measured = self.CONTEXT - PEAK_REACH

    def skip(self) -> None:
        """Digital silence follows: settle the seam as if the signal ended here."""
        self.finish()
        self._tail, self._measured = np.zeros(0), 0

    def finish(self) -> float:
        """The peak as a linear amplitude."""
        if len(self._tail) > self._measured:
            self._count(self._tail, self._measured, len(self._tail))
            self._measured = len(self._tail)
        return self.peak

    def _count(self, buffer: np.ndarray, lo: int, hi: int) -> None:
        """Raise the peak by the oversampled values at buffer[lo:hi]."""
        magnitude = np.abs(buffer)
        self.peak = max(self.peak, float(magnitude[lo:hi].max(initial=0.0)))
        near = _loudest_within(magnitude, PEAK_REACH)
        worth = np.flatnonzero(near[lo:hi] * self._bound > self.peak) + lo
        self.peak = max(self.peak, float(between_peaks(buffer, worth).max(initial=0.0)))


def _loudest_within(magnitude: np.ndarray, reach: int) -> np.ndarray:
    """For each sample, the largest magnitude within *reach* samples of it (by doubling)."""
    padded = np.pad(magnitude, (reach, reach))
    width, out = 1, padded
    while 2 * width <= 2 * reach + 1:
        out = np.maximum(out[:-width], out[width:])
        width *= 2
    rest = 2 * reach + 1 - width  # two overlapping windows of *width* cover the whole span
    return np.maximum(out[: len(magnitude)], out[rest : rest + len(magnitude)])


def sample_peaks(samples: np.ndarray, block: int = BLOCK_SAMPLES) -> np.ndarray:
    """For each sample, the largest of its oversampled values; in blocks, to bound memory."""
    out = np.empty(len(samples))
    for lo in range(0, len(samples), block):
        hi = min(len(samples), lo + block)
        first, last = max(0, lo - PEAK_REACH), min(len(samples), hi + PEAK_REACH)
        out[lo:hi] = oversampled_peaks(samples[first:last])[lo - first : hi - first]
    return out


def to_db(amplitude: float) -> float:
    return 20 * math.log10(amplitude) if amplitude > 0 else SILENCE


def clip_loudness(samples: np.ndarray, rate: int) -> float:
    """Loudness of one clip; a clip shorter than a 400 ms block is measured as one block."""
    if len(samples) < round(BLOCK_S * rate):
        weighted = k_weighted(samples, rate)
        return energy_to_lufs(float(np.mean(weighted * weighted))) if len(samples) else SILENCE
    meter = LoudnessMeter(rate)
    meter.feed(samples)
    return meter.integrated()


def true_peak(samples: np.ndarray) -> float:
    """True peak in dBTP (4x oversampling)."""
    meter = TruePeakMeter()
    for lo in range(0, len(samples), BLOCK_SAMPLES):
        meter.feed(samples[lo : lo + BLOCK_SAMPLES])
    return to_db(meter.finish()) if len(samples) else SILENCE


def limit(
    samples: np.ndarray,
    rate: int,
    ceiling_dbtp: float,
    peaks: np.ndarray | None = None,
    gain: float = 1.0,
) -> np.ndarray:
    """Smooth look-ahead limiter on ``samples * gain``: gain dips only around peaks.

    The required gain is min-filtered over 2H+1 samples, then smoothed by a
    triangle no wider, so the smoothed gain never exceeds what any sample
    needs. *peaks* (from ``sample_peaks``) saves oversampling again. Works in
    overlapping blocks so a long clip needs little memory beyond its output.
    """
    ceiling = 10 ** (ceiling_dbtp / 20)
    peaks = sample_peaks(samples) if peaks is None else peaks
    half = max(2, round(0.004 * rate) // 2 * 2)
    out = np.empty(len(samples))
    for lo in range(0, len(samples), BLOCK_SAMPLES):
        hi = min(len(samples), lo + BLOCK_SAMPLES)
        first, last = max(0, lo - 2 * half), min(len(samples), hi + 2 * half)
        need = np.minimum(1.0, ceiling / np.maximum(peaks[first:last] * gain, 1e-12))
        if need.min() < 1.0:
            floor = running_min(need, 2 * half + 1)
            need = np.minimum(need, _moving_average(_moving_average(floor, half + 1), half + 1))
        out[lo:hi] = samples[lo:hi] * (gain * need[lo - first : hi - first])
    return out


def _moving_average(values: np.ndarray, width: int) -> np.ndarray:
    """Centred running mean (edges held), in O(n) via a cumulative sum."""
    left = width // 2
    padded = np.pad(values, (left, width - 1 - left), mode="edge")
    sums = np.cumsum(np.concatenate([[0.0], padded]))
    return (sums[width:] - sums[:-width]) / width


def level_clip(samples: np.ndarray, rate: int, target_lufs: float, peak_dbtp: float) -> np.ndarray:
    """Gain to *target_lufs*, limiting peaks to *peak_dbtp*; a silent clip stays as it is.

    Limiting takes back part of each dB of gain, so the gain is found by a
    few secant steps, each limiting the original afresh; a final plain scale
    keeps the ceiling exact. Peaks scale with the gain, so they are found once.
    """
    samples = np.asarray(samples, dtype=np.float64)
    loudness = clip_loudness(samples, rate)
    if loudness == SILENCE:
        return samples
    peaks = sample_peaks(samples).astype(np.float32)
    gain_db, slope = target_lufs - loudness, 1.0
    previous: tuple[float, float] | None = None
    for _ in range(LEVEL_STEPS):
        out = limit(samples, rate, peak_dbtp, peaks, 10 ** (gain_db / 20))
        reached = clip_loudness(out, rate)
        if abs(target_lufs - reached) < LEVEL_TOLERANCE_LU:
            break
        if previous is not None and reached != previous[1]:
            slope = min(1.0, max(0.1, (reached - previous[1]) / (gain_db - previous[0])))
        previous = (gain_db, reached)
        gain_db += (target_lufs - reached) / slope
    over = true_peak(out) - peak_dbtp
    if over > 0:
        out = out * 10 ** (-over / 20)
    return out


def frame_db(samples: np.ndarray, rate: int, frame_s: float = 0.005) -> np.ndarray:
    """RMS level in dBFS of consecutive frames (the last partial frame included)."""
    size = max(1, round(frame_s * rate))
    count = -(-len(samples) // size)
    padded = np.zeros(count * size)
    padded[: len(samples)] = samples
    rms = np.sqrt(np.mean(padded.reshape(count, size) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def trim(
    samples: np.ndarray, rate: int, lead_db: float = -50.0, tail_db: float = -55.0
) -> np.ndarray:
    """Cut leading and trailing silence so a clip starts when it becomes audible.

    Short raised-cosine fades at both cuts keep them from clicking. A clip
    that never reaches the thresholds comes back empty.
    """
    size = max(1, round(0.005 * rate))
    levels = frame_db(samples, rate)
    above = levels > lead_db
    held = above[: len(above) - LEAD_HOLD + 1].copy()  # loud for LEAD_HOLD frames running:
    for k in range(1, LEAD_HOLD):  # a lone click or breath before the word is no onset
        held &= above[k : len(above) - LEAD_HOLD + 1 + k]
    loud_lead = np.flatnonzero(held) if held.any() else np.flatnonzero(above)
    loud_tail = np.flatnonzero(levels > tail_db)
    if loud_lead.size == 0:
        return samples[:0].copy()
    start = int(loud_lead[0]) * size
    end = min(len(samples), (int(loud_tail[-1]) + 1) * size)
    out = np.array(samples[start:end], dtype=np.float64)
    _fade(out, round(0.002 * rate), at_start=True)
    _fade(out, round(0.003 * rate), at_start=False)
    return out


def _fade(samples: np.ndarray, length: int, *, at_start: bool) -> None:
    length = min(length, len(samples))
    if length == 0:
        return
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 1) / (length + 1))
    if at_start:
        samples[:length] *= ramp
    else:
        samples[len(samples) - length :] *= ramp[::-1]
