"""The numpy signal processing under loudness and clips, against plain reference code."""

from __future__ import annotations

import numpy as np
import pytest

from voiceguide.audio import dsp
from voiceguide.audio import loudness as L


def _biquads(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The textbook recursion, sample by sample (what the FIR stands in for)."""
    for b0, b1, b2, _, a1, a2 in sos:
        y = np.zeros(len(x))
        for n in range(len(x)):
            y[n] = b0 * x[n] - a1 * (y[n - 1] if n > 0 else 0) - a2 * (y[n - 2] if n > 1 else 0)
            y[n] += b1 * x[n - 1] if n > 0 else 0
            y[n] += b2 * x[n - 2] if n > 1 else 0
        x = y
    return x


@pytest.mark.parametrize("rate", [16000, 44100])
def test_k_weighting_fir_equals_the_biquads(rate: int) -> None:
    x = np.random.default_rng(1).standard_normal(6000) * 0.3
    np.testing.assert_allclose(L.k_weighted(x, rate), _biquads(L.k_weighting(rate), x), atol=1e-8)


def test_a_filter_fed_in_chunks_equals_one_pass() -> None:
    x = np.random.default_rng(2).standard_normal(50000)
    whole = dsp.FIRFilter(L.k_weighting_taps(22050))(x)
    chunked = dsp.FIRFilter(L.k_weighting_taps(22050))
    cuts = [0, 1, 17, 4000, 4001, 30000, 50000]
    parts = [chunked(x[lo:hi]) for lo, hi in zip(cuts, cuts[1:], strict=False)]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-12)


@pytest.mark.parametrize(("rate", "target"), [(22050, 44100), (16000, 44100), (48000, 44100),
                                              (44100, 24000)])  # fmt: skip
def test_resampling_keeps_a_tone_in_place(rate: int, target: int) -> None:
    seconds, hz = 0.5, 997.0
    tone = np.sin(2 * np.pi * hz * np.arange(round(seconds * rate)) / rate)
    up, down = dsp.gcd_ratio(rate, target)
    out = dsp.resample_poly(tone, up, down)
    assert len(out) == -(-len(tone) * up // down)
    want = np.sin(2 * np.pi * hz * np.arange(len(out)) / target)
    middle = slice(len(out) // 10, -len(out) // 10)  # the edges fade in and out
    assert np.abs(out[middle] - want[middle]).max() < 2e-3


def test_running_min_equals_the_naive_window() -> None:
    values = np.random.default_rng(3).random(1000)
    for width in (1, 3, 7, 177):
        half = width // 2
        padded = np.pad(values, half, mode="edge")
        naive = [padded[i : i + width].min() for i in range(len(values))]
        np.testing.assert_array_equal(dsp.running_min(values, width), naive)


def test_oversampled_peaks_find_what_lies_between_samples() -> None:
    rate = 44100
    sine = np.sin(2 * np.pi * (rate / 4) * np.arange(4000) / rate + np.pi / 4)  # samples +-0.707
    peaks = dsp.oversampled_peaks(sine)
    assert np.abs(sine).max() == pytest.approx(0.7071, abs=1e-3)
    assert peaks[100:-100].max() == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("chunk", [777, 7777, 200_000])
def test_the_peak_meter_skips_only_what_cannot_win(chunk: int) -> None:
    rng = np.random.default_rng(4)
    noise = rng.standard_normal(100_000) * np.repeat(rng.random(100) ** 4, 1000)
    noise /= np.abs(noise).max()  # samples up to 1.0
    quarter = 1.3 * np.sin(np.pi / 2 * np.arange(3000) + np.pi / 4)  # samples 0.92, peak 1.3
    x = np.concatenate([noise[:60_000], quarter, noise[60_000:]])
    meter = L.TruePeakMeter()
    for lo in range(0, len(x), chunk):
        meter.feed(x[lo : lo + chunk])
    assert meter.finish() == pytest.approx(dsp.oversampled_peaks(x).max(), rel=1e-12)
    assert meter.peak == pytest.approx(1.3, abs=0.03)
