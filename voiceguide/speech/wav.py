"""WAV bytes in and out: the one audio format engines and the cache exchange."""

from __future__ import annotations

import io
import wave
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where samples are made: a command that only
    import numpy as np  # speaks starts its engine sooner

MIN_SPEECH_MS = 50  # shorter than any spoken word: the engine made nothing
MIN_PEAK = 1e-3  # quieter than this everywhere is silence, not speech


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """Float32 mono samples in [-1, 1] and the sample rate; raises wave.Error or EOFError."""
    import numpy as np

    with wave.open(io.BytesIO(data), "rb") as w:
        width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
        frames = w.readframes(w.getnframes())
    if width != 2:
        raise wave.Error(f"{8 * width}-bit WAV; speech engines must write 16-bit PCM")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples[: len(samples) // channels * channels]
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.float32)
    return samples, rate


def encode(samples: np.ndarray, rate: int) -> bytes:
    """16-bit mono WAV bytes for float samples in [-1, 1]."""
    import numpy as np

    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    return wrap_pcm16(pcm.tobytes(), rate)


def wrap_pcm16(pcm: bytes, rate: int) -> bytes:
    """A 16-bit mono WAV file holding *pcm* (s16le samples) as they are."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def speech_problem(data: bytes) -> str | None:
    """None when ``data`` is a WAV that plausibly holds speech, else what is wrong."""
    import numpy as np

    try:
        samples, rate = decode(data)
    except (wave.Error, EOFError) as err:
        return f"not a usable WAV file ({err})"
    if rate <= 0 or len(samples) * 1000 < MIN_SPEECH_MS * rate:
        return "the audio is empty"
    if float(np.max(np.abs(samples))) < MIN_PEAK:
        return "the audio is silent"
    return None
