"""The pico engine (SVOX Pico's pico2wave), for real, and the clearest voice per language."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide import engines
from voiceguide.cli import main
from voiceguide.errors import EngineError
from voiceguide.speech import SpeechLibrary, pico_engine, wav
from voiceguide.speech.pico_engine import PicoEngine, pieces, speed_level
from voiceguide.speech.request import SpeechRequest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {"de": "rumpf_de", "es": "zancadas_es", "fr": "foulees_fr"}
needs_pico = pytest.mark.skipif(PicoEngine().problem() is not None,
                                reason="SVOX Pico (pico2wave, Debian's libttspico-utils) "
                                       "not installed")


def direct(text: str, voice: str, tmp_path: Path) -> bytes | None:
    """What pico2wave itself makes of *text* given as one argument: its PCM, or None."""
    out = tmp_path / "direct.wav"
    out.unlink(missing_ok=True)
    done = subprocess.run(["pico2wave", "-l", voice, "-w", str(out), "--", text],
                          capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        return None
    with wave.open(str(out), "rb") as w:
        return w.readframes(w.getnframes())


def pcm(data: bytes) -> bytes:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.readframes(w.getnframes())


def speak(text: str, voice: str = "de-DE", rate: float | None = None) -> bytes:
    [clip] = PicoEngine().synthesize([SpeechRequest("pico", voice, rate, text)])
    return clip


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------------------
# Pure: pieces and rates


def test_pieces_keep_every_character_and_cut_at_sentence_then_word_ends() -> None:
    text = "Lauf locker. " * 40 + "Überall grün, " * 40 + "ä" * 300
    cut = list(pieces(text, 100))
    assert "".join(cut) == text
    assert all(len(p.encode()) <= 100 for p in cut)
    assert cut[0].endswith("Lauf locker. ")  # a sentence end within the limit
    assert any(p.endswith("grün, ") for p in cut)  # no sentence end: after a word
    assert all(p.encode().decode() == p for p in cut)  # never inside a character
    assert list(pieces("kurz", 100)) == ["kurz"]


def test_a_rate_is_picos_speed_level() -> None:
    assert speed_level(None) == 100 and speed_level(pico_engine.NATURAL_WPM) == 100
    assert speed_level(350) == 200
    assert speed_level(1) == pico_engine.MIN_LEVEL and speed_level(9999) == pico_engine.MAX_LEVEL


# ---------------------------------------------------------------------------
# The program itself


@needs_pico
def test_its_voices_are_the_languages_voiceguide_expects() -> None:
    voices = PicoEngine().voices()
    assert {v.id for v in voices} >= {"de-DE", "en-US", "en-GB", "es-ES", "fr-FR", "it-IT"}
    assert {v.language.split("-")[0] for v in voices} == set(engines.SPEAKS[engines.PICO])
    library = SpeechLibrary()
    assert [library.default_voice("pico", lang) for lang in ("de", "en", "en-gb", "fr")] == [
        "de-DE", "en-US", "en-GB", "fr-FR"]
    assert "its voices: de-DE" in (library.problem("pico", "de-CH") or "")


@needs_pico
@pytest.mark.parametrize("text", [
    'Sag "jetzt" und \'los\'!',
    "-l en-US -w /tmp/x.wav",  # a leading dash is text, not an option
    "--",
    "Дыши спокойно. 日本語も。 Ça va, señor?",
    "$HOME; `date` | rm -rf * \\ & >out",
    "Zeile eins\nZeile zwei",
])
def test_texts_reach_pico2wave_intact(text: str, tmp_path: Path) -> None:
    """The same audio as pico2wave given the text as one argument: nothing quoted, split
    or parsed on the way."""
    expected = direct(text, "de-DE", tmp_path)
    assert expected is not None and pcm(speak(text)) == expected
    assert direct(text + " Ende", "de-DE", tmp_path) != expected  # a control: audio differs


@needs_pico
def test_a_text_longer_than_pico2wave_takes_is_spoken_in_pieces(tmp_path: Path) -> None:
    text = "Eins. " + " " * 33_000 + "Zwei."
    assert len(text.encode()) > pico_engine.MAX_TEXT_BYTES
    assert direct(text, "de-DE", tmp_path) is None  # pico2wave alone refuses it
    parts = [direct(p, "de-DE", tmp_path) for p in pieces(text)]
    assert len(parts) > 1 and None not in parts
    assert pcm(speak(text)) == b"".join(p for p in parts if p is not None)


@needs_pico
def test_markup_in_the_text_is_spoken_not_obeyed(tmp_path: Path) -> None:
    text = '<speed level="500">Langsam und ruhig.</speed>'
    assert pcm(speak(text)) != direct(text, "de-DE", tmp_path)  # pico2wave would obey it
    assert pcm(speak(text)) == direct(text.replace("<", "< "), "de-DE", tmp_path)


@needs_pico
def test_the_rate_changes_the_pace_and_the_same_request_the_same_bytes() -> None:
    text = "Drei Minuten locker laufen, dann zwei Steigerungen und gehen."
    slow, fast, again = (speak(text, rate=r) for r in (140, 280, 140))
    assert slow == again and wav.speech_problem(slow) is None
    seconds = [len(wav.decode(c)[0]) / wav.decode(c)[1] for c in (slow, fast)]
    assert 1.4 < seconds[0] / seconds[1] < 2.2
    assert speak(text) == speak(text, rate=pico_engine.NATURAL_WPM)  # level 100: no markup


@needs_pico
def test_an_unknown_voice_is_refused() -> None:
    with pytest.raises(EngineError, match="no voice 'xx-XX'"):
        speak("Hallo.", voice="xx-XX")


@needs_pico
def test_the_version_follows_the_language_files(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The speech cache's key changes when a language file does (a new Pico, new audio)."""
    lang = tmp_path / "lang"
    shutil.copytree(pico_engine.LANGUAGE_DIRS[0], lang)
    monkeypatch.setattr(pico_engine, "LANGUAGE_DIRS", (lang,))
    before = PicoEngine().version()
    with (lang / "de-DE_ta.bin").open("ab") as f:
        f.write(b"\0")
    assert PicoEngine().version() != before


# ---------------------------------------------------------------------------
# The clearest voice for a language


@needs_pico
@pytest.mark.parametrize("language", sorted(EXAMPLES))
def test_a_language_hibari_lacks_speaks_with_pico_and_says_so(
        language: str, private_cache: Path) -> None:
    script = ROOT / "scripts_yaml" / f"{EXAMPLES[language]}.yaml"
    code, out, err = run("plan", str(script), "--json")
    assert code == 0, err
    voices = {e["voice"] for e in json.loads(out)["events"] if e["type"] == "speech"}
    assert voices == {f"{language}-{language.upper()}"}
    assert err.splitlines() == [
        f"voiceguide: speaking language '{language}' with pico: hibari speaks English only"]


def test_without_pico_a_language_falls_back_to_espeak_and_says_how_to_get_pico(
        tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PicoEngine, "_exe", None)
    code, out, err = run("plan", str(ROOT / "scripts_yaml" / "rumpf_de.yaml"), "--json")
    assert code == 0, err
    voices = {e["voice"] for e in json.loads(out)["events"] if e["type"] == "speech"}
    assert voices == {"gmw/de"}
    [line] = err.splitlines()
    assert line.startswith("voiceguide: speaking language 'de' with espeak-ng; for a clearer "
                           "voice, the pico engine needs SVOX Pico's pico2wave: sudo apt-get "
                           "install libttspico-utils")
    script = tmp_path / "nl.yaml"  # no engine clearer than espeak-ng speaks it
    script.write_text("title: T\nlanguage: nl\nstages:\n  - {name: A, duration: 5, say: Hoi.}\n",
                      encoding="utf-8")
    code, _, err = run("plan", str(script))
    assert code == 0 and err.splitlines() == [
        "voiceguide: speaking language 'nl' with espeak-ng: hibari speaks English only"]


def test_a_script_that_names_a_missing_pico_is_a_located_error(
        tmp_path: Path, private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PicoEngine, "_exe", None)
    script = tmp_path / "drill.yaml"
    script.write_text("title: T\nlanguage: de\nvoices:\n  coach: {engine: pico, voice: de-DE}\n"
                      "voice: coach\nstages:\n  - {name: A, duration: 5, say: Hallo.}\n",
                      encoding="utf-8")
    code, out, err = run("check", str(script))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{script}:4:32: voice profile 'coach': the pico engine needs SVOX Pico's pico2wave: "
        f"{pico_engine.INSTALL}"]
    code, out, _ = run("voices")
    assert f"# pico: not usable: the pico engine needs SVOX Pico's pico2wave: " \
           f"{pico_engine.INSTALL}" in out.splitlines()


@needs_pico
def test_a_pico_session_is_the_same_bytes_cold_and_warm(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    script = ROOT / "scripts_yaml" / "zancadas_es.yaml"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # empty: the first is cold
    made = []
    for n in range(2):
        target = tmp_path / f"{n}.mp3"
        code, _, err = run("build", str(script), "-o", str(target), "-q")
        assert code == 0, err
        made.append(target.read_bytes())
    assert made[0] == made[1]
