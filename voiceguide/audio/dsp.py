"""The few signal-processing tools loudness.py and clips.py need, in plain numpy.

voiceguide used scipy for these, but importing ``scipy.signal`` alone costs
about a second and ~100 MB of memory in every run, more than a build of an
hour's session needs for its audio. Everything here is deterministic, so a
rebuild gives the same bytes.
"""

from __future__ import annotations

import functools
import math

import numpy as np

FFT_SIZE = 16384  # overlap-save block: the fastest per sample for filters of a few thousand taps
GATHER_ROWS = 8192  # outputs per step of the general resampler, to bound its temporaries


def lowpass(up: int, down: int, half_len: int) -> np.ndarray:
    """Kaiser-windowed sinc (beta 5) for resampling by up/down, gain *up*, 2*half_len+1 taps."""
    cutoff = 1.0 / max(up, down)
    n = np.arange(-half_len, half_len + 1)
    taps = cutoff * np.sinc(cutoff * n) * np.kaiser(2 * half_len + 1, 5.0)
    return taps * (up / taps.sum())


@functools.lru_cache(maxsize=16)
def _phases(up: int, down: int) -> tuple[np.ndarray, int]:
    """The filter split into *up* phases (rows), and its half length."""
    half_len = 10 * max(up, down)
    taps = lowpass(up, down, half_len)
    width = -(-len(taps) // up)
    padded = np.zeros(width * up)
    padded[: len(taps)] = taps
    return padded.reshape(width, up).T.copy(), half_len


def resample_poly(samples: np.ndarray, up: int, down: int) -> np.ndarray:
    """Polyphase resampling by up/down (coprime), zero delay, ceil(n*up/down) outputs.

    Output n sits at input position n*down/up; it is the sum of one phase of
    the filter over the input samples around that position.
    """
    x = np.asarray(samples, dtype=np.float64)
    phases, half_len = _phases(up, down)
    width = phases.shape[1]
    count = -(-len(x) * up // down)
    out = np.empty(count)
    if down == 1:  # each phase is one plain convolution
        full = [np.convolve(x, phases[p]) for p in range(up)]
        for r in range(up):
            p = (r + half_len) % up
            first = (r + half_len) // up
            k = np.arange(-(-(count - r) // up))
            index = k + first
            valid = index < len(full[p])
            out[r::up] = np.where(valid, full[p][np.minimum(index, len(full[p]) - 1)], 0.0)
        return out
    padded = np.concatenate([np.zeros(width), x, np.zeros(width + 1)])
    taps = np.arange(width)
    for lo in range(0, count, GATHER_ROWS):
        u = np.arange(lo, min(count, lo + GATHER_ROWS)) * down + half_len
        window = padded[(u // up + width)[:, None] - taps[None, :]]
        out[lo : lo + len(u)] = np.einsum("ij,ij->i", window, phases[u % up])
    return out


OVERSAMPLE = 4
_PEAK_HALF = 24  # 49 taps, 12 per phase, like BS.1770's true-peak filter


@functools.lru_cache(maxsize=1)
def _peak_phases() -> np.ndarray:
    """Phases 1..3 of the 4x interpolator; phase 0 is the sample itself."""
    taps = lowpass(OVERSAMPLE, 1, _PEAK_HALF)
    padded = np.zeros(2 * _PEAK_HALF + 4)
    padded[: len(taps)] = taps
    return padded.reshape(-1, OVERSAMPLE).T[1:].copy()


PEAK_REACH = _PEAK_HALF // OVERSAMPLE + 1  # input samples each side an interpolated value sees


def peak_bound_factor() -> float:
    """No interpolated value exceeds this times the largest sample within PEAK_REACH."""
    return max(1.0, float(np.abs(_peak_phases()).sum(axis=1).max()))


def oversampled_peaks(samples: np.ndarray) -> np.ndarray:
    """For each sample, the largest |value| at it and at the three points after it (4x)."""
    x = np.asarray(samples, dtype=np.float64)
    peaks = np.abs(x)
    if len(x) == 0:
        return peaks
    shift = _PEAK_HALF // OVERSAMPLE  # delay of each phase's convolution, in input samples
    for phase in _peak_phases():
        full = np.convolve(x, phase)
        between = np.abs(full[shift : shift + len(x)])
        np.maximum(peaks, between, out=peaks)
    return peaks


def between_peaks(samples: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The largest |value| of the three interpolated points after each sample index in *at*.

    Same values as ``oversampled_peaks`` (without the samples themselves), but
    only at the given places: cheap when they are few.
    """
    phases = _peak_phases()
    width = phases.shape[1]
    shift = _PEAK_HALF // OVERSAMPLE
    padded = np.concatenate([np.zeros(width), np.asarray(samples, dtype=np.float64),
                             np.zeros(width)])  # fmt: skip
    # value at k = sum_j phase[j] * x[k + shift - j]
    window = padded[(at + shift + width)[:, None] - np.arange(width)[None, :]]
    return np.abs(window @ phases.T).max(axis=1) if len(at) else np.zeros(0)


class FIRFilter:
    """A long FIR filter applied by FFT (overlap-save), fed in chunks of any size."""

    def __init__(self, taps: np.ndarray) -> None:
        self.taps = taps
        size = FFT_SIZE
        while size < 2 * len(taps):
            size *= 2
        self._size = size
        self._spectrum = np.fft.rfft(taps, size)
        self._history = np.zeros(len(taps) - 1)

    @property
    def ringing(self) -> int:
        """Samples after the input stops until the output is exactly zero."""
        return len(self.taps) - 1

    def idle(self) -> bool:
        return not self._history.any()

    def reset(self) -> None:
        self._history[:] = 0.0

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        keep = len(self._history)
        buffer = np.concatenate([self._history, np.asarray(samples, dtype=np.float64)])
        out = np.empty(len(samples))
        step = self._size - keep
        for lo in range(0, len(samples), step):
            part = buffer[lo : lo + self._size]
            filtered = np.fft.irfft(np.fft.rfft(part, self._size) * self._spectrum, self._size)
            valid = filtered[keep : len(part)]
            out[lo : lo + len(valid)] = valid
        if keep:
            self._history = buffer[len(buffer) - keep :].copy()
        return out


def iir_impulse_response(sos: np.ndarray, rate: int, floor: float = 1e-10) -> np.ndarray:
    """Impulse response of a cascade of biquads, cut where what follows stays under *floor*."""
    response = np.zeros(rate)  # one second: far more than a stable audio filter rings
    response[0] = 1.0
    for b0, b1, b2, _, a1, a2 in sos:
        out = [0.0] * len(response)
        x1 = x2 = y1 = y2 = 0.0
        for n, x0 in enumerate(response.tolist()):
            y0 = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            out[n] = y0
            x2, x1, y2, y1 = x1, x0, y1, y0
        response = np.array(out)
    loud = np.flatnonzero(np.abs(response) > floor)
    return response[: int(loud[-1]) + 1]


def running_min(values: np.ndarray, width: int) -> np.ndarray:
    """Minimum over a centred window of odd *width*, the edge values held (van Herk, O(n))."""
    half = width // 2
    padded = np.pad(values, (half, half), mode="edge")
    blocks = -(-len(padded) // width)
    full = np.full(blocks * width, np.inf)
    full[: len(padded)] = padded
    rows = full.reshape(blocks, width)
    ahead = np.minimum.accumulate(rows, axis=1).ravel()
    behind = np.minimum.accumulate(rows[:, ::-1], axis=1)[:, ::-1].ravel()
    starts = np.arange(len(values))
    return np.minimum(behind[starts], ahead[starts + width - 1])


def gcd_ratio(rate: int, target_rate: int) -> tuple[int, int]:
    common = math.gcd(rate, target_rate)
    return target_rate // common, rate // common
