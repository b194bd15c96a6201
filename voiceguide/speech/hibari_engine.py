"""The ``hibari`` engine: a small neural voice that ships inside its Python package.

hibari (PyPI ``hibari-tts``, Apache-2.0) is an ONNX voice distilled from
Kokoro-82M. Its voice ``heart`` (American English) is in the wheel; its other
voices are downloaded on first use by hibari itself, which voiceguide never
does: only voices already on the machine are listed and used, and any other
is a clear error saying how to get it.

One worker process per batch loads each model once and speaks every clip
(``_hibari_worker``) on up to ``workers`` cores, each clip with one thread and
a fixed seed, so clips are byte-identical whatever the cache state, the order,
the speaker that made them or the machine's cores.
``rate`` (words per minute) maps onto hibari's speed factor.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shlex
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from voiceguide import engines, scratch
from voiceguide.errors import CacheError, EngineError, memory_limit_mb
from voiceguide.script.model import Script
from voiceguide.speech import wav
from voiceguide.speech.base import Engine, VoiceInfo, shorten
from voiceguide.speech.hibari_data import PACKAGE, assets, registry
from voiceguide.speech.request import SpeechRequest
from voiceguide.speech.workerproc import WorkerFailure, WorkerProcess, kill_all, python_module
from voiceguide.store import Entries, Store, file_digest
from voiceguide.tools import installed_version

INSTALL = f"pip install {PACKAGE}"
DEFAULT_VOICE = "heart"
NATURAL_WPM = 150.0  # measured: heart speaks about 150 words per minute at speed 1.0
MIN_SPEED, MAX_SPEED = 0.5, 2.0  # hibari's own range
WORKER = python_module("voiceguide.speech._hibari_worker")
TIMEOUT_S = 120.0  # for a clip; the first also waits for the worker to load
# The least address space (ulimit -v) the natural voice is started under. Measured, cold,
# two cores: the worker peaks at 261 MB and each speaker at 238 MB; under 256 MB it ran
# out 11 times in 12 and once hung, under 400 MB it ran out 2 times in 6, and from 450 MB
# it never did (30 builds). Below this the build says so before it starts the worker.
MIN_MEMORY_MB = 512

_early: tuple[tuple[str, ...], WorkerProcess] | None = None  # (its voices, the worker)


def start_early(workers: int) -> None:
    """Starts the natural voice's worker now, before the command knows whether it will
    speak: it loads (0.2 s) while the command reads its script and the cache, and the
    first batch that can use it takes it (``HibariEngine.synthesize``); else it is
    stopped once the clips are all found (``stop_early``), or killed at exit. Only where
    a core is left for it (*workers*, the cores the build may use, is two or more): on
    one core it would slow the build that finds every clip in the cache."""
    global _early
    if _early is not None or workers < 2 or importlib.util.find_spec("hibari") is None \
            or memory_short() is not None:
        return
    voices = (DEFAULT_VOICE,)
    try:
        _early = voices, WorkerProcess(_worker_args(workers, voices), TIMEOUT_S, WORKER)
    except WorkerFailure:
        return  # it is started again when a batch needs it, and fails there, told
    atexit.register(stop_early)


def memory_short() -> str | None:
    """Why the natural voice cannot start under this process's memory limit, or None."""
    limit = memory_limit_mb()
    if limit is None or limit >= MIN_MEMORY_MB:
        return None
    return (f"the natural voice needs at least {MIN_MEMORY_MB} MB of memory, and this command "
            f"runs under a limit of {limit} MB (ulimit -v): raise the limit, or choose "
            "another engine with --engine")


def started_early() -> bool:
    """Whether ``start_early`` started a worker that no batch has taken yet."""
    return _early is not None


def may_speak(script: Path) -> bool:
    """Whether the natural voice is likely to speak in *script*, from a quick read of its
    YAML (libyaml's, where PyYAML has it): one of its profiles names it, or its default
    voice is one of its voices, or it has no default voice and is in a language the
    natural voice speaks. Only a guess, for ``start_early``: a wrong one costs a worker
    started for nothing, or started when the build asks for it; the script is read and
    checked properly by the build."""
    import yaml

    from voiceguide.script.source import read_input

    try:
        top = yaml.load(read_input(script), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception:  # noqa: BLE001 -- unreadable or invalid: the build will say so
        return False
    if not isinstance(top, dict):
        return False
    profiles = top.get("voices")
    chosen = {name: profile.get("engine") or engines.DEFAULT
              for name, profile in (profiles if isinstance(profiles, dict) else {}).items()
              if isinstance(profile, dict)}
    if engines.NATURAL in chosen.values():
        return True
    default = top.get("voice")
    if isinstance(default, str):
        return default not in chosen and default in registry()
    language = str(top.get("language") or Script.language).split("-")[0].lower()
    return language in engines.SPEAKS[engines.NATURAL]


def stop_early() -> None:
    """Ends the worker ``start_early`` started, unless a batch has taken it."""
    global _early
    if _early is not None:
        _early[1].close()
        _early = None


def _taken_early(voices: Sequence[str]) -> WorkerProcess | None:
    """The early worker, when it has loaded every voice in *voices*; it is the caller's."""
    global _early
    if _early is None or not set(voices) <= set(_early[0]):
        return None
    worker, _early = _early[1], None
    return worker


def _worker_args(workers: int, voices: Sequence[str]) -> list[str]:
    return ["--workers", str(workers), "--voices", ",".join(voices)]


def speed_for(rate: float | None) -> float:
    """hibari's speed factor for a rate in words per minute, within hibari's range."""
    if rate is None:
        return 1.0
    return round(min(MAX_SPEED, max(MIN_SPEED, rate / NATURAL_WPM)), 4)


PATHS_TESTED = ("0.2.",)  # hibari's versions whose voice_path is _voice_path's rule (tested)


def _voice_path(name: str, entry: dict[str, Any]) -> Path:
    """Where hibari keeps voice *name*'s model, as ``hibari.voices.voice_path`` says without
    a download (FileNotFoundError where it is not on the machine), for the versions of
    ``PATHS_TESTED``; else hibari is asked. Importing hibari's voices imports urllib's
    HTTP stack, for its downloads: 0.02 s of every command that lists the voices."""
    folder = assets()
    if folder is None or not installed_version(PACKAGE).startswith(PATHS_TESTED):
        from hibari.voices import voice_path

        return Path(voice_path(name, download_missing=False))
    if entry.get("bundled"):
        return folder / entry["file"]
    home = os.environ.get("HIBARI_HOME")
    if not home:
        if sys.platform == "win32":
            base = os.environ.get("LOCALAPPDATA") or os.path.join(
                os.path.expanduser("~"), "AppData", "Local")
        elif sys.platform == "darwin":
            base = os.path.join(os.path.expanduser("~"), "Library", "Caches")
        else:
            base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
                os.path.expanduser("~"), ".cache")
        home = os.path.join(base, "hibari")
    dest = Path(home, entry["file"])
    if not dest.exists():
        raise FileNotFoundError(dest)
    return dest


class HibariEngine(Engine):
    """Clips through one worker process that keeps each voice's model loaded."""

    name = "hibari"

    def __init__(self, timeout_s: float = TIMEOUT_S, command: tuple[str, ...] | None = None,
                 workers: int = 1) -> None:
        self.timeout_s = timeout_s
        self.command = command or WORKER  # tests swap in a broken worker
        self.workers = max(1, workers)

    @cached_property
    def _memo(self) -> Entries | None:
        """Where the models' digests are kept between runs (none: hashed every run)."""
        try:
            return Store().entries("voices")
        except CacheError:
            return None

    @cached_property
    def _registry(self) -> dict[str, dict[str, Any]]:
        return registry()

    @cached_property
    def _models(self) -> dict[str, tuple[Path, str]]:
        """Voice → (model file, its sha256), for the voices whose model is on disk and whole."""
        found = {}
        for name, entry in self._registry.items():
            try:
                path = _voice_path(name, entry)
            except (FileNotFoundError, ValueError, KeyError, TypeError):
                continue
            digest = file_digest(path, self._memo)
            if digest is not None and digest == entry.get("sha256"):
                found[name] = (path, digest)
        return found

    @cached_property
    def _runtime(self) -> bool:
        return importlib.util.find_spec("onnxruntime") is not None

    def problem(self) -> str | None:
        if not self._runtime or not self._registry:
            return f"the hibari engine needs the {PACKAGE} package: {INSTALL}"
        if DEFAULT_VOICE not in self._models:
            return (f"the hibari engine's model is missing or damaged: reinstall it "
                    f"({INSTALL} --force-reinstall)")
        return None

    @cached_property
    def _version(self) -> str:
        models = "; ".join(f"{name} {digest[:16]}" for name, (_, digest) in
                           sorted(self._models.items()))
        return (f"hibari {installed_version(PACKAGE)}; onnxruntime "
                f"{installed_version('onnxruntime')}; models {models}; seed 0, 1 thread")

    def version(self) -> str:
        return self._version

    def voices(self) -> list[VoiceInfo]:
        return [self._info(name) for name in self._registry if name in self._models]

    def fetchable_voices(self) -> list[VoiceInfo]:
        return [self._info(name) for name in self._registry if name not in self._models]

    def _info(self, name: str) -> VoiceInfo:
        entry = self._registry[name]
        return VoiceInfo(self.name, name, str(entry.get("language", "en")).lower(),
                         f"{name.capitalize()} ({entry.get('accent', 'English')})",
                         entry.get("gender"))

    def voice_problem(self, voice_id: str) -> str | None:
        if voice_id in self._models:
            return None
        if voice_id in self._registry:
            # hibari's own command may not be on PATH (pipx keeps it inside voiceguide's
            # environment): its module, run by the interpreter voiceguide runs on, always is
            fetch = shlex.join([sys.executable, "-m", "hibari.cli", "Hello.", "--voice",
                                voice_id, "-o", "/tmp/hello.wav"])
            return (f"the hibari voice {voice_id!r} is not on this machine and voiceguide never "
                    f"downloads voices; fetch it once with: {fetch}")
        return f"the hibari engine has no voice {voice_id!r}"

    def synthesize(self, requests: Sequence[SpeechRequest]) -> list[bytes]:
        problem = self.problem()
        if problem:
            raise EngineError(problem)
        if not requests:
            return []
        short = memory_short()
        if short is not None:
            raise EngineError(short)
        workers = min(self.workers, len(requests))
        voices = sorted({r.voice or DEFAULT_VOICE for r in requests})
        try:
            early = _taken_early(voices) if self.command == WORKER else None
            with scratch.folder() as tmp, early or WorkerProcess(
                    _worker_args(workers, voices), self.timeout_s, self.command) as worker:
                return self._spoken(worker, requests, Path(tmp), 2 * workers)
        except BaseException:
            kill_all()  # Ctrl-C or SIGTERM: no worker outlives the build
            raise

    def _spoken(self, worker: WorkerProcess, requests: Sequence[SpeechRequest], tmp: Path,
                window: int) -> list[bytes]:
        """Every clip, keeping up to *window* jobs with the worker so no speaker waits (and
        neither pipe fills); answers come as clips are done, each naming its job."""
        made: dict[int, bytes] = {}
        sent = 0
        while len(made) < len(requests):
            while sent < len(requests) and sent - len(made) < window:
                self._send(worker, sent, requests[sent], tmp)
                sent += 1
            waiting = min(n for n in range(sent) if n not in made)
            answer = self._answer(worker, requests[waiting])
            n = answer.get("id")
            n = waiting if n is None else n  # a worker answering in order may leave it out
            if not isinstance(n, int) or not 0 <= n < sent or n in made:
                raise EngineError(f"hibari answered for no clip it was given ({answer!r:.80}); "
                                  "try again, or choose another engine with --engine")
            made[n] = self._clip(requests[n], answer, tmp / f"{n}.wav")
        return [made[n] for n in range(len(requests))]

    def _send(self, worker: WorkerProcess, n: int, request: SpeechRequest, tmp: Path) -> None:
        job = {"id": n, "text": request.text, "voice": request.voice or DEFAULT_VOICE,
               "speed": speed_for(request.rate), "output": str(tmp / f"{n}.wav")}
        try:
            worker.send(job)
        except WorkerFailure as failure:
            raise self._failed(request, failure) from failure

    def _answer(self, worker: WorkerProcess, waiting: SpeechRequest) -> dict[str, Any]:
        try:
            answer = worker.read_json(shorten(waiting.text))
        except WorkerFailure as failure:
            raise self._failed(waiting, failure) from failure
        if not isinstance(answer, dict):
            raise EngineError(f"hibari gave a nonsense answer ({answer!r:.80}); "
                              "try again, or choose another engine with --engine")
        return answer

    @staticmethod
    def _failed(request: SpeechRequest, failure: WorkerFailure) -> EngineError | MemoryError:
        """What the user hears of a worker that failed: under a memory limit, a worker that
        stopped ran out of memory (a thread, a library, the model could not be mapped; it
        may not live to say so), which is the machine's one line, not the clip's."""
        if failure.stopped and memory_limit_mb() is not None:
            return MemoryError(f"the natural voice's worker stopped: {failure}")
        return EngineError(f"hibari could not speak {shorten(request.text)!r} ({failure}); "
                           "try again, or choose another engine with --engine")

    def _clip(self, request: SpeechRequest, answer: dict[str, Any], output: Path) -> bytes:
        if answer.get("memory"):
            raise MemoryError(answer["error"])
        if "error" in answer:
            raise EngineError(f"hibari could not speak {shorten(request.text)!r}: "
                              f"{answer['error']}")
        try:
            data = output.read_bytes()
        except OSError as err:
            raise EngineError(f"hibari wrote no audio for {shorten(request.text)!r}") from err
        reason = wav.speech_problem(data)
        if reason:
            raise EngineError(f"hibari made no usable audio for {shorten(request.text)!r}: "
                              f"{reason}")
        self.clip_done(request, data)
        return data
