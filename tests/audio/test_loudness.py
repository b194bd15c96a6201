"""BS.1770 loudness, true peak, levelling and trimming, checked against ffmpeg and the standard."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from measure import write_wav

from voiceguide.audio import loudness as L
from voiceguide.audio.sounds import SoundLibrary

RATE = 22050


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as f:
        frames, rate = f.readframes(f.getnframes()), f.getframerate()
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0, rate


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, int]:
    """Real espeak-ng speech, as a speech engine hands it over (untrimmed)."""
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    text = "Standing, slowly engage the lower back. Imagine squeezing your love handles together."
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True)
    return _read_wav(path)


def _ffmpeg_loudness(path: Path) -> tuple[float, float]:
    err = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = err[err.rfind("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))  # type: ignore[union-attr]
    return integrated, peak


def test_k_weighting_at_48k_matches_the_standard() -> None:
    shelf, highpass = L.k_weighting(48000)
    np.testing.assert_allclose(shelf[:3], [1.53512485958697, -2.69169618940638, 1.19839281085285],
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(shelf[4:], [-1.69065929318241, 0.73248077421585], atol=1e-6)
    np.testing.assert_allclose(highpass[4:], [-1.99004745483398, 0.99007225036621], atol=1e-6)


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
def test_a_full_scale_997_hz_sine_reads_minus_3_lufs(rate: int) -> None:
    t = np.arange(5 * rate) / rate
    assert L.clip_loudness(np.sin(2 * np.pi * 997 * t), rate) == pytest.approx(-3.01, abs=0.05)


def test_measurement_agrees_with_ffmpeg(speech: tuple[np.ndarray, int], tmp_path: Path) -> None:
    samples, rate = speech
    bell, bell_rate = SoundLibrary().audio("bell")
    for clip, clip_rate in [(samples, rate), (bell.astype(np.float64), bell_rate)]:
        path = write_wav(tmp_path / "clip.wav", clip, clip_rate)
        clip, _ = _read_wav(path)  # measure exactly the 16-bit samples ffmpeg reads
        integrated, peak = _ffmpeg_loudness(path)
        assert L.clip_loudness(clip, clip_rate) == pytest.approx(integrated, abs=0.3)
        assert L.true_peak(clip) == pytest.approx(peak, abs=0.3)


def test_chunked_measurement_equals_one_pass(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    meter, peaks = L.LoudnessMeter(rate), L.TruePeakMeter()
    cuts = [0, 17, 1000, 1001, 9000, 30000, len(samples)]
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        meter.feed(samples[lo:hi])
        peaks.feed(samples[lo:hi])
    assert meter.integrated() == pytest.approx(L.clip_loudness(samples, rate), abs=1e-9)
    assert L.to_db(peaks.finish()) == pytest.approx(L.true_peak(samples), abs=1e-9)


def test_skipping_silence_equals_feeding_zeros(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    fed, skipped = L.LoudnessMeter(rate), L.LoudnessMeter(rate)
    for gap in (3 * rate + 123, 77, 10 * rate):
        fed.feed(samples)
        fed.feed(np.zeros(gap))
        skipped.feed(samples)
        skipped.skip(gap)
    assert skipped.integrated() == pytest.approx(fed.integrated(), abs=1e-6)


def test_true_peak_finds_the_peak_between_samples() -> None:
    rate = 44100
    t = np.arange(rate) / rate
    sine = np.sin(2 * np.pi * rate / 4 * t + np.pi / 4)  # samples at +-0.707, peak 1.0
    assert L.to_db(float(np.abs(sine).max())) == pytest.approx(-3.01, abs=0.01)
    assert L.true_peak(sine) == pytest.approx(0.0, abs=0.2)


def test_levelling_reaches_the_target_under_the_ceiling(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    by_gain_alone = samples * 10 ** ((-12 - L.clip_loudness(samples, rate)) / 20)
    assert L.true_peak(by_gain_alone) > 0  # would clip
    levelled = L.level_clip(samples, rate, -12.0, -1.0)
    assert L.clip_loudness(levelled, rate) == pytest.approx(-12.0, abs=0.2)
    assert L.true_peak(levelled) <= -1.0 + 1e-9
    assert len(levelled) == len(samples)


def test_a_clip_shorter_than_a_block_is_measured_as_one_block() -> None:
    tick, rate = SoundLibrary().audio("tick")
    assert len(tick) < 0.4 * rate
    levelled = L.level_clip(tick, rate, -22.0, -3.0)
    assert L.clip_loudness(levelled, rate) == pytest.approx(-22.0, abs=0.2)
    assert L.true_peak(levelled) <= -3.0 + 1e-9


def test_silence_is_left_alone() -> None:
    assert not np.any(L.level_clip(np.zeros(RATE), RATE, -19.0, -3.0))
    assert len(L.trim(np.zeros(RATE), RATE)) == 0


def test_trim_cuts_to_the_audible_part_with_soft_edges() -> None:
    rate = 44100
    t = np.arange(rate) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    hiss = 1e-4 * np.sin(2 * np.pi * 3000 * np.arange(rate // 2) / rate)  # -83 dBFS
    padded = np.concatenate([hiss, tone, hiss])
    trimmed = L.trim(padded, rate)
    frame = round(0.005 * rate)
    assert abs(len(trimmed) - len(tone)) <= 2 * frame
    assert abs(trimmed[0]) < 0.01
    assert abs(trimmed[-1]) < 0.01
    assert np.all(L.frame_db(trimmed, rate)[1:-1] > -50)


def test_trim_ignores_a_lone_click_before_the_sound() -> None:
    rate = 44100
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    click = np.zeros(rate // 10)
    click[100:200] = 0.05  # ~2 ms, far above the lead threshold, then 100 ms of nothing
    trimmed = L.trim(np.concatenate([click, tone]), rate, lead_db=-42.0)
    assert abs(len(trimmed) - len(tone)) <= round(0.005 * rate)


def test_the_k_weighting_taps_are_kept_in_the_store_and_read_back_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Worked out once (a Python loop over a second of samples), then read from the store
    as the very same float64 values; without a usable store they are worked out again."""
    from voiceguide.audio import dsp
    from voiceguide.store import Store

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    L.k_weighting_taps.cache_clear()
    worked = dsp.iir_impulse_response(L.k_weighting(44100), 44100)
    try:
        first = L.k_weighting_taps(44100)
        assert first.dtype == np.float64 and np.array_equal(first, worked)
        assert len(Store().entries("levels").entries()) == 1
        L.k_weighting_taps.cache_clear()
        monkeypatch.setattr(L, "iir_impulse_response", lambda *a: pytest.fail("worked out"))
        kept = L.k_weighting_taps(44100)
        assert kept.tobytes() == worked.tobytes() and kept.flags.writeable
        L.k_weighting_taps.cache_clear()
        with pytest.raises(pytest.fail.Exception, match="worked out"):
            L.k_weighting_taps(48000)  # a control: another rate's taps are not kept yet
    finally:
        L.k_weighting_taps.cache_clear()
