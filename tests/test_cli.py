"""The command line as users meet it: exit codes, messages, and no tracebacks."""

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from voiceguide.cli import main

SHORT = """\
title: Short drill
voices:
  coach: {voice: gmw/en-us, rate: 170}
voice: coach
stages:
  - name: Warm up
    duration: 8..12
    say: Easy does it.
    countdown: 2
"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str, name: str = "drill.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_check_ok(tmp_path: Path) -> None:
    code, out, err = run("check", str(write(tmp_path, SHORT)))
    assert code == 0, err
    assert "ok" in out


def test_check_reports_located_errors_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, SHORT.replace("duration: 8..12", "duratoin: 8..12").replace(
        "rate: 170", "rate: fast"))
    code, out, err = run("check", str(path))
    assert code == 2
    assert err.splitlines() == [
        f"{path}:3:35: rate (words per minute) must be a number, got 'fast'",
        f"{path}:6:5: missing required key 'duration'",
        f"{path}:7:5: unknown key 'duratoin' in a stage; did you mean 'duration'?",
    ]
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["plan"], ["plan", "--json"], ["build"], ["publish"]])
def test_every_command_that_reads_a_script_reports_its_errors_located(
        tmp_path: Path, command: list[str]) -> None:
    """The same lines, exit 2, and nothing written, whichever command read the script."""
    path = write(tmp_path, SHORT.replace("duration: 8..12", "duratoin: 8..12").replace(
        "rate: 170", "rate: fast"))
    out_dir = tmp_path / "out"
    extra = {"build": ["-o", str(out_dir)], "publish": ["--to", str(out_dir)]}.get(command[0], [])
    code, out, err = run(*command, str(path), *extra)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{path}:3:35: rate (words per minute) must be a number, got 'fast'",
        f"{path}:6:5: missing required key 'duration'",
        f"{path}:7:5: unknown key 'duratoin' in a stage; did you mean 'duration'?",
    ]
    assert not out_dir.exists() and sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_publish_whose_script_does_not_fit_its_time_leaves_no_folder(tmp_path: Path) -> None:
    """A problem found only when the speech is timed, after the folder was made for it."""
    path = write(tmp_path, "title: T\nvoice: gmw/en-us\nstages:\n  - name: A\n    duration: 1\n"
                 "    say: far too many words for a stage of a single second, whatever the pace\n")
    code, out, err = run("publish", str(path), "--to", str(tmp_path / "out"))
    assert code == 2 and err.startswith(f"{path}:4:5: stage 1 'A': the start"), err
    assert not (tmp_path / "out").exists()


def test_unknown_voice_is_a_script_error(tmp_path: Path) -> None:
    path = write(tmp_path, SHORT.replace("gmw/en-us", "gmw/en-uss"))
    code, _, err = run("check", str(path))
    assert code == 2
    assert err.strip() == (f"{path}:3:18: voice profile 'coach': the pyttsx3 engine has no "
                           "voice 'gmw/en-uss'; did you mean 'gmw/en-us'?")


def test_check_several_scripts_reports_all(tmp_path: Path) -> None:
    good = write(tmp_path, SHORT, "good.yaml")
    bad = write(tmp_path, "title: x\n", "bad.yaml")
    code, out, err = run("check", str(good), str(bad))
    assert code == 2
    assert f"{good}: ok" in out
    assert err.strip() == f"{bad}:1:1: missing required key 'stages'"


def test_a_cue_that_cannot_fit_names_stage_cue_and_seconds(tmp_path: Path) -> None:
    path = write(tmp_path, SHORT + "    cues:\n      - {before_end: 2.5, say: "
                 "This sentence is far too long to fit.}\n")
    code, _, err = run("check", str(path))
    assert code == 2
    assert err.startswith(f"{path}:11:9: stage 1 'Warm up', cue 1 (before_end 0:02.5)")
    assert "before its countdown" in err


def test_missing_script_exits_2(tmp_path: Path) -> None:
    code, _, err = run("check", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert err.strip() == f"{tmp_path / 'nope.yaml'}:1:1: no such file"


def test_plan_json(tmp_path: Path) -> None:
    code, out, _ = run("plan", str(write(tmp_path, SHORT)), "--json", "--pace", "1")
    assert code == 0
    plan = json.loads(out)
    assert plan["format"] == "voiceguide.plan/1"
    assert [c["title"] for c in plan["chapters"]] == ["Stage 1: Warm up", "Outro"]
    assert plan["chapters"][0] == {"title": "Stage 1: Warm up", "start_s": 0.0, "end_s": 12.0,
                                   "stage": 1, "open": False, "target": None}
    texts = [e.get("text") or e["sound"] for e in plan["events"]]
    assert texts == ["chime", "Stage 1. Warm up.", "Easy does it.", "two", "one", "bell"]
    countdown = [e["start_s"] for e in plan["events"] if e.get("text") in ("two", "one")]
    assert countdown == [10.0, 11.0]


def test_plan_table(tmp_path: Path) -> None:
    code, out, _ = run("plan", str(write(tmp_path, SHORT)), "--pace", "0")
    assert code == 0
    assert "[0:00 – 0:08] Stage 1: Warm up" in out
    assert "coach: Easy does it." in out


def test_length_out_of_reach_is_explained(tmp_path: Path) -> None:
    code, out, err = run("plan", str(write(tmp_path, SHORT)), "--length", "1h", "--json")
    assert code == 0
    assert "out of reach" in err and "at pace 0 to" in err
    assert json.loads(out)["chapters"][0]["end_s"] == 12.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pace", "2"], "2 is not between 0 and 1"),
        (["--pace", "0.5", "--length", "10m"], "give one of them"),
        (["--length", "soon"], "is not a duration"),
        (["--rate", "coach=fast"], "is not a rate"),
        (["--engine", "nope"], "'nope' is not one of"),
        (["--speed", "nan"], "'nan' is not a number"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = run("plan", str(write(tmp_path, SHORT)), *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_unknown_default_voice_from_the_command_line(tmp_path: Path) -> None:
    code, _, err = run("plan", str(write(tmp_path, SHORT)), "--voice", "coach=klingon")
    assert code == 2
    assert "no voice 'klingon'" in err


def test_build_of_an_invalid_script_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.mp3"
    code, _, err = run("build", str(write(tmp_path, "title: x\n")), "-o", str(target))
    assert code == 2
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "drill.yaml"]


def test_build_into_a_missing_folder_exits_1(tmp_path: Path) -> None:
    code, _, err = run("build", str(write(tmp_path, SHORT)), "-o",
                       str(tmp_path / "no" / "such" / "out.mp3"))
    assert code == 1
    assert err.startswith("voiceguide: ") and "does not exist" in err


def test_voices_lists_english(tmp_path: Path) -> None:
    code, out, _ = run("voices", "--language", "en")
    assert code == 0
    ids = [line.split()[1] for line in out.splitlines() if not line.startswith("#")]
    assert "gmw/en-us" in ids and "gmw/de" not in ids


def test_every_command_is_documented_with_an_example() -> None:
    def commands(group: click.Group) -> list[click.Command]:
        found = []
        for command in group.commands.values():
            found += commands(command) if isinstance(command, click.Group) else [command]
        return found

    for command in commands(main):
        assert command.help and "Example:" in command.help, command.name


def test_an_engine_a_profile_chooses_but_is_missing_is_a_located_script_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceguide.speech.festival_engine import FestivalEngine

    monkeypatch.setattr(FestivalEngine, "problem", lambda self: "the festival engine needs "
                        "festival: sudo apt-get install festival festvox-us-slt-hts")
    path = write(tmp_path, SHORT.replace("coach: {voice: gmw/en-us, rate: 170}",
                                         "coach: {engine: festival, voice: cmu_us_slt_arctic_hts}"))
    code, _, err = run("check", str(path))
    assert code == 2
    assert err.strip() == (f"{path}:3:36: voice profile 'coach': the festival engine needs "
                           "festival: sudo apt-get install festival festvox-us-slt-hts")


def test_progress_line_counts_up_and_clears_itself(capsys: pytest.CaptureFixture[str]) -> None:
    from voiceguide.cli.options import Progress

    now = [100.0]
    progress = Progress(clock=lambda: now[0])
    progress.label = "drill.yaml: "
    progress("speaking clips", 0, 30)
    now[0] += 10  # ten clips in ten seconds: twenty more take twenty
    progress("speaking clips", 10, 30)
    progress("speaking clips", 30, 30)
    progress("rendering", 0, 100)
    now[0] += 3
    progress("rendering", 75, 100)
    progress("rendering", 100, 100)
    err = capsys.readouterr().err
    steps = [s.rstrip() for s in err.split("\r") if s.strip()]
    assert steps == ["drill.yaml: speaking clips…",
                     "drill.yaml: speaking clips: 10/30  33%, about 0:20 left",
                     "drill.yaml: speaking clips: 30/30 100%",
                     "drill.yaml: rendering…",
                     "drill.yaml: rendering:  75%, about 0:01 left",
                     "drill.yaml: rendering: 100%"]
    assert err.endswith("\r")


def test_quiet_or_not_a_terminal_means_no_progress(tmp_path: Path) -> None:
    code, out, err = run("build", str(write(tmp_path, SHORT)), "-o", str(tmp_path / "s.mp3"))
    assert code == 0
    assert out == f"{tmp_path / 's.mp3'}\n"
    assert "rendering" not in err


def test_a_bug_is_one_line_without_debug_and_a_traceback_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceguide import session

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(session, "plan", broken)
    script = str(write(tmp_path, SHORT))
    code, _, err = run("plan", script)
    assert code == 1
    assert err == ("voiceguide: internal error (RuntimeError: boom); run again with --debug "
                   "for the traceback and please report it\n")
    result = CliRunner().invoke(main, ["--debug", "plan", script])
    assert isinstance(result.exception, RuntimeError)


def test_a_closed_stdout_is_not_an_error() -> None:
    """The reader is gone before voiceguide writes a byte (as `| head` can be): every write
    meets a broken pipe. One quiet exit 1, nothing on stderr."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "voiceguide", "voices"], stdout=write,
                              stderr=subprocess.PIPE, timeout=60, check=False)
    finally:
        os.close(write)
    assert done.returncode == 1 and done.stderr == b""


def test_init_writes_a_starter_that_builds_from_an_empty_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    code, out, err = run("init")
    assert code == 0 and out == "drill.yaml\n", err
    assert (tmp_path / "drill.yaml").read_text(encoding="utf-8").startswith("# A starter drill")
    code, out, err = run("build", "drill.yaml")
    assert code == 0, err
    assert out == "output/drill.mp3\n" and (tmp_path / "output" / "drill.mp3").stat().st_size
    code, _, err = run("init")
    assert code == 2 and "drill.yaml exists already" in err
    code, out, _ = run("init", "hills.yaml", "--from", "hill_repeats")
    assert code == 0 and (tmp_path / "hills.yaml").read_bytes() == (
        Path(__file__).parent.parent / "scripts_yaml" / "hill_repeats.yaml").read_bytes()


def test_help_examples_name_no_file_of_the_checkout() -> None:
    """A user outside a checkout has no scripts_yaml/: the examples in --help must not need it."""
    from voiceguide.cli import main as group

    texts = [group.help or ""] + [c.help or "" for c in group.commands.values()]
    assert not [t for t in texts if "scripts_yaml" in t]
