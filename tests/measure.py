"""Measuring a built MP3 the way a listener's player (and ffmpeg) sees it.

Shared by the tests that decode real sessions: 5 ms RMS frames at 16 kHz,
"audible" above −45 dBFS, "silent" below −50 dBFS, loudness by ffmpeg's
ebur128 as heard on two earbuds. And ``write_wav``: the WAV files tests give
voiceguide as a user's music or sounds.
"""

from __future__ import annotations

import json
import re
import subprocess
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

ANALYSIS_RATE, FRAME = 16000, 80
AUDIBLE_DB, SILENT_DB = -45.0, -50.0
LOOK_MS = 250  # how far before an onset must be quiet for it to be timed


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """*samples* (floats, full scale 1) as a 16-bit mono WAV file at *rate*."""
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.round(np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def decode(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(ANALYSIS_RATE),
         "-f", "s16le", "-"], check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0


def frame_db(samples: np.ndarray) -> np.ndarray:
    n = len(samples) // FRAME
    rms = np.sqrt(np.mean(samples[: n * FRAME].reshape(n, FRAME) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-9))


def frame(seconds: float) -> int:
    return int(round(seconds * ANALYSIS_RATE / FRAME))


def busy(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of (start_ms, end_ms) spans, sorted."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def onset_errors(db: np.ndarray, starts_ms: Iterable[int],
                 spans: list[tuple[int, int]]) -> dict[int, float]:
    """For each start that can be timed (quiet before it), seconds between plan and sound."""
    errors = {}
    for start_ms in starts_ms:
        if start_ms < LOOK_MS or any(s < start_ms and e > start_ms - LOOK_MS for s, e in spans):
            continue
        start = start_ms / 1000
        window = db[frame(start - LOOK_MS / 1000) : frame(start + LOOK_MS / 1000)]
        loud = np.flatnonzero(window > AUDIBLE_DB)
        errors[start_ms] = loud[0] * FRAME / ANALYSIS_RATE - LOOK_MS / 1000 if loud.size \
            else float("inf")
    return errors


def loud_gaps(db: np.ndarray, spans: list[tuple[int, int]], duration_ms: int) -> list[int]:
    """Start (ms) of every planned silence that is not silent (30 ms margins)."""
    edges = list(zip([0] + [e for _, e in spans], [s for s, _ in spans] + [duration_ms],
                     strict=True))  # fmt: skip
    found = []
    for gap_start, gap_end in edges:
        if gap_end - gap_start <= 60:
            continue  # no silence planned there (e.g. a first stage at 0 s)
        gap = db[frame(gap_start / 1000 + 0.03) : frame(gap_end / 1000 - 0.03)]
        if gap.size and gap.max() >= SILENT_DB:
            found.append(gap_start)
    return found


def loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) as heard on two earbuds."""
    err = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(path), "-af", "ebur128=peak=true:dualmono=true",
         "-f", "null", "-"], capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = err[err.rfind("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)
    assert integrated and peak, summary
    return float(integrated.group(1)), float(peak.group(1))


def probe(path: Path) -> dict:
    return json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-show_format", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout)  # fmt: skip


def chapters(path: Path) -> list[tuple[str, float, float]]:
    return [(c["tags"]["title"], float(c["start_time"]), float(c["end_time"]))
            for c in probe(path)["chapters"]]


def heard_as_planned(plan: dict, mp3: Path) -> tuple[float, dict[int, float], list[int]]:
    """For a plan's JSON and its MP3: (share of events whose onset could be timed, the onsets
    more than 30 ms off, the planned silences that are not silent)."""
    events = plan["events"]
    spans = busy((round(e["start_s"] * 1000), round(e["end_s"] * 1000)) for e in events)
    db = frame_db(decode(mp3))
    errors = onset_errors(db, [round(e["start_s"] * 1000) for e in events], spans)
    late = {start: error for start, error in errors.items() if abs(error) > 0.030}
    return len(errors) / len(events), late, loud_gaps(db, spans, round(plan["duration_s"] * 1000))

