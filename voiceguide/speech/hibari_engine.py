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

import hashlib
import importlib.metadata
import importlib.util
import json
import shlex
import sys
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from voiceguide import scratch
from voiceguide.errors import EngineError
from voiceguide.speech import wav
from voiceguide.speech.base import Engine, VoiceInfo, shorten
from voiceguide.speech.request import SpeechRequest
from voiceguide.speech.workerproc import WorkerFailure, WorkerProcess, kill_all, python_module

PACKAGE = "hibari-tts"
INSTALL = f"pip install {PACKAGE}"
DEFAULT_VOICE = "heart"
NATURAL_WPM = 150.0  # measured: heart speaks about 150 words per minute at speed 1.0
MIN_SPEED, MAX_SPEED = 0.5, 2.0  # hibari's own range
WORKER = python_module("voiceguide.speech._hibari_worker")


def speed_for(rate: float | None) -> float:
    """hibari's speed factor for a rate in words per minute, within hibari's range."""
    if rate is None:
        return 1.0
    return round(min(MAX_SPEED, max(MIN_SPEED, rate / NATURAL_WPM)), 4)


def _registry() -> dict[str, dict[str, Any]]:
    """hibari's voice registry, read from its package data without importing it."""
    spec = importlib.util.find_spec("hibari")
    if spec is None or spec.origin is None:
        return {}
    path = Path(spec.origin).parent / "assets" / "voices.json"
    try:
        registry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return registry if isinstance(registry, dict) else {}


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


class HibariEngine(Engine):
    """Clips through one worker process that keeps each voice's model loaded."""

    name = "hibari"

    def __init__(self, timeout_s: float = 120.0, command: tuple[str, ...] | None = None,
                 workers: int = 1) -> None:
        self.timeout_s = timeout_s
        self.command = command or WORKER  # tests swap in a broken worker
        self.workers = max(1, workers)

    @cached_property
    def _registry(self) -> dict[str, dict[str, Any]]:
        return _registry()

    @cached_property
    def _models(self) -> dict[str, tuple[Path, str]]:
        """Voice → (model file, its sha256), for the voices whose model is on disk and whole."""
        from hibari.voices import voice_path

        found = {}
        for name, entry in self._registry.items():
            try:
                path = Path(voice_path(name, download_missing=False))
            except (FileNotFoundError, ValueError):
                continue
            digest = _sha256(path)
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
        return (f"hibari {importlib.metadata.version(PACKAGE)}; onnxruntime "
                f"{importlib.metadata.version('onnxruntime')}; models {models}; seed 0, 1 thread")

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
        workers = min(self.workers, len(requests))
        voices = sorted({r.voice or DEFAULT_VOICE for r in requests})
        args = ["--workers", str(workers), "--voices", ",".join(voices)]
        try:
            with scratch.folder() as tmp, \
                    WorkerProcess(args, self.timeout_s, self.command) as worker:
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
    def _failed(request: SpeechRequest, failure: WorkerFailure) -> EngineError:
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
