"""The ``command`` engine: any TTS program the user already has (Piper, macOS ``say``, …).

``SpeechRequest.options`` is the argv template. Tokens: ``{text}`` (the text as
an argument), ``{text_file}`` (a UTF-8 file holding it), ``{output}`` (the WAV
to write), ``{voice}``, ``{rate}``. Without ``{text}`` or ``{text_file}`` the
text goes to stdin. Never through a shell.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

from voiceguide import scratch, tools
from voiceguide.errors import EngineError
from voiceguide.speech.base import Engine, VoiceInfo, shorten
from voiceguide.speech.request import SpeechRequest

TIMEOUT_S = 60
TOKENS = ("{text}", "{text_file}", "{output}", "{voice}", "{rate}")


class CommandEngine(Engine):
    """One engine per argv template; one process per clip."""

    def __init__(self, name: str, template: Sequence[str]) -> None:
        self.name = name
        self.template = tuple(template)

    def _program(self) -> str | None:
        return shutil.which(self.template[0]) if self.template else None

    def problem(self) -> str | None:
        if not self.template:
            return f"the {self.name} engine needs a command such as: piper -m M -f {{output}}"
        if not any("{output}" in arg for arg in self.template):
            return f"the {self.name} engine's command must write its WAV to {{output}}"
        if self._program() is None:
            program = self.template[0]
            return f"the {self.name} engine's program {program!r} is not installed or not on PATH"
        return None

    def version(self) -> str:
        """The template and the program's identity: a new program makes new audio."""
        program = self._program()
        stat = Path(program).stat() if program else None
        identity = f"{program} {stat.st_mtime_ns} {stat.st_size}" if stat else "missing"
        return hashlib.sha256("\0".join((*self.template, identity)).encode()).hexdigest()

    def voices(self) -> list[VoiceInfo]:
        return []  # the program alone knows its voices

    def voice_problem(self, voice_id: str) -> str | None:
        return None

    def synthesize(self, requests: Sequence[SpeechRequest]) -> list[bytes]:
        problem = self.problem()
        if problem:
            raise EngineError(problem)
        return [self._one(r) for r in requests]

    def _one(self, request: SpeechRequest) -> bytes:
        with scratch.folder() as tmp:
            output, text_file = Path(tmp) / "clip.wav", Path(tmp) / "text.txt"
            text_file.write_text(request.text, encoding="utf-8")
            values = {
                "{text}": request.text,
                "{text_file}": str(text_file),
                "{output}": str(output),
                "{voice}": request.voice or "",
                "{rate}": f"{request.rate:g}" if request.rate else "",
            }
            argv = [fill(arg, values) for arg in self.template]
            uses_text = any(t in arg for arg in self.template for t in ("{text}", "{text_file}"))
            stdin = None if uses_text else request.text.encode()
            self._run(argv, stdin, request.text)
            if not output.exists():
                raise EngineError(
                    f"{self.template[0]} wrote no audio for {shorten(request.text)!r}"
                )
            data = output.read_bytes()
        self.clip_done(request, data)
        return data

    def _run(self, argv: list[str], stdin: bytes | None, text: str) -> None:
        tools.run(argv, doing=f"on {shorten(text)!r}", timeout=TIMEOUT_S, stdin=stdin)


def fill(arg: str, values: dict[str, str]) -> str:
    """One argv item with its tokens replaced; other braces stay as they are."""
    for token, value in values.items():
        arg = arg.replace(token, value)
    return arg
