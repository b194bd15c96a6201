"""The pyttsx3 engine with the real espeak-ng library, driven through worker processes."""

from __future__ import annotations

import statistics
import sys

import pytest

from voiceguide.errors import EngineError
from voiceguide.speech import SpeechLibrary, wav
from voiceguide.speech.pyttsx3_engine import Pyttsx3Engine
from voiceguide.speech.request import SpeechRequest
from voiceguide.speech.workerproc import WorkerProcess
from voiceguide.store import Store

TEXT = "Find the balance that gives you stability."

pytestmark = pytest.mark.skipif(
    Pyttsx3Engine().problem() is not None, reason="pyttsx3 or espeak-ng's library is missing"
)


def seconds(data: bytes) -> float:
    samples, rate = wav.decode(data)
    return len(samples) / rate


def request(rate: float | None, voice: str | None = "gmw/en-us", text: str = TEXT) -> SpeechRequest:
    return SpeechRequest("pyttsx3", voice, rate, text)


def test_mixed_rates_give_consistent_lengths() -> None:
    rates = [120, 160, 240] * 8
    clips = Pyttsx3Engine(jobs=2).synthesize([request(r) for r in rates])
    lengths: dict[int, list[float]] = {}
    for rate, clip in zip(rates, clips, strict=True):
        assert wav.speech_problem(clip) is None
        lengths.setdefault(rate, []).append(seconds(clip))
    for rate, found in lengths.items():
        middle = statistics.median(found)
        assert all(abs(x - middle) <= 0.03 * middle for x in found), (rate, found)
    ratio = statistics.median(lengths[120]) / statistics.median(lengths[240])
    assert 1.7 < ratio < 2.3


def test_a_clip_does_not_depend_on_the_clips_made_before_it() -> None:
    """espeak-ng keeps state between utterances; each clip must start from a fresh engine,
    so that a clip made again (after a damaged cache entry) is byte-identical."""
    b = request(170, text="Strides are short and quick.")
    alone = Pyttsx3Engine(jobs=1).synthesize([b])[0]
    first = request(170, text="A much longer sentence first, with several words to warm up.")
    after = Pyttsx3Engine(jobs=1).synthesize([first, b, first, b])
    assert after[1] == alone and after[3] == alone


def test_clips_come_back_in_request_order() -> None:
    texts = ["One.", "This is a much longer sentence than the first one.", "Two."]
    clips = Pyttsx3Engine().synthesize([request(160, text=t) for t in texts])
    assert seconds(clips[1]) > 2 * max(seconds(clips[0]), seconds(clips[2]))


def test_stdout_stays_clean(capfd: pytest.CaptureFixture[str]) -> None:
    Pyttsx3Engine().synthesize([request(None)])
    assert capfd.readouterr().out == ""


def test_unknown_voice_is_a_problem_with_a_suggestion(tmp_path) -> None:
    library = SpeechLibrary(Store(tmp_path))
    reason = library.problem("pyttsx3", "gmw/en-su")
    assert reason is not None and "'gmw/en-su'" in reason and "did you mean 'gmw/en-us'" in reason
    with pytest.raises(EngineError, match="gmw/en-su"):
        library.prefetch([request(160, voice="gmw/en-su")])


def test_variant_is_accepted_and_changes_the_voice(tmp_path) -> None:
    library = SpeechLibrary(Store(tmp_path))
    assert library.problem("pyttsx3", "gmw/en-us+f3") is None
    assert library.problem("pyttsx3", "gmw/en-us+klatt") is None
    assert "variant 'nosuch'" in (library.problem("pyttsx3", "gmw/en-us+nosuch") or "")
    plain, female = Pyttsx3Engine().synthesize([request(160), request(160, "gmw/en-us+f3")])
    assert plain != female


def test_voices_list_espeak_voices_with_variants() -> None:
    voices = {v.id: v for v in Pyttsx3Engine().voices()}
    assert voices["gmw/en-us"].language == "en-us"
    assert {"f3", "m2", "klatt"} <= set(voices["gmw/en-us"].variants)


@pytest.fixture
def broken_worker(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """Replaces the worker by a script; returns a function that installs its body."""

    def install(body: str) -> None:
        script = tmp_path / "worker.py"
        script.write_text(body)
        monkeypatch.setattr(WorkerProcess, "command", (sys.executable, str(script)))

    return install


def test_crashing_worker_names_the_clip(broken_worker) -> None:
    broken_worker("import sys\nsys.stdin.readline()\nraise SystemExit('espeak exploded')\n")
    with pytest.raises(EngineError) as caught:
        Pyttsx3Engine().synthesize([request(160, text="Engage the lower back.")])
    message = str(caught.value)
    assert "Engage the lower back." in message and "espeak exploded" in message
    assert "espeak-ng engine" in message


def test_hanging_worker_times_out(broken_worker) -> None:
    broken_worker("import time\ntime.sleep(30)\n")
    with pytest.raises(EngineError, match="no answer within 0.5 s"):
        Pyttsx3Engine(timeout_s=0.5).synthesize([request(160)])


@pytest.mark.parametrize("failures", [1, 2])
def test_an_empty_clip_is_retried(broken_worker, tmp_path, failures: int) -> None:
    """Workers write an empty WAV; the fresh one started for a later attempt speaks."""
    marker = tmp_path / "starts"
    broken_worker(
        "import json, os, sys, wave\n"
        f"with open({str(marker)!r}, 'a') as f: f.write('x')\n"
        f"first = os.path.getsize({str(marker)!r}) <= {failures}\n"
        "for line in sys.stdin:\n"
        "    job = json.loads(line)\n"
        "    with wave.open(job['output'], 'wb') as w:\n"
        "        w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050)\n"
        "        w.writeframes(b'' if first else b'\\x00\\x40' * 22050)\n"
        "    print(json.dumps({'ok': True}), flush=True)\n"
    )
    clip = Pyttsx3Engine().synthesize([request(160)])[0]
    assert seconds(clip) == pytest.approx(1.0)


def test_an_always_empty_clip_gives_up_after_three_attempts(broken_worker, tmp_path) -> None:
    marker = tmp_path / "starts"
    broken_worker(
        "import json, sys, wave\n"
        f"open({str(marker)!r}, 'a').write('x')\n"
        "for line in sys.stdin:\n"
        "    job = json.loads(line)\n"
        "    with wave.open(job['output'], 'wb') as w:\n"
        "        w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050)\n"
        "    print(json.dumps({'ok': True}), flush=True)\n"
    )
    with pytest.raises(EngineError, match="could not speak 'Find the balance"):
        Pyttsx3Engine().synthesize([request(160)])
    assert marker.read_text() == "xxx"


def test_a_long_text_is_spoken_whole() -> None:
    """pyttsx3's own save loop wrote no file for texts over ~250 characters."""
    sentence = "Stay relaxed and look for balance, not for maximum tension. "
    one = Pyttsx3Engine().synthesize([request(170, text=sentence)])[0]
    many = Pyttsx3Engine().synthesize([request(170, text=sentence * 12)])[0]
    assert wav.speech_problem(many) is None
    assert 10 < seconds(many) / seconds(one) < 13


def test_a_voice_variant_changes_the_voice() -> None:
    plain, variant = Pyttsx3Engine().synthesize(
        [request(170), request(170, voice="gmw/en-us+f3")])
    assert wav.speech_problem(variant) is None
    assert plain != variant


def test_a_nonsense_answer_is_retried_then_named(broken_worker) -> None:
    broken_worker("import sys\nfor line in sys.stdin:\n    print('hello', flush=True)\n")
    with pytest.raises(EngineError, match="a nonsense answer while Find the balance.*'hello'"):
        Pyttsx3Engine().synthesize([request(160)])


def test_a_worker_that_cannot_start_is_an_engine_error(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path) -> None:
    monkeypatch.setattr(WorkerProcess, "command", (str(tmp_path / "no-such-python"),))
    with pytest.raises(EngineError, match="cannot start the worker process"):
        Pyttsx3Engine().synthesize([request(160)])


def test_a_worker_crashing_while_listing_voices_is_an_engine_error(broken_worker) -> None:
    broken_worker("raise SystemExit('no voices today')\n")
    with pytest.raises(EngineError, match="could not list its voices.*no voices today"):
        Pyttsx3Engine().voices()


def test_a_worker_whose_parent_is_gone_before_it_starts_exits() -> None:
    """The build that started a speech worker may die while the worker's Python starts:
    the worker knows its parent's pid from the start, so it does not live on adopted."""
    import os
    import subprocess
    import sys

    from voiceguide.speech._worker import PARENT_ENV

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    env = os.environ | {PARENT_ENV: gone}
    done = subprocess.run([sys.executable, "-m", "voiceguide.speech._worker", "--list-voices"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stdout == ""
    env[PARENT_ENV] = str(os.getpid())  # its real parent: it answers
    done = subprocess.run([sys.executable, "-m", "voiceguide.speech._worker", "--list-voices"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("[")
