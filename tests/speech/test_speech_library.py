"""SpeechLibrary: the registry, voice lists and audio through the default engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voiceguide.speech import SpeechLibrary
from voiceguide.speech.request import SpeechRequest
from voiceguide.store import Store


def test_importing_speech_does_not_import_pyttsx3() -> None:
    code = "import sys, voiceguide.speech; print('pyttsx3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_engine_suggests_a_close_one(tmp_path: Path) -> None:
    reason = SpeechLibrary(Store(tmp_path)).problem("espeak", None)
    assert reason is not None and "did you mean 'espeak-ng'" in reason


def test_list_voices_by_language(tmp_path: Path) -> None:
    library = SpeechLibrary(Store(tmp_path))
    german = library.list_voices(language="de", engine="pyttsx3")
    assert german and all(v.language.split("-")[0] == "de" for v in german)
    assert "gmw/en-us" in {v.id for v in library.list_voices(language="en-us")}


def test_default_voice_uses_pyttsx3_voices(tmp_path: Path) -> None:
    library = SpeechLibrary(Store(tmp_path))
    assert library.default_voice("pyttsx3", "en") == "gmw/en-us"
    assert library.default_voice("pyttsx3", "es") == "roa/es"
    assert library.default_voice("pyttsx3", "xx") is None


def test_audio_is_float32_mono_in_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    samples, rate = SpeechLibrary().audio(SpeechRequest("pyttsx3", "gmw/en-us", 170, "Ten seconds."))
    assert rate == 22050 and samples.dtype == np.float32 and samples.ndim == 1
    assert 0.01 < float(np.max(np.abs(samples))) <= 1.0
    assert len(list((tmp_path / "voiceguide").rglob("*.clip"))) == 1
