"""The ``festival`` engine: Debian's festival, e.g. with festvox-us-slt-hts.

A festival process costs ~0.4 s and ~340 MB to start, so one process renders a
whole batch from one Scheme script (``utt.save.wave`` per clip).

Rate: festival 2.5's HTS voices ignore ``Duration_Stretch``, and their ``-r``
engine option renders the wrong utterance, so festival speaks at its natural
pace and voiceguide changes the tempo afterwards with ffmpeg's ``atempo``
(pitch kept): ``tempo = rate / NATURAL_WPM``. No rate, or 175 wpm, leaves the
audio untouched.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from voiceguide import scratch, tools
from voiceguide.errors import EngineError
from voiceguide.speech.base import Engine, VoiceInfo, shorten
from voiceguide.speech.request import SpeechRequest

INSTALL = "sudo apt-get install festival festvox-us-slt-hts"
VOICE_DIRS = (Path("/usr/share/festival/voices"), Path("/usr/local/share/festival/voices"))
LANGUAGE_DIRS = {"us": "en-us", "english": "en-gb", "spanish": "es", "welsh": "cy"}
NATURAL_WPM = 175.0  # measured: cmu_us_slt_arctic_hts speaks ~177 words per minute
TIMEOUT_PER_CLIP_S = 60
VOICE_ID = re.compile(r"[A-Za-z0-9_]+")  # it becomes part of a Scheme call


def scheme_string(text: str) -> str:
    """``text`` as a Scheme string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def atempo_chain(tempo: float) -> str:
    """ffmpeg's atempo takes 0.5..100 per stage, so slow tempos chain stages."""
    stages = []
    while tempo < 0.5:
        stages.append("atempo=0.5")
        tempo /= 0.5
    stages.append(f"atempo={tempo:.6f}")
    return ",".join(stages)


class FestivalEngine(Engine):
    """All clips of a batch in one festival process; tempo adjusted by ffmpeg."""

    name = "festival"

    @cached_property
    def _exe(self) -> str | None:
        return shutil.which("festival")

    def problem(self) -> str | None:
        if self._exe is None or not self._voices:
            return f"the festival engine needs Debian's festival and festvox-us-slt-hts: {INSTALL}"
        return None

    @cached_property
    def _version(self) -> str:
        ffmpeg = shutil.which("ffmpeg")
        tempo_line = tools.first_line([ffmpeg, "-version"]) if ffmpeg else "no ffmpeg"
        return f"{tools.first_line([self._require(), '--version'])}; tempo by {tempo_line}"

    def version(self) -> str:
        return self._version

    @cached_property
    def _voices(self) -> list[VoiceInfo]:
        if self._exe is None:
            return []
        with scratch.folder() as tmp:
            script = Path(tmp) / "voices.scm"
            script.write_text("(print (voice.list))\n")
            out = tools.run([self._exe, "-b", str(script)], doing="listing its voices",
                            timeout=tools.PROBE_TIMEOUT_S, check=False)
        ids = out.stdout.decode("utf-8", "replace").strip().strip("()").split()
        return [VoiceInfo(self.name, i, self._language(i), i.replace("_", " ")) for i in ids]

    @staticmethod
    def _language(voice_id: str) -> str:
        for root in VOICE_DIRS:
            for found in root.glob(f"*/{voice_id}"):
                return LANGUAGE_DIRS.get(found.parent.name, found.parent.name)
        return "unknown"

    def voices(self) -> list[VoiceInfo]:
        return list(self._voices)

    def synthesize(self, requests: Sequence[SpeechRequest]) -> list[bytes]:
        if not requests:
            return []
        with scratch.folder() as tmp:
            outputs = [Path(tmp) / f"{n}.wav" for n in range(len(requests))]
            self._run_festival(requests, outputs, Path(tmp) / "batch.scm")
            made = []
            for request, output in zip(requests, outputs, strict=True):
                made.append(self._retime(request, output))
                self.clip_done(request, made[-1])
            return made

    def _run_festival(
        self, requests: Sequence[SpeechRequest], outputs: list[Path], script: Path
    ) -> None:
        lines = []
        for r, out in zip(requests, outputs, strict=True):
            voice = r.voice or self._voices[0].id
            if not VOICE_ID.fullmatch(voice):
                raise EngineError(f"the festival engine has no voice {voice!r}")
            lines.append(f"(voice_{voice})")
            lines.append(
                f"(utt.save.wave (utt.synth (Utterance Text {scheme_string(r.text)})) "
                f"{scheme_string(str(out))} 'riff)"
            )
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        done = tools.run([self._require(), "-b", str(script)], check=False,
                         doing=f"on {len(requests)} clips",
                         timeout=TIMEOUT_PER_CLIP_S * len(requests))
        missing = next(
            (r for r, out in zip(requests, outputs, strict=True) if not out.exists()), None
        )
        if missing is not None:
            raise EngineError(f"festival failed on {shorten(missing.text)!r}: "
                              f"{done.said or 'no output'}")

    def _retime(self, request: SpeechRequest, clip: Path) -> bytes:
        if not request.rate or abs(request.rate - NATURAL_WPM) < 0.5:
            return clip.read_bytes()
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise EngineError(
                "the festival engine needs ffmpeg to set a rate: sudo apt-get install ffmpeg"
            )
        retimed = clip.with_suffix(".tempo.wav")
        argv = [
            ffmpeg,
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(clip),
            "-af",
            atempo_chain(request.rate / NATURAL_WPM),
            "-c:a",
            "pcm_s16le",
            "-bitexact",
            str(retimed),
        ]
        tools.run(argv, doing=f"retiming {shorten(request.text)!r}", timeout=TIMEOUT_PER_CLIP_S)
        return retimed.read_bytes()

    def _require(self) -> str:
        if self._exe is None:
            raise EngineError(self.problem() or "festival is missing")
        return self._exe
