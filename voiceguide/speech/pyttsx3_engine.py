"""The ``pyttsx3`` engine, voiceguide's default: pyttsx3's espeak-ng binding.

espeak-ng's output depends on what it spoke before, so each clip is spoken
in synchronous mode by a freshly forked child of a worker process
(``_worker.py``) that has loaded the binding once. A worker serves one
(voice, rate); up to ``jobs`` workers run at once. pyttsx3 is never
imported in this process.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import math
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

from voiceguide import scratch
from voiceguide.errors import EngineError
from voiceguide.speech import espeak_voices, wav
from voiceguide.speech.base import Engine, VoiceInfo, shorten
from voiceguide.speech.request import SpeechRequest
from voiceguide.speech.workerproc import WorkerFailure, WorkerProcess, kill_all
from voiceguide.tools import installed_version

INSTALL = "pip install pyttsx3 and sudo apt-get install espeak-ng"
MIN_CHUNK = 4  # clips per worker below which another worker costs more than it saves
ATTEMPTS = 3  # espeak-ng now and then writes an empty clip; a fresh try speaks
# Part of the engine version: clips made the older way differ and are made again.
CLIP_METHOD = "synchronous espeak-ng per forked clip"
Setting = tuple[str | None, int | None]


class Chunk(NamedTuple):
    """Clips one worker renders: the same setting, their places in the batch, their requests."""

    setting: Setting
    indexes: list[int]
    requests: list[SpeechRequest]


class Pyttsx3Engine(Engine):
    """Clips grouped by (voice, rate), one worker process per group or chunk of one."""

    name = "pyttsx3"

    def __init__(self, jobs: int = 2, timeout_s: float = 60.0) -> None:
        self.jobs = max(1, jobs)
        self.timeout_s = timeout_s

    def problem(self) -> str | None:
        if importlib.util.find_spec("pyttsx3") is None:
            return f"the pyttsx3 engine needs the pyttsx3 package and espeak-ng: {INSTALL}"
        if sys.platform.startswith("linux") and self._library is None:
            return f"the pyttsx3 engine needs espeak-ng's library: {INSTALL}"
        return None

    @cached_property
    def _library(self) -> str | None:
        return ctypes.util.find_library("espeak-ng")  # it may run ldconfig: once is enough

    @cached_property
    def _version(self) -> str:
        lib = self._library or "no espeak-ng library"
        return f"pyttsx3 {installed_version('pyttsx3')}; {lib}; {CLIP_METHOD}"

    def version(self) -> str:
        return self._version

    @cached_property
    def _voices(self) -> list[VoiceInfo]:
        self._require()
        try:
            with WorkerProcess(["--list-voices"], self.timeout_s) as worker:
                listed = worker.read_json("listing the voices")
        except WorkerFailure as failure:
            raise EngineError(f"pyttsx3 could not list its voices ({failure})") from failure
        variants = espeak_voices.variants()
        return [
            VoiceInfo(
                self.name,
                v["id"],
                v["language"],
                v["name"],
                (v["gender"] or "").lower() or None,
                variants,
            )
            for v in listed
        ]

    def voices(self) -> list[VoiceInfo]:
        return list(self._voices)

    def voice_problem(self, voice_id: str) -> str | None:
        return espeak_voices.voice_problem(self.name, self._voices, voice_id)

    def synthesize(self, requests: Sequence[SpeechRequest]) -> list[bytes]:
        self._require()
        results: list[bytes] = [b""] * len(requests)
        cancelled = threading.Event()
        pool = ThreadPoolExecutor(self.jobs)
        try:
            chunks = self._chunks(requests)
            for indexes, clips in pool.map(lambda c: self._render_chunk(c, cancelled), chunks):
                for i, clip in zip(indexes, clips, strict=True):
                    results[i] = clip
        except BaseException:
            cancelled.set()  # Ctrl-C, SIGTERM or a failed clip: stop the other workers now
            kill_all()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return results

    def _chunks(self, requests: Sequence[SpeechRequest]) -> list[Chunk]:
        """Groups by setting, split so that every worker has something to do."""
        groups: dict[Setting, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault((r.voice, round(r.rate) if r.rate else None), []).append(i)
        size = max(MIN_CHUNK, math.ceil(len(requests) / self.jobs))
        return [
            Chunk(setting, part, [requests[i] for i in part])
            for setting, indexes in groups.items()
            for part in (indexes[k : k + size] for k in range(0, len(indexes), size))
        ]

    def _render_chunk(
        self, chunk: Chunk, cancelled: threading.Event
    ) -> tuple[list[int], list[bytes]]:
        clips = []
        with scratch.folder() as tmp:
            session = _Session(chunk.setting, self.timeout_s, cancelled)
            try:
                for n, request in enumerate(chunk.requests):
                    clips.append(session.render(request.text, Path(tmp) / f"{n}.wav"))
                    self.clip_done(request, clips[-1])
            finally:
                session.close()
        return chunk.indexes, clips

    def _require(self) -> None:
        problem = self.problem()
        if problem:
            raise EngineError(problem)


class _Cancelled(Exception):
    """Another clip failed or the build was interrupted: stop without retrying."""


class _Session:
    """One worker for one setting; restarted when a clip fails or comes out empty."""

    def __init__(self, setting: Setting, timeout_s: float,
                 cancelled: threading.Event | None = None) -> None:
        voice, rate = setting
        self.args = (["--voice", voice] if voice else []) + (["--rate", str(rate)] if rate else [])
        self.timeout_s = timeout_s
        self.cancelled = cancelled or threading.Event()
        self.worker: WorkerProcess | None = None

    def render(self, text: str, output: Path) -> bytes:
        reason = "not tried"
        for _ in range(ATTEMPTS):
            if self.cancelled.is_set():
                raise _Cancelled()
            clip = self._attempt(text, output)
            if isinstance(clip, bytes):
                return clip
            reason = clip
            self.close()  # a fresh worker for the retry
        raise EngineError(
            f"pyttsx3 could not speak {shorten(text)!r} ({reason}); "
            "try again, or use the espeak-ng engine for this voice"
        )

    def _attempt(self, text: str, output: Path) -> bytes | str:
        """The clip's WAV bytes when it came out plausible, else why not."""
        output.unlink(missing_ok=True)
        try:
            if self.worker is None:
                self.worker = WorkerProcess(self.args, self.timeout_s)
            self.worker.send({"text": text, "output": str(output)})
            answer = self.worker.read_json(shorten(text))
        except WorkerFailure as failure:
            self.close()
            return str(failure)
        if "error" in answer:
            return str(answer["error"])
        if not output.exists():
            return "no audio file was written"
        data = output.read_bytes()
        return wav.speech_problem(data) or data

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None
