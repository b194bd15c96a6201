"""The natural voice: hibari's real model, in its worker process."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from calls import recorded
from click.testing import CliRunner
from waiting import until

from voiceguide.cli import main
from voiceguide.errors import EngineError
from voiceguide.speech import SpeechLibrary, SpeechRequest, hibari_data, hibari_engine, wav
from voiceguide.speech.hibari_engine import NATURAL_WPM, HibariEngine, speed_for
from voiceguide.speech.workerproc import WorkerProcess, _live

TEXT = "Ten seconds. Keep that balance."


def request(text: str = TEXT, rate: float | None = 165, voice: str | None = "heart") -> SpeechRequest:
    return SpeechRequest("hibari", voice, rate, text)


def seconds(data: bytes) -> float:
    samples, rate = wav.decode(data)
    return len(samples) / rate


@pytest.fixture(autouse=True)
def private_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HIBARI_HOME", str(tmp_path / "hibari"))


def test_lists_only_the_voices_on_this_machine() -> None:
    engine = HibariEngine()
    assert engine.problem() is None
    assert [(v.id, v.language, v.gender) for v in engine.voices()] == [("heart", "en-us", "female")]
    assert {"emma", "fenrir"} <= {v.id for v in engine.fetchable_voices()}


def test_another_voice_is_never_downloaded_but_explained(tmp_path: Path) -> None:
    reason = HibariEngine().voice_problem("emma")
    assert reason is not None
    assert "never downloads" in reason
    command = shlex.split(reason.split("fetch it once with: ", 1)[1])
    assert command[:3] == [sys.executable, "-m", "hibari.cli"] and "emma" in command
    shown = subprocess.run([*command[:3], "--help"], capture_output=True, text=True,
                           timeout=120, check=False)  # the command runs, whatever PATH holds
    assert shown.returncode == 0 and "--voice" in shown.stdout
    assert not (tmp_path / "hibari").exists()  # nothing was fetched or even created
    assert HibariEngine().voice_problem("klingon") == "the hibari engine has no voice 'klingon'"


def test_a_damaged_voice_file_is_not_offered(tmp_path: Path) -> None:
    """A voice file in hibari's cache whose content is not the registry's is not used."""
    folder = tmp_path / "hibari"
    folder.mkdir()
    (folder / "bf_emma.int8.onnx").write_bytes(b"not a model" * 1000)
    engine = HibariEngine()
    assert "emma" not in {v.id for v in engine.voices()}
    assert "not on this machine" in (engine.voice_problem("emma") or "")


def test_the_same_clip_is_byte_identical_whatever_came_before() -> None:
    other = request("Stand tall and slowly engage your lower back.")
    first = HibariEngine().synthesize([request()])[0]
    later = HibariEngine().synthesize([other, request(rate=120), request()])[2]
    assert first == later
    assert wav.speech_problem(first) is None
    assert wav.decode(first)[1] == 24000


def test_rate_maps_onto_speed() -> None:
    assert speed_for(None) == 1.0
    assert speed_for(NATURAL_WPM) == 1.0
    assert speed_for(30) == 0.5 and speed_for(900) == 2.0  # hibari's own range
    slow, fast = HibariEngine().synthesize([request(rate=110), request(rate=220)])
    assert seconds(slow) > 1.5 * seconds(fast)


def test_the_cache_key_covers_package_model_and_settings() -> None:
    library = SpeechLibrary()
    version = library.engine("hibari").version()
    assert "hibari 0." in version and "heart " in version and "seed 0, 1 thread" in version
    keys = {library.key(r) for r in (request(), request(rate=166), request(voice=None),
                                     request(text=TEXT + "!"))}
    assert len(keys) == 4


def broken_worker(tmp_path: Path, body: str) -> tuple[str, ...]:
    script = tmp_path / "worker.py"
    script.write_text(body, encoding="utf-8")
    return (sys.executable, str(script))


def test_a_crashing_engine_is_one_clear_error_and_leaves_no_worker(tmp_path: Path) -> None:
    engine = HibariEngine(command=broken_worker(
        tmp_path, "import sys\nsys.stdin.readline()\nraise SystemExit('model exploded')\n"))
    with pytest.raises(EngineError, match=r"hibari could not speak 'Ten seconds.*model exploded"):
        engine.synthesize([request()])
    assert not _live


def test_a_hanging_engine_times_out(tmp_path: Path) -> None:
    engine = HibariEngine(timeout_s=1.0, command=broken_worker(
        tmp_path, "import time\ntime.sleep(60)\n"))
    with pytest.raises(EngineError, match="no answer within 1 s"):
        engine.synthesize([request()])
    assert not _live


def test_an_engine_error_answer_names_the_clip(tmp_path: Path) -> None:
    engine = HibariEngine(command=broken_worker(
        tmp_path, "import json, sys\nfor line in sys.stdin:\n"
                  "    print(json.dumps({'error': 'ValueError: bad input'}), flush=True)\n"))
    with pytest.raises(EngineError, match="hibari could not speak 'Ten seconds.*bad input"):
        engine.synthesize([request()])


# ---------------------------------------------------------------------------
# Choosing the voice, as a user does


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


SHORT = "title: T\nlanguage: {language}\nstages:\n  - name: A\n    duration: 6\n    say: {say}\n"


def voices_used(tmp_path: Path, *args: str, language: str = "en", say: str = "Hello there.",
                extra: str = "") -> set[tuple[str, str | None]]:
    script = tmp_path / "drill.yaml"
    script.write_text(extra + SHORT.format(language=language, say=say), encoding="utf-8")
    code, out, err = run("plan", str(script), "--json", *args)
    assert code == 0, err
    return {e["voice"] for e in json.loads(out)["events"] if e["type"] == "speech"}


def test_english_without_a_voice_speaks_naturally_other_languages_fall_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """hibari for English; a language it lacks falls back to espeak-ng where Pico is not
    installed (Pico's own choice is in tests/speech/test_pico.py)."""
    from voiceguide.speech.pico_engine import PicoEngine

    monkeypatch.setattr(PicoEngine, "_exe", None)
    assert voices_used(tmp_path) == {"heart"}
    assert voices_used(tmp_path, language="de", say="Hallo.") == {"gmw/de"}
    assert voices_used(tmp_path, extra="voice: gmw/en-us\n") == {"gmw/en-us"}  # named: kept


def test_engine_alone_switches_to_its_voice_for_the_language(tmp_path: Path) -> None:
    assert voices_used(tmp_path, "--engine", "espeak-ng") == {"gmw/en-us"}
    profile = "voices:\n  coach: {engine: hibari, voice: heart, rate: 160}\nvoice: coach\n"
    assert voices_used(tmp_path, "--engine", "pyttsx3", extra=profile) == {"coach"}
    # --voice ID picks the engine that has it
    assert voices_used(tmp_path, "--voice", "gmw/en-gb-x-rp", extra=profile) == {"coach"}


def test_an_option_that_cannot_work_is_blamed_not_the_script(tmp_path: Path) -> None:
    script = tmp_path / "drill.yaml"
    script.write_text(SHORT.format(language="en", say="Hi."), encoding="utf-8")
    code, _, err = run("check", str(script), "--voice", "emma")
    assert code == 2
    assert err.startswith("voiceguide: --voice emma: the hibari voice 'emma' is not on this "
                          "machine")
    german = tmp_path / "de.yaml"
    german.write_text(SHORT.format(language="de", say="Hallo."), encoding="utf-8")
    code, _, err = run("check", str(german), "--engine", "hibari")
    assert code == 2
    assert err == ("voiceguide: --engine hibari: the hibari engine has no voice for language "
                   "'de' (see voiceguide voices --engine hibari)\n")


def test_say_auditions_the_natural_voice_by_default(tmp_path: Path) -> None:
    target = tmp_path / "heart.wav"
    code, out, err = run("say", TEXT, "-o", str(target))
    assert code == 0, err
    assert out == f"{target}\n"
    assert wav.speech_problem(target.read_bytes()) is None


@pytest.mark.parametrize(("args", "message"), [
    (["say", ""], "give some text to speak"),
    (["say", "  "], "give some text to speak"),
    (["say", "Hi.", "-o", "hi.ogg"], "say writes .mp3 or .wav files"),
    (["say", "Hi.", "--engine", "nope"], "'nope' is not one of"),
])
def test_say_usage_errors(args: list[str], message: str) -> None:
    code, _, err = run(*args)
    assert code == 2
    assert message in err


def test_voices_say_engine_language_and_whether_offline() -> None:
    code, out, _ = run("voices", "--engine", "hibari", "--json")
    assert code == 0
    listed = {v["id"]: v for v in json.loads(out)}
    assert listed["heart"]["offline"] is True and listed["heart"]["language"] == "en-us"
    assert listed["emma"]["offline"] is False
    code, out, _ = run("voices", "--language", "en")
    rows = [line.split() for line in out.splitlines() if not line.startswith(("#", "ENGINE"))]
    assert ["hibari", "heart", "en-us", "ready"] in [row[:4] for row in rows]


def test_a_language_shaped_id_suggests_the_real_one() -> None:
    reason = SpeechLibrary().problem("pyttsx3", "gmw/en-gb")
    assert reason is not None and reason.endswith("did you mean 'gmw/en'?")


def test_no_worker_runs_in_the_main_process(tmp_path: Path) -> None:
    """Importing and using the engine never loads onnxruntime in the process that uses it
    (a fresh one: other tests load the worker's code here on purpose)."""
    code = ("import sys\n"
            "from voiceguide.speech import SpeechRequest\n"
            "from voiceguide.speech.hibari_engine import HibariEngine\n"
            "clip, = HibariEngine().synthesize([SpeechRequest('hibari', 'heart', 165, "
            f"{TEXT!r})])\n"
            "assert clip[:4] == b'RIFF'\n"
            "print('onnxruntime' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


CRASH_ON_SECOND_CLIP = """\
import json, math, struct, sys, wave
job = json.loads(sys.stdin.readline())
with wave.open(job["output"], "wb") as out:
    out.setnchannels(1)
    out.setsampwidth(2)
    out.setframerate(24000)
    out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(9000)))
print(json.dumps({"ok": True}), flush=True)
sys.stdin.readline()
raise SystemExit("onnxruntime crashed")
"""


def test_an_engine_crash_mid_build_keeps_the_earlier_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The natural voice's worker dies during a real build: one line, exit 1, nothing lost."""
    monkeypatch.setattr(hibari_engine, "WORKER", broken_worker(tmp_path, CRASH_ON_SECOND_CLIP))
    script = tmp_path / "drill.yaml"
    script.write_text(SHORT.format(language="en", say="[Hello there., Stand tall.]"),
                      encoding="utf-8")
    target = tmp_path / "out.mp3"
    target.write_bytes(b"an earlier session")
    code, out, err = run("build", str(script), "-o", str(target))
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("voiceguide: hibari could not speak") and "onnxruntime crashed" in err
    assert target.read_bytes() == b"an earlier session"
    # nothing beside the script but the cache, which keeps the clip spoken before the crash
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "drill.yaml", "out.mp3",
                                                           "worker.py"]
    assert len(list((tmp_path / "cache" / "voiceguide" / "speech").glob("??/*.clip"))) == 1
    assert not _live


@pytest.mark.parametrize("engine", ["hibari", "espeak-ng", "pyttsx3"])
def test_prefetch_reports_every_clip_as_it_is_made(engine: str) -> None:
    heard: list[tuple[int, int]] = []
    voice = "heart" if engine == "hibari" else "gmw/en-us"
    requests = [SpeechRequest(engine, voice, 170, f"Clip number {n}.") for n in range(5)]
    SpeechLibrary().prefetch(requests, lambda done, total: heard.append((done, total)))
    assert heard == [(n, 5) for n in range(6)]


# ---------------------------------------------------------------------------
# Speaking on every core: one model loaded, forked speakers


def _speakers(worker: WorkerProcess) -> list[int]:
    """The speaker processes the worker forked (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{worker.proc.pid}/task").glob("*"):
        found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


def _job(n: int, folder: Path, text: str) -> dict[str, object]:
    return {"id": n, "text": text, "voice": "heart", "speed": speed_for(165),
            "output": str(folder / f"{n}.wav")}


def _ended(pid: int) -> None:
    """Waits, without polling, until process *pid* (not ours) has ended."""
    import os
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        select.select([fd], [], [], 60)
    finally:
        os.close(fd)


TEXTS = [f"Stage {n} of six. Keep your shoulders low and your chest open." for n in range(6)]


def test_speakers_on_two_cores_make_the_clips_one_makes(tmp_path: Path) -> None:
    one = HibariEngine(workers=1).synthesize([request(t) for t in TEXTS])
    two = HibariEngine(workers=2).synthesize([request(t) for t in TEXTS])
    assert one == two
    with WorkerProcess(["--workers", "2", "--voices", "heart"], 120,
                       hibari_engine.WORKER) as worker:
        for n, text in enumerate(TEXTS):
            worker.send(_job(n, tmp_path, text))
        answers = [worker.read_json("speaking") for _ in TEXTS]
    assert sorted(a["id"] for a in answers) == list(range(len(TEXTS)))
    assert all(a.get("ok") for a in answers)
    assert len({a["speaker"] for a in answers}) == 2  # both speakers spoke
    assert [(tmp_path / f"{n}.wav").read_bytes() for n in range(len(TEXTS))] == one


def test_a_speaker_that_dies_leaves_the_other_to_speak(tmp_path: Path) -> None:
    import os
    import signal

    with WorkerProcess(["--workers", "2", "--voices", "heart"], 120,
                       hibari_engine.WORKER) as worker:
        worker.send(_job(0, tmp_path, TEXTS[0]))
        assert worker.read_json("speaking").get("ok")  # the speakers are forked by now
        # and on a cold store a child keeping the voice's tables aside, until it is done
        first, second = until(lambda: len(pids := _speakers(worker)) == 2 and pids,
                              "the two speakers alone")
        os.kill(first, signal.SIGKILL)
        _ended(first)
        for n in range(1, 4):
            worker.send(_job(n, tmp_path, TEXTS[n]))
        answers = [worker.read_json("speaking") for _ in range(3)]
        assert all(a.get("ok") and a["speaker"] == second for a in answers)
        os.kill(second, signal.SIGKILL)
        _ended(second)
        worker.send(_job(4, tmp_path, TEXTS[4]))
        assert worker.read_json("speaking") == {"id": 4, "error": "no speaker is left"}


@pytest.mark.parametrize(("script", "speaks"), [
    ("voices:\n  coach: {engine: hibari, rate: 170}\nvoice: coach\n", True),
    ("voices:\n  coach: {voice: gmw/en-us}\nvoice: coach\n", False),  # pyttsx3's profile
    ("", True),  # English with no voice named: the natural voice
    ("language: de\n", False),
    ("voice: heart\n", True),
    ("voice: gmw/en-us\n", False),
    ("voices: [not, profiles]\n", True),  # a broken script: read properly by the build
    ("stages: [\n", False),  # not YAML
])
def test_a_quick_read_says_whether_the_natural_voice_may_speak(
        tmp_path: Path, script: str, speaks: bool) -> None:
    path = tmp_path / "drill.yaml"
    path.write_text("title: T\n" + script + ("" if "stages" in script else
                                              "stages: [{name: A, duration: 5}]\n"))
    assert hibari_engine.may_speak(path) is speaks


def test_the_early_worker_speaks_the_same_clips_as_one_started_late() -> None:
    """Started before the build knows it needs one, the worker is taken by the first batch
    its voices serve, which gets the very bytes a worker started then would give."""
    late = HibariEngine(workers=2).synthesize([request(t) for t in TEXTS[:3]])
    hibari_engine.start_early(2)
    assert hibari_engine._early is not None
    early = hibari_engine._early[1]
    assert hibari_engine._taken_early(["emma"]) is None  # a voice it did not load: not taken
    assert HibariEngine(workers=2).synthesize([request(t) for t in TEXTS[:3]]) == late
    assert hibari_engine._early is None and early.proc.returncode is not None  # used, ended
    assert not _live


def test_an_early_worker_no_batch_needs_is_stopped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build whose every clip is in the cache: the worker started early ends with the
    clips found; a build the natural voice never speaks in starts none."""
    from voiceguide import tools

    monkeypatch.setattr(tools, "cores_per_build", lambda: 2)  # a core to spare, always
    started: list[WorkerProcess] = []
    real = hibari_engine.start_early

    def watched(workers: int) -> None:
        real(workers)
        if hibari_engine._early is not None:
            started.append(hibari_engine._early[1])

    monkeypatch.setattr(hibari_engine, "start_early", watched)
    script = tmp_path / "drill.yaml"
    script.write_text(SHORT.format(language="en", say="Hello there."), encoding="utf-8")
    assert run("build", str(script), "-o", str(tmp_path / "a.mp3"))[0] == 0
    assert len(started) == 1  # and taken: the clip was new
    assert run("build", str(script), "-o", str(tmp_path / "b.mp3"))[0] == 0
    assert len(started) == 2 and started[1].proc.returncode is not None  # ended, unused
    assert (tmp_path / "a.mp3").read_bytes() == (tmp_path / "b.mp3").read_bytes()
    assert not _live and hibari_engine._early is None
    espeak = tmp_path / "espeak.yaml"
    espeak.write_text("voices:\n  coach: {voice: gmw/en-us}\nvoice: coach\n" +
                      SHORT.format(language="en", say="Hello there."), encoding="utf-8")
    assert run("build", str(espeak), "-o", str(tmp_path / "c.mp3"))[0] == 0
    assert len(started) == 2 and not _live  # none for a build in espeak-ng's voice


@pytest.mark.parametrize(("args", "starts"), [
    (["build", "{natural}"], True),
    (["build", "{natural}", "-o", "out.mp3", "--quiet"], True),
    (["plan", "{natural}", "--json"], True),
    (["check", "{natural}"], True),
    (["say", "Ten seconds."], True),
    (["build", "{espeak}"], False),  # the script's own voice is espeak-ng's
    (["build", "{natural}", "{espeak}"], False),  # several: the command decides
    (["build", "{natural}", "--engine", "espeak-ng"], False),
    (["say", "Ten seconds.", "--engine=espeak-ng"], False),
    (["build", "{natural}", "--scheduler", "tcp://127.0.0.1:8786"], False),
    (["say", "--help"], False),
    (["voices"], False),
    ([], False),
])
def test_the_command_line_is_glanced_at_to_start_the_worker_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], starts: bool) -> None:
    """``voiceguide``'s entry starts the natural voice's worker before the command's own
    imports, for a single script's build, plan or check that may speak, or a say, that
    leave the engine to its default; every other command line is left to the command."""
    import voiceguide.__main__ as entry
    from voiceguide import tools

    natural, espeak = tmp_path / "drill.yaml", tmp_path / "espeak.yaml"
    natural.write_text(SHORT.format(language="en", say="Hello."), encoding="utf-8")
    espeak.write_text("voices:\n  coach: {voice: gmw/en-us}\nvoice: coach\n" +
                      SHORT.format(language="en", say="Hello."), encoding="utf-8")
    started: list[int] = []
    monkeypatch.setattr(hibari_engine, "start_early", started.append)
    monkeypatch.setattr(tools, "cores_per_build", lambda: 2)
    entry._speak_first([a.format(natural=natural, espeak=espeak) for a in args])
    assert started == ([2] if starts else [])


def test_the_commands_glanced_at_are_those_that_start_the_worker_themselves() -> None:
    import ast
    import inspect

    import voiceguide.__main__ as entry
    import voiceguide.cli as cli

    calling = {node.name for node in ast.walk(ast.parse(inspect.getsource(cli)))
               if isinstance(node, ast.FunctionDef) and node.name != "_speak_early"
               and any(isinstance(c, ast.Call) and getattr(c.func, "id", "") == "_speak_early"
                       for c in ast.walk(node))}
    assert calling == set(entry.SPEAKING)


def test_a_worker_started_by_the_entry_is_not_guessed_at_again_by_the_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The script is read once for the guess: the command finds the worker started."""
    import voiceguide.__main__ as entry
    import voiceguide.cli as cli
    from voiceguide import tools

    script = tmp_path / "drill.yaml"
    script.write_text(SHORT.format(language="en", say="Hello."), encoding="utf-8")
    reads = recorded(monkeypatch, hibari_engine, "may_speak")
    monkeypatch.setattr(tools, "cores_per_build", lambda: 2)
    try:
        entry._speak_first(["build", str(script)])
        early = hibari_engine._early
        assert early is not None and hibari_engine.started_early()
        cli._speak_early(None, script)
        assert reads == [script] and hibari_engine._early is early
    finally:
        hibari_engine.stop_early()
    assert not hibari_engine.started_early()


@pytest.mark.parametrize("where", ["HIBARI_HOME", "XDG_CACHE_HOME", "HOME"])
def test_voice_models_are_found_where_hibari_finds_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """The rule that finds a voice's model without importing hibari gives hibari's own
    answer for every voice, present or not, wherever its cache folder is set."""
    import hibari.voices as voices

    for name in ("HIBARI_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(where, str(tmp_path))
    folder = tmp_path if where == "HIBARI_HOME" else \
        tmp_path / ("hibari" if where == "XDG_CACHE_HOME" else ".cache/hibari")
    registry = hibari_data.registry()
    fetched = [n for n, e in registry.items() if not e.get("bundled")][0]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / registry[fetched]["file"]).write_bytes(b"a model fetched once")
    found = []
    for name, entry in registry.items():
        try:
            theirs = voices.voice_path(name, download_missing=False)
        except FileNotFoundError:
            with pytest.raises(FileNotFoundError):
                hibari_engine._voice_path(name, entry)
            continue
        assert str(hibari_engine._voice_path(name, entry)) == theirs
        found.append(name)
    assert fetched in found and hibari_engine.DEFAULT_VOICE in found


def test_finding_the_voices_imports_neither_hibari_nor_its_downloads() -> None:
    found = subprocess.run([sys.executable, "-c", (
        "import sys\n"
        "from voiceguide.speech.hibari_engine import HibariEngine\n"
        "engine = HibariEngine()\n"
        "assert engine.problem() is None and engine.voices(), engine.problem()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('hibari', 'urllib.request'))))")],
        capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_a_worker_that_stops_under_a_memory_limit_is_the_machines_problem(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """It may not live to say why (glibc aborts a thread it cannot give memory to); a
    worker that stops without a limit, or one that only hangs, is the clip's failure."""
    from voiceguide.speech.workerproc import WorkerFailure

    said = request("Steady now.")
    stopped = WorkerFailure("the worker process stopped: cannot allocate memory", True)
    hung = WorkerFailure("no answer within 120 s while speaking")
    monkeypatch.setattr(hibari_engine, "memory_limit_mb", lambda: 230)
    assert isinstance(HibariEngine._failed(said, stopped), MemoryError)
    assert isinstance(HibariEngine._failed(said, hung), EngineError)
    monkeypatch.setattr(hibari_engine, "memory_limit_mb", lambda: None)
    assert isinstance(HibariEngine._failed(said, stopped), EngineError)


def test_a_speaker_lost_under_a_memory_limit_answers_that_memory_ran_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from voiceguide.speech import _hibari_worker as worker

    monkeypatch.setattr(worker, "memory_limit_mb", lambda: 230)
    assert worker._lost({"id": 3}, "the speech engine stopped (exit status 1)") == {
        "id": 3, "error": "the speech engine stopped (exit status 1)", "memory": True}
    monkeypatch.setattr(worker, "memory_limit_mb", lambda: None)
    assert worker._lost({"id": 3}, "no speaker is left") == {
        "id": 3, "error": "no speaker is left"}
