"""The interface every speech engine offers, and what it says about its voices."""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voiceguide.speech.request import SpeechRequest


@dataclass(frozen=True)
class VoiceInfo:
    """One voice an engine offers, as `voiceguide voices` lists it."""

    engine: str
    id: str
    language: str
    name: str
    gender: str | None = None
    variants: tuple[str, ...] = ()  # accepted as ``id+variant``, e.g. ``gmw/en-us+f3``


class Engine(ABC):
    """A TTS engine: turns requests into WAV bytes, one per request, in order."""

    name: str
    # told of each clip as it is made (on any of the engine's threads): for progress, and
    # so the library keeps it and the build prepares it while the engine speaks the rest
    on_clip: Callable[[SpeechRequest, bytes], None] | None = None

    def clip_done(self, request: SpeechRequest, data: bytes) -> None:
        if self.on_clip is not None:
            self.on_clip(request, data)

    @abstractmethod
    def version(self) -> str:
        """What identifies this engine's output; part of every cache key."""

    @abstractmethod
    def problem(self) -> str | None:
        """None when usable; else one line saying what is missing and how to install it."""

    @abstractmethod
    def voices(self) -> list[VoiceInfo]:
        """The voices this engine offers."""

    @abstractmethod
    def synthesize(self, requests: Sequence[SpeechRequest]) -> list[bytes]:
        """WAV bytes for each request, in order; raises EngineError on failure."""

    def fetchable_voices(self) -> list[VoiceInfo]:
        """Voices the engine knows but that are not on this machine yet (never fetched here)."""
        return []

    def voice_problem(self, voice_id: str) -> str | None:
        """None when ``voice_id`` names one of this engine's voices, else why not."""
        if any(v.id == voice_id for v in self.voices()):
            return None
        return f"the {self.name} engine has no voice {voice_id!r}"


def shorten(text: str, limit: int = 40) -> str:
    """A clip's text, short enough to quote in a one-line error."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def pick_voice(voices: list[VoiceInfo], language: str) -> str | None:
    """A sensible voice for a language code: an exact match, else the language's home
    region (``fr`` → ``fr-fr``, not ``fr-be``), else another regional one."""
    wanted = language.lower()
    if wanted == "en":
        wanted = "en-us"  # where both exist, voiceguide speaks American English
    exact = [v.id for v in voices if v.language.lower() == wanted]
    base = wanted.split("-")[0]
    home = [v.id for v in voices if v.language.lower() == f"{base}-{base}"]  # fr: fr-fr
    regional = [v.id for v in voices if f"{v.language.lower()}-".startswith(f"{base}-")]
    return next(iter(exact or home or regional), None)


def suggestion(voices: list[VoiceInfo], voice_id: str) -> str | None:
    """The voice id (or ``id+variant``) closest to a mistyped one, if any is close."""
    base, plus, variant = voice_id.partition("+")
    by_id = {v.id.lower(): v for v in voices}
    known = by_id.get(base.lower())
    by_language = {f"{v.id.rpartition('/')[0]}/{v.language}".lower(): v for v in voices}
    if known is None and base.lower() in by_language:  # gmw/en-gb: the voice is gmw/en
        return by_language[base.lower()].id + plus + variant
    if known is None:
        close = difflib.get_close_matches(base.lower(), list(by_id), n=1)
        return by_id[close[0]].id + plus + variant if close else None
    close = difflib.get_close_matches(variant, known.variants, n=1)
    return f"{known.id}+{close[0]}" if plus and close else None
