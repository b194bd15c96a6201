"""The ``espeak-ng`` engine: the espeak-ng program, one process per clip.

Deterministic bytes, and a fallback wherever the pyttsx3 binding fails.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

from voiceguide import scratch, tools
from voiceguide.errors import EngineError
from voiceguide.speech import espeak_voices
from voiceguide.speech.base import Engine, VoiceInfo, shorten
from voiceguide.speech.request import SpeechRequest

INSTALL = "sudo apt-get install espeak-ng"
TIMEOUT_S = 60


class EspeakEngine(Engine):
    """Runs ``espeak-ng -v VOICE -s RATE -w FILE`` with the text on stdin (never a shell)."""

    name = "espeak-ng"

    def __init__(self, jobs: int = 2) -> None:
        self.jobs = max(1, jobs)

    @cached_property
    def _exe(self) -> str | None:
        return shutil.which("espeak-ng")

    def problem(self) -> str | None:
        if self._exe is None:
            return f"the espeak-ng engine needs the espeak-ng program: {INSTALL}"
        return None

    @cached_property
    def _version(self) -> str:
        return tools.first_line([self._require(), "--version"])

    def version(self) -> str:
        return self._version

    @cached_property
    def _voices(self) -> list[VoiceInfo]:
        out = tools.run([self._require(), "--voices"], doing="listing its voices",
                        timeout=tools.PROBE_TIMEOUT_S)
        return espeak_voices.parse_voice_table(self.name, out.stdout.decode("utf-8", "replace"))

    def voices(self) -> list[VoiceInfo]:
        return list(self._voices)

    def voice_problem(self, voice_id: str) -> str | None:
        return espeak_voices.voice_problem(self.name, self._voices, voice_id)

    def synthesize(self, requests: Sequence[SpeechRequest]) -> list[bytes]:
        with ThreadPoolExecutor(self.jobs) as pool:
            return list(pool.map(self._one, requests))

    def _one(self, request: SpeechRequest) -> bytes:
        with scratch.folder() as tmp:
            out = Path(tmp) / "clip.wav"
            argv = [self._require(), "-w", str(out)]
            if request.voice:
                argv += ["-v", request.voice]
            if request.rate:
                argv += ["-s", str(round(request.rate))]
            tools.run(argv, doing=f"on {shorten(request.text)!r}", timeout=TIMEOUT_S,
                      stdin=request.text.encode())
            if not out.exists():
                raise EngineError(f"espeak-ng wrote no audio for {shorten(request.text)!r}")
            data = out.read_bytes()
        self.clip_done(request, data)
        return data

    def _require(self) -> str:
        if self._exe is None:
            raise EngineError(self.problem() or "espeak-ng is missing")
        return self._exe
