"""Synthesise voiceguide's built-in sounds into ``sounds/``.

    python -m voiceguide.audio.soundgen sounds

The sounds are made by plain numpy arithmetic (additive partials, each with
its own decay), so anyone can regenerate the shipped files and get the same
bytes; no recording or sample pack has to be trusted or licensed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from voiceguide import builtins
from voiceguide.speech import wav

RATE = 44100
PEAK = 0.7  # leaves headroom; clips are levelled again when a session is built

# (frequency ratio, relative amplitude, decay time constant in seconds)
Partial = tuple[float, float, float]


def _timeline(seconds: float) -> np.ndarray:
    return np.arange(round(seconds * RATE), dtype=np.float64) / RATE


def _partials(
    base_hz: float, partials: Sequence[Partial], seconds: float, attack_s: float
) -> np.ndarray:
    """Sum of decaying sines with a raised-cosine attack and a final fade to zero."""
    t = _timeline(seconds)
    out = np.zeros_like(t)
    for ratio, amp, decay in partials:
        out += amp * np.sin(2 * np.pi * base_hz * ratio * t) * np.exp(-t / decay)
    attack = min(len(t), max(1, round(attack_s * RATE)))
    out[:attack] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    fade = min(len(t), round(0.05 * RATE))
    out[len(t) - fade :] *= np.linspace(1.0, 0.0, fade)
    return out


def chime() -> np.ndarray:
    """A bright, short chime (~1 s): announces a stage."""
    partials = [(1.0, 1.0, 0.35), (2.0, 0.35, 0.22), (3.0, 0.12, 0.12), (4.2, 0.05, 0.08)]
    return _partials(1046.5, partials, 1.0, 0.003)  # C6


def bell() -> np.ndarray:
    """A ringing bell (~2.5 s) with the inharmonic partials of a church bell."""
    partials = [
        (0.5, 0.45, 1.1),  # hum
        (1.0, 1.0, 0.8),  # prime
        (1.19, 0.45, 0.6),  # minor third
        (1.5, 0.3, 0.5),  # fifth
        (2.0, 0.35, 0.4),  # nominal
        (2.51, 0.15, 0.25),
        (3.01, 0.1, 0.18),
    ]
    return _partials(659.3, partials, 2.6, 0.002)  # E5


def gong() -> np.ndarray:
    """A deep gong (~3 s): low, inharmonic, with a soft strike."""
    partials = [
        (1.0, 1.0, 1.2),
        (1.47, 0.6, 0.9),
        (2.09, 0.5, 0.7),
        (2.56, 0.35, 0.5),
        (3.24, 0.25, 0.35),
        (4.15, 0.15, 0.25),
        (5.43, 0.08, 0.15),
    ]
    return _partials(130.8, partials, 3.0, 0.015)  # C3


def tick() -> np.ndarray:
    """A crisp tick (~40 ms) that cuts through street noise."""
    partials = [(1.0, 1.0, 0.006), (1.63, 0.7, 0.005), (2.41, 0.5, 0.004), (3.3, 0.3, 0.003)]
    return _partials(2000.0, partials, 0.04, 0.0005)


def whistle() -> np.ndarray:
    """A coach's double-blast whistle (~0.7 s): a strong "go" signal."""
    t = _timeline(0.7)
    vibrato = 2 * np.pi * 2800.0 * t + 0.4 * np.sin(2 * np.pi * 35.0 * t)
    tone = np.sin(vibrato) + 0.25 * np.sin(2 * vibrato)
    gate = ((t < 0.28) | (t >= 0.38)).astype(np.float64)
    gate = np.convolve(gate, np.hanning(round(0.01 * RATE)), mode="same")
    gate /= gate.max()
    return tone * gate


def double_chime() -> np.ndarray:
    """Two chime notes a fourth apart (~1.2 s): a distinct second signal."""
    low = _partials(784.0, [(1.0, 1.0, 0.3), (2.0, 0.3, 0.18), (3.0, 0.1, 0.1)], 1.2, 0.003)
    high = chime()
    gap = round(0.2 * RATE)
    low[gap : gap + len(high)] += high[: len(low) - gap]
    return low


LOOP_BPM = 90
# C, G, A minor, F: four bars of one chord each, as MIDI notes (a pad and an arpeggio)
PROGRESSION = ((48, 60, 64, 67), (43, 59, 62, 67), (45, 60, 64, 69), (41, 60, 65, 69))


def _hz(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def soft_loop() -> np.ndarray:
    """A soft, even loop (~10.7 s) to run to: four chords of warm pads, a quiet bass and a
    gentle plucked arpeggio at 90 beats per minute. Its end leads back into its start."""
    beat = 60 / LOOP_BPM
    bar = 4 * beat
    t = _timeline(bar * len(PROGRESSION))
    out = np.zeros_like(t)
    for index, (bass, *pad) in enumerate(PROGRESSION):
        start = index * bar
        local = t - start
        # a pad swells in and out over its bar, overlapping its neighbours (also across the loop)
        for shift in (-len(t) / RATE, 0.0, len(t) / RATE):
            x = (local - shift) / bar
            window = np.where((x > -0.15) & (x < 1.15), np.sin(np.pi * (x + 0.15) / 1.3) ** 2, 0)
            for note in pad:
                out += 0.12 * window * np.sin(2 * np.pi * _hz(note) * t)
            out += 0.18 * window * np.sin(2 * np.pi * _hz(bass) * t)
        for step in range(8):  # eighth notes up and down the chord
            note = (*pad, pad[-1] + 12, *reversed(pad))[step % 7]
            at = start + step * beat / 2
            pluck = (t >= at) & (t < at + 0.6)
            since = t[pluck] - at
            out[pluck] += (0.16 * np.exp(-since / 0.18) * np.sin(2 * np.pi * _hz(note + 12) * since)
                           * np.minimum(1.0, since / 0.004))
    return out


BUILTINS: dict[str, Callable[[], np.ndarray]] = {
    "chime": chime,
    "bell": bell,
    "gong": gong,
    "tick": tick,
    "whistle": whistle,
    "double_chime": double_chime,
}


def to_pcm16(samples: np.ndarray) -> bytes:
    """Normalise to PEAK and quantise by rounding (no dither: the bytes are reproducible)."""
    scaled = samples * (PEAK / np.max(np.abs(samples)))
    return np.round(scaled * 32767).astype("<i2").tobytes()


MUSIC: dict[str, Callable[[], np.ndarray]] = {"soft_loop": soft_loop}


def generate(folder: Path) -> list[Path]:
    """Write every built-in sound and music loop as 16-bit mono 44.1 kHz WAV into *folder*."""
    written = []
    for where, makers in ((folder, BUILTINS), (folder / builtins.MUSIC_FOLDER, MUSIC)):
        where.mkdir(parents=True, exist_ok=True)
        for name, make in makers.items():
            path = where / f"{name}.wav"
            path.write_bytes(wav.wrap_pcm16(to_pcm16(make()), RATE))
            written.append(path)
    return written


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m voiceguide.audio.soundgen FOLDER", file=sys.stderr)
        return 2
    for path in generate(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
