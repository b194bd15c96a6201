"""What to synthesise: pure data shared by the plan and the speech engines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class SpeechRequest:
    """One clip of speech. Everything here changes the audio an engine makes.

    ``volume`` is not here: voiceguide applies a voice's volume as a gain when
    it mixes, so the same clip serves every volume.
    """

    engine: str  # "pyttsx3", "espeak-ng", "festival", "command:NAME"
    voice: str | None  # the engine's voice id; None means the engine's default
    rate: float | None  # words per minute; None means the engine's default
    text: str
    options: tuple[str, ...] = ()  # engine-specific settings, e.g. a command's argv template
