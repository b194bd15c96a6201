"""The speech library: ``SpeechRequest`` → WAV through an engine, kept in the speech cache.

Engines are built lazily, so importing this module starts no engine and does
not import pyttsx3 or onnxruntime (those engines run them in worker processes).
"""

from __future__ import annotations

import contextlib
import difflib
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from voiceguide import engines as names
from voiceguide.errors import EngineError
from voiceguide.speech import wav
from voiceguide.speech.base import Engine, VoiceInfo, pick_voice, shorten, suggestion
from voiceguide.speech.cache import cache_key
from voiceguide.speech.command_engine import CommandEngine
from voiceguide.speech.espeak_engine import EspeakEngine
from voiceguide.speech.festival_engine import FestivalEngine
from voiceguide.speech.hibari_engine import HibariEngine, stop_early
from voiceguide.speech.pico_engine import PicoEngine
from voiceguide.speech.pyttsx3_engine import Pyttsx3Engine
from voiceguide.speech.request import SpeechRequest
from voiceguide.speech.workerproc import kill_all
from voiceguide.store import Store
from voiceguide.tools import cores_per_build

if TYPE_CHECKING:
    import numpy as np

COMMAND = names.COMMAND


def engines(jobs: int | None = None) -> dict[str, Callable[[], Engine]]:
    """The built-in engines by name, each speaking on up to *jobs* cores (by default, this
    build's share of them); ``command`` / ``command:NAME`` are made per template."""
    jobs = jobs or cores_per_build()
    return {
        "pyttsx3": lambda: Pyttsx3Engine(jobs=jobs),
        "espeak-ng": lambda: EspeakEngine(jobs=jobs),
        "festival": FestivalEngine,
        names.PICO: lambda: PicoEngine(jobs=jobs),
        names.NATURAL: lambda: HibariEngine(workers=jobs),
    }


class SpeechLibrary:
    """Speech audio for requests: from the cache, or synthesised in batches and cached."""

    def __init__(self, store: Store | None = None, *, jobs: int | None = None) -> None:
        """*jobs*: the cores synthesis may use; by default this build's share of them."""
        self.store = store or Store()
        self.cache = self.store.entries("speech")
        self.jobs = jobs = jobs or cores_per_build()
        self._factories = engines(jobs)
        self._engines: dict[tuple[str, tuple[str, ...]], Engine] = {}
        self._unsaved: dict[str, bytes] = {}  # made this run, but the cache could not keep it
        # found whole in the cache (or made) this run: a programme's sessions say the same
        # things many times, and ``audio`` verifies what it reads anyway
        self._present: set[str] = set()
        # who waits for each request's clip: every prefetch under way that asked for it (a
        # clip found gone while another prefetch runs is asked for again, on another thread)
        self._waiting: dict[SpeechRequest, list[Callable[[SpeechRequest, bytes], None]]] = {}
        self._waiting_lock = threading.Lock()

    def engine(self, name: str, options: tuple[str, ...] = ()) -> Engine:
        """The engine called ``name`` (commands: per argv template); EngineError if unknown."""
        slot = (name, options if names.is_command(name) else ())
        if slot not in self._engines:
            if names.is_command(name):
                self._engines[slot] = CommandEngine(name, options)
            elif name in self._factories:
                self._engines[slot] = self._factories[name]()
            else:
                raise EngineError(self._unknown_engine(name))
        return self._engines[slot]

    def register(self, name: str, factory: Callable[[], Engine]) -> None:
        """Adds an engine (or replaces a built-in one) for this library."""
        self._factories[name] = factory
        self._engines.pop((name, ()), None)

    def engine_names(self) -> list[str]:
        return [*self._factories, COMMAND]

    def _unknown_engine(self, name: str) -> str:
        close = difflib.get_close_matches(name, self.engine_names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown speech engine {name!r} (engines: {', '.join(self.engine_names())}){hint}"

    def problem(self, engine: str, voice: str | None, options: tuple[str, ...] = ()) -> str | None:
        """None when ``voice`` on ``engine`` is usable, else a one-line reason."""
        if not names.is_command(engine) and engine not in self._factories:
            return self._unknown_engine(engine)
        chosen = self.engine(engine, options)
        missing = chosen.problem()
        if missing or voice is None:
            return missing
        trouble = chosen.voice_problem(voice)
        if trouble is None:
            return None
        close = suggestion(chosen.voices(), voice)
        return f"{trouble}; did you mean {close!r}?" if close else trouble

    def default_voice(self, engine: str, language: str) -> str | None:
        """A sensible voice for a language code (``en`` → ``gmw/en-us`` on espeak)."""
        chosen = self.engine(engine)
        if chosen.problem():
            return None
        return pick_voice(chosen.voices(), language)

    def engine_for_voice(self, voice_id: str) -> str | None:
        """The first installed engine that offers ``voice_id``, if any."""
        for name in self._factories:
            chosen = self.engine(name)
            if chosen.problem() is None and chosen.voice_problem(voice_id) is None:
                return name
        return None

    def list_voices(
        self, language: str | None = None, engine: str | None = None
    ) -> list[VoiceInfo]:
        """The voices of every installed engine (or one), optionally for one language."""
        return self._gather(lambda e: e.voices(), language, engine)

    def fetchable_voices(
        self, language: str | None = None, engine: str | None = None
    ) -> list[VoiceInfo]:
        """Voices installed engines know but that are not on this machine yet."""
        return self._gather(lambda e: e.fetchable_voices(), language, engine)

    def _gather(self, listing: Callable[[Engine], list[VoiceInfo]], language: str | None,
                engine: str | None) -> list[VoiceInfo]:
        names = [engine] if engine else list(self._factories)
        found = []
        for name in names:
            chosen = self.engine(name)
            if chosen.problem() is None:
                found += listing(chosen)
        if language:
            lang = language.lower()
            found = [v for v in found if f"{v.language.lower()}-".startswith(f"{lang}-")]
        return found

    def natural_or_default(self) -> str:
        """The natural engine where it is usable, else the default engine."""
        return names.NATURAL if self.engine(names.NATURAL).problem() is None else names.DEFAULT

    def prefetch(self, requests: Iterable[SpeechRequest],
                 progress: Callable[[int, int], None] | None = None,
                 ready: Callable[[SpeechRequest], None] | None = None) -> None:
        """Synthesises what the cache lacks, batched by engine and (voice, rate).

        ``progress`` hears (clips made, clips to make) as they are made; ``ready`` hears
        of each request once its clip is in the cache (on any of the engine's threads),
        so its user can work on it while the engine speaks the rest.
        """
        keyed = {self.key(r): r for r in requests}
        missing = {key: r for key, r in keyed.items()
                   if key not in self._present and not self._kept(key)}
        self._present.update(k for k in keyed if k not in missing)
        made, lock = 0, threading.Lock()  # engines may make clips on several threads
        keys = {r: key for key, r in missing.items()}

        def kept(request: SpeechRequest, data: bytes) -> None:
            nonlocal made
            key = keys[request]
            self._store(key, request, data)
            with lock:
                self._present.add(key)
                made += 1
                if progress is not None:
                    progress(made, len(missing))
            if ready is not None:
                ready(request)

        if missing and progress is not None:
            progress(0, len(missing))
        batches: dict[tuple[str, tuple[str, ...]], list[tuple[str, SpeechRequest]]] = {}
        for key, r in missing.items():
            batches.setdefault((r.engine, r.options), []).append((key, r))
        with self._waiting_lock:
            for r in keys:
                self._waiting.setdefault(r, []).append(kept)
        try:
            for (name, options), batch in batches.items():
                batch.sort(key=lambda item: (item[1].voice or "", item[1].rate or 0.0))
                self._check_voices(name, options, {r.voice for _, r in batch})
                engine = self.engine(name, options)
                engine.on_clip = self._clip_made  # the same for every prefetch: no race
                clips = engine.synthesize([r for _, r in batch])
                for (key, r), data in zip(batch, clips, strict=True):
                    if key not in self._present:  # an engine that did not say as it went
                        kept(r, data)
        finally:
            stop_early()  # a worker started before the build knew: the clips are all made
            with self._waiting_lock:
                for r in keys:
                    self._waiting[r].remove(kept)
                    if not self._waiting[r]:
                        del self._waiting[r]

    @contextlib.contextmanager
    def speaking(self, requests: Iterable[SpeechRequest]) -> Iterator[None]:
        """Within, the engines speak what the cache lacks of *requests* (``prefetch``, on a
        thread of its own: engines speak in their own processes), so the caller can ready
        what it does next meanwhile; once out, every clip is in the cache."""
        with ThreadPoolExecutor(1, thread_name_prefix="speaking") as pool:
            spoken = pool.submit(self.prefetch, list(requests))
            try:
                yield
                spoken.result()
            except BaseException:
                kill_all()  # an interrupt or the caller's failure: no engine speaks on
                raise

    def _clip_made(self, request: SpeechRequest, data: bytes) -> None:
        """An engine made *request*'s clip: every prefetch waiting for it hears of it."""
        with self._waiting_lock:
            waiting = list(self._waiting.get(request, ()))
        for kept in waiting:
            kept(request, data)

    def audio(self, request: SpeechRequest) -> tuple[np.ndarray, int]:
        """Float32 mono samples in [-1, 1] and the engine's sample rate; untrimmed."""
        key = self.key(request)
        data = self._stored(key)
        if data is None:
            self._present.discard(key)  # gone or damaged since it was found
            self.prefetch([request])
            data = self._stored(key)
        if data is None:  # the cache lost it between writing and reading: make it again
            made = self.engine(request.engine, request.options).synthesize([request])[0]
            data = self._checked(request, made)
        return wav.decode(data)

    def key(self, request: SpeechRequest) -> str:
        """The speech cache's key: everything that changes the clip's audio."""
        return cache_key(request, self.engine(request.engine, request.options).version())

    def _stored(self, key: str) -> bytes | None:
        return self._unsaved.get(key) or self.cache.get(key)

    def _kept(self, key: str) -> bool:
        """Whether the clip is in the cache, by its entry's header and size alone: a warm
        build reads none of its speech (its prepared clips say all it needs), and a clip
        damaged in a way only its checksum shows is made again when it is read (``audio``)."""
        return key in self._unsaved or self.cache.described(key) is not None

    def _check_voices(self, name: str, options: tuple[str, ...], voices: set[str | None]) -> None:
        for voice in sorted(voices, key=str):
            reason = self.problem(name, voice, options)
            if reason:
                raise EngineError(reason)

    def _checked(self, request: SpeechRequest, data: bytes) -> bytes:
        """*data*, when it plausibly holds speech; else EngineError."""
        reason = wav.speech_problem(data)
        if reason:
            raise EngineError(
                f"the {request.engine} engine made no usable audio for "
                f"{shorten(request.text)!r}: {reason}"
            )
        return data

    def _store(self, key: str, request: SpeechRequest, data: bytes) -> None:
        self._checked(request, data)
        try:
            self.cache.put(key, data)
        except OSError:
            self._unsaved[key] = data  # an unwritable cache slows builds but must not stop them
