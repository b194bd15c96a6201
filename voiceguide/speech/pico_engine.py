"""The ``pico`` engine: SVOX Pico, the ``pico2wave`` program of Debian's libttspico-utils.

Pico is small (a 1 MB language file per voice) and much clearer than
espeak-ng in German, Spanish, French and Italian, which hibari does not
speak. Its code is Apache-2.0; Debian keeps it in ``non-free`` because the
language files ship without their source.

``pico2wave`` writes only to a file whose name ends in ``.wav``, takes the
text as one argument (after ``--``, so a leading ``-`` is text) and refuses
a text of more than 32,767 bytes, so a longer one is spoken in pieces cut at
sentence, then word, ends and joined. It has no rate option: a rate becomes
Pico's own ``<speed level="…">`` markup around the text, and ``<`` in the
text is kept from reading as markup.
One process per clip, several at a time: a process costs about 10 ms.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import wave
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

from voiceguide import scratch, tools
from voiceguide.errors import EngineError
from voiceguide.speech import wav
from voiceguide.speech.base import Engine, VoiceInfo, shorten
from voiceguide.speech.request import SpeechRequest

INSTALL = ("sudo apt-get install libttspico-utils (from Debian's non-free component: "
           "add non-free to Components in /etc/apt/sources.list.d/debian.sources, then "
           "sudo apt-get update)")
LANGUAGE_DIRS = (Path("/usr/share/pico/lang"), Path("/usr/local/share/pico/lang"))
NAMES = {"de-DE": "German", "en-US": "American English", "en-GB": "British English",
         "es-ES": "Spanish", "fr-FR": "French", "it-IT": "Italian"}
NATURAL_WPM = 175.0  # measured: en-US speaks about 175 words per minute at level 100
MIN_LEVEL, MAX_LEVEL = 20, 500  # Pico's own range for <speed level>
MAX_TEXT_BYTES = 32_767  # pico2wave's limit on one text (and what it adds around it)
PIECE_BYTES = 30_000
TIMEOUT_S = 60
LANGUAGE_FILE = re.compile(r"([a-z]{2}-[A-Z]{2})_ta\.bin")


def speed_level(rate: float | None) -> int:
    """Pico's speed level (100 is its own pace) for a rate in words per minute."""
    if rate is None:
        return 100
    return min(MAX_LEVEL, max(MIN_LEVEL, round(100 * rate / NATURAL_WPM)))


def pieces(text: str, limit: int = PIECE_BYTES) -> Iterator[str]:
    """*text* in pieces of at most *limit* UTF-8 bytes, cut after a sentence where one
    ends within the limit, else after a word, else between characters."""
    while len(text.encode()) > limit:
        head = text.encode()[:limit].decode("utf-8", "ignore")
        cut = max((m.end() for m in re.finditer(r"[.!?;:]\s", head)), default=0) \
            or head.rfind(" ") + 1 or len(head)
        yield text[:cut]
        text = text[cut:]
    yield text


def plain(text: str) -> str:
    """*text* with every ``<`` kept from opening one of Pico's tags."""
    return re.sub(r"<(?=\S)", "< ", text)


def markup(piece: str, rate: float | None) -> str:
    """What pico2wave is given for a piece of plain text: the piece, at the rate."""
    level = speed_level(rate)
    return piece if level == 100 else f'<speed level="{level}">{piece}</speed>'


class PicoEngine(Engine):
    """``pico2wave -l LANG -w FILE.wav -- TEXT``, one clip per process, never a shell."""

    name = "pico"

    def __init__(self, jobs: int = 2) -> None:
        self.jobs = max(1, jobs)

    @cached_property
    def _exe(self) -> str | None:
        return shutil.which("pico2wave")

    @cached_property
    def _languages(self) -> dict[str, tuple[Path, ...]]:
        """Each installed voice's id and the language files it speaks with."""
        found: dict[str, tuple[Path, ...]] = {}
        for root in LANGUAGE_DIRS:
            for ta in sorted(root.glob("*_ta.bin")):
                match = LANGUAGE_FILE.fullmatch(ta.name)
                speaker = sorted(root.glob(f"{match[1]}_*_sg.bin")) if match else []
                if match and speaker and match[1] not in found:
                    found[match[1]] = (ta, speaker[0])
        return found

    def problem(self) -> str | None:
        if self._exe is None or not self._languages:
            return f"the pico engine needs SVOX Pico's pico2wave: {INSTALL}"
        return None

    @cached_property
    def _version(self) -> str:
        """The program and every language file, by content: new files make new audio."""
        digest = hashlib.sha256()
        for path in (Path(self._require()), *sorted(p for f in self._languages.values()
                                                     for p in f)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return f"pico2wave {digest.hexdigest()[:16]}"

    def version(self) -> str:
        return self._version

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo(self.name, lang, lang.lower(), f"SVOX Pico {NAMES.get(lang, lang)}")
                for lang in sorted(self._languages)]

    def voice_problem(self, voice_id: str) -> str | None:
        if voice_id in self._languages:
            return None
        known = ", ".join(sorted(self._languages)) or "none installed"
        return f"the pico engine has no voice {voice_id!r} (its voices: {known})"

    def synthesize(self, requests: Sequence[SpeechRequest]) -> list[bytes]:
        with ThreadPoolExecutor(self.jobs) as pool:
            return list(pool.map(self._one, requests))

    def _one(self, request: SpeechRequest) -> bytes:
        voice = request.voice or "en-US"
        trouble = self.voice_problem(voice)
        if trouble:
            raise EngineError(trouble)
        frames, rate_hz = [], 16_000
        with scratch.folder() as tmp:
            for n, piece in enumerate(pieces(plain(request.text))):
                out = Path(tmp) / f"clip{n}.wav"
                argv = [self._require(), "-l", voice, "-w", str(out), "--",
                        markup(piece, request.rate)]
                tools.run(argv, doing=f"on {shorten(request.text)!r}", timeout=TIMEOUT_S)
                try:
                    with wave.open(str(out), "rb") as w:
                        rate_hz = w.getframerate()
                        frames.append(w.readframes(w.getnframes()))
                except (OSError, EOFError, wave.Error):
                    raise EngineError(
                        f"pico2wave wrote no audio for {shorten(request.text)!r}") from None
        data = wav.wrap_pcm16(b"".join(frames), rate_hz)
        self.clip_done(request, data)
        return data

    def _require(self) -> str:
        if self._exe is None:
            raise EngineError(self.problem() or "pico2wave is missing")
        return self._exe
