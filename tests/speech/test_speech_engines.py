"""The espeak-ng, festival and command engines, with the real programs."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from voiceguide.errors import EngineError
from voiceguide.speech import SpeechLibrary, wav
from voiceguide.speech.command_engine import CommandEngine
from voiceguide.speech.espeak_engine import EspeakEngine
from voiceguide.speech.festival_engine import FestivalEngine
from voiceguide.speech.request import SpeechRequest
from voiceguide.store import Store

TEXT = "Engage the lower back, slowly."
needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed"
)
needs_festival = pytest.mark.skipif(
    FestivalEngine().problem() is not None, reason="festival with festvox-us-slt-hts not installed"
)


def seconds(data: bytes) -> float:
    samples, rate = wav.decode(data)
    return len(samples) / rate


@needs_espeak
def test_espeak_is_deterministic_and_follows_the_rate() -> None:
    reqs = [SpeechRequest("espeak-ng", "gmw/en-us", r, TEXT) for r in (120, 240, 120)]
    slow, fast, slow_again = EspeakEngine().synthesize(reqs)
    assert slow == slow_again and wav.speech_problem(slow) is None
    assert 1.7 < seconds(slow) / seconds(fast) < 2.3


@needs_espeak
def test_espeak_voices_and_variants(tmp_path: Path) -> None:
    library = SpeechLibrary(Store(tmp_path))
    assert library.problem("espeak-ng", "gmw/en-us+m2") is None
    assert "did you mean 'gmw/de'" in (library.problem("espeak-ng", "gmw/dee") or "")
    assert library.default_voice("espeak-ng", "en") == "gmw/en-us"
    assert library.default_voice("espeak-ng", "de") == "gmw/de"
    assert library.default_voice("espeak-ng", "es") == "roa/es"
    plain, variant = EspeakEngine().synthesize(
        [SpeechRequest("espeak-ng", v, 160, TEXT) for v in ("gmw/en-us", "gmw/en-us+m2")]
    )
    assert plain != variant


@needs_espeak
def test_espeak_text_starting_with_a_dash_is_spoken_not_parsed() -> None:
    [clip] = EspeakEngine().synthesize([SpeechRequest("espeak-ng", None, None, "-v nothing -w x")])
    assert wav.speech_problem(clip) is None


@needs_festival
def test_festival_batches_and_retimes() -> None:
    reqs = [SpeechRequest("festival", "cmu_us_slt_arctic_hts", r, TEXT) for r in (None, 120, 240)]
    reqs.append(SpeechRequest("festival", None, None, 'She said "stop" \\ then went on.'))
    natural, slow, fast, quoted = FestivalEngine().synthesize(reqs)
    assert wav.decode(natural)[1] == 32000
    assert all(wav.speech_problem(c) is None for c in (natural, slow, fast, quoted))
    assert seconds(slow) > seconds(natural) > seconds(fast)
    assert 1.7 < seconds(slow) / seconds(fast) < 2.3


@needs_festival
def test_festival_voices(tmp_path: Path) -> None:
    library = SpeechLibrary(Store(tmp_path))
    assert library.default_voice("festival", "en") == "cmu_us_slt_arctic_hts"
    assert "did you mean 'cmu_us_slt_arctic_hts'" in (
        library.problem("festival", "cmu_us_slt") or ""
    )


def test_missing_festival_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert FestivalEngine().problem() == (
        "the festival engine needs Debian's festival and festvox-us-slt-hts: "
        "sudo apt-get install festival festvox-us-slt-hts"
    )


TTS_SCRIPT = """\
import sys, wave, math
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
if "--text" in args:
    text = args["--text"]
elif "--text-file" in args:
    text = open(args["--text-file"], encoding="utf-8").read()
else:
    text = sys.stdin.read()
seconds = 0.05 * len(text) * 160 / float(args.get("--rate") or 160)
with wave.open(args["--out"], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
    n = int(16000 * seconds)
    w.writeframes(b"".join(
        int(8000 * math.sin(i / 5)).to_bytes(2, "little", signed=True) for i in range(n)))
print("chatter on stdout")
"""


@pytest.fixture
def tts_program(tmp_path: Path) -> Path:
    program = tmp_path / "bin" / "mytts"
    program.parent.mkdir()
    program.write_text(f"#!{sys.executable}\n{TTS_SCRIPT}")
    program.chmod(0o755)
    return program


@pytest.mark.parametrize(
    "text_args",
    [("--text", "{text}"), ("--text-file", "{text_file}"), ()],
    ids=["arg", "file", "stdin"],
)
def test_command_engine_passes_text_three_ways(
    tts_program: Path, text_args: tuple[str, ...]
) -> None:
    template = (str(tts_program), *text_args, "--rate", "{rate}", "--out", "{output}")
    engine = CommandEngine("command:mytts", template)
    assert engine.problem() is None
    normal, slow = engine.synthesize(
        [SpeechRequest("command:mytts", None, r, "ünïcode; $(rm -rf /) `x`") for r in (160, 80)]
    )
    assert seconds(normal) == pytest.approx(0.05 * 24, abs=0.01)
    assert seconds(slow) == pytest.approx(2 * seconds(normal), abs=0.01)


def test_command_engine_version_follows_the_program(tts_program: Path) -> None:
    template = (str(tts_program), "--out", "{output}")
    before = CommandEngine("command", template).version()
    assert CommandEngine("command", (*template, "--x")).version() != before
    os.utime(tts_program, ns=(1, 1))
    assert CommandEngine("command", template).version() != before


def test_command_engine_problems_and_failures(tts_program: Path, tmp_path: Path) -> None:
    library = SpeechLibrary(Store(tmp_path))
    assert "not installed" in (library.problem("command", None, ("no-such-tts", "{output}")) or "")
    assert "{output}" in (library.problem("command", None, (str(tts_program),)) or "")
    failing = CommandEngine(
        "command", (sys.executable, "-c", "raise SystemExit('bad model')", "{output}")
    )
    with pytest.raises(EngineError, match="bad model"):
        failing.synthesize([SpeechRequest("command", None, None, "hello")])


@needs_espeak
def test_espeak_as_the_users_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    template = ("espeak-ng", "-v", "{voice}", "-s", "{rate}", "-w", "{output}")
    library = SpeechLibrary()
    request = SpeechRequest("command:espeak", "gmw/en-us", 160, TEXT, template)
    samples, rate = library.audio(request)
    assert rate == 22050 and len(samples) > rate // 2
    assert len(list((tmp_path / "voiceguide").rglob("*.clip"))) == 1
