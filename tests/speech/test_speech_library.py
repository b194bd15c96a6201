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


class _Interleaved:
    """An engine that speaks its first batch one clip, then waits while a second batch
    (a clip found gone from the cache, asked for on another thread) starts, and goes on
    while that one is still under way: the order a build meets when the cache is
    cleared under it."""

    name = "interleaved"

    def __init__(self) -> None:
        import threading

        self.second_started = threading.Event()
        self.first_done = threading.Event()
        self.on_clip = None

    def version(self) -> str:
        return "1"

    def problem(self) -> None:
        return None

    def voice_problem(self, voice_id: str) -> None:
        return None

    def voices(self) -> list:
        return []

    def synthesize(self, requests: list[SpeechRequest]) -> list[bytes]:
        from voiceguide.speech import wav

        first = not self.second_started.is_set() and len(requests) > 1
        if not first:
            self.second_started.set()
            assert self.first_done.wait(10), "the first batch never went on"
        made = []
        for n, request in enumerate(requests):
            tone = np.sin(np.arange(4410) * (0.05 + 0.01 * len(request.text))) * 0.5
            data = wav.encode(tone.astype(np.float32), 22050)
            if self.on_clip is not None:
                self.on_clip(request, data)
            made.append(data)
            if first and n == 0:
                assert self.second_started.wait(10), "the second batch never started"
        if first:
            self.first_done.set()
        return made


def test_a_clip_asked_for_again_while_a_batch_speaks_reaches_both(tmp_path: Path) -> None:
    """Two prefetches under way at once on one engine (the cache lost a clip mid-build):
    each hears of its own clips, none is lost and nothing raises (it was a KeyError)."""
    import threading

    library = SpeechLibrary(Store(tmp_path))
    engine = _Interleaved()
    library.register("interleaved", lambda: engine)  # type: ignore[arg-type, return-value]
    batch = [SpeechRequest("interleaved", None, 170, f"Line {n}.") for n in range(4)]
    lost = SpeechRequest("interleaved", None, 170, "Found gone.")
    failures: list[BaseException] = []

    def ask_again() -> None:
        try:
            library.audio(lost)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            failures.append(exc)

    heard: list[SpeechRequest] = []
    again = threading.Thread(target=ask_again, daemon=True)

    def ready(request: SpeechRequest) -> None:
        heard.append(request)
        if request is batch[0]:
            again.start()

    library.prefetch(batch, ready=ready)
    again.join(10)
    assert engine.first_done.is_set() and not again.is_alive() and not failures
    assert sorted(r.text for r in heard) == sorted(r.text for r in batch)
    for request in [*batch, lost]:
        assert library.cache.get(library.key(request)) is not None
