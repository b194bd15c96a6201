"""Failures of the machine, not the script: exit 1 and one line that says what to do."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main
from voiceguide.speech import command_engine

SHORT = "title: T\nstages:\n  - name: A\n    duration: 6\n    say: Hello there.\n"


pytestmark = pytest.mark.usefixtures("private_cache")  # see conftest.py


def write(folder: Path, text: str = SHORT) -> Path:
    path = folder / "drill.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def one_line(result_stderr: str, *parts: str) -> None:
    assert "Traceback" not in result_stderr
    lines = result_stderr.splitlines()
    assert len(lines) == 1, result_stderr
    assert lines[0].startswith("voiceguide: ")
    for part in parts:
        assert part in lines[0], lines[0]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr


def path_without(tmp_path: Path, *programs: str) -> str:
    """A PATH holding links to everything on the real PATH except *programs*."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            if entry.name not in programs and not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
    return str(folder)


def test_ffmpeg_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", path_without(tmp_path, "ffmpeg"))
    target = tmp_path / "out.mp3"
    code, err = run("build", str(write(tmp_path)), "-o", str(target))
    assert code == 1
    one_line(err, "ffmpeg is not installed", "sudo apt-get install ffmpeg")
    assert not target.exists()


def test_ffmpeg_missing_when_checking_a_script_with_sound_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(Path(__file__).parent.parent.parent / "sounds" / "chime.wav", tmp_path / "ding.wav")
    script = write(tmp_path, SHORT.replace("stages:", "sounds: {ding: ding.wav}\nstages:"))
    monkeypatch.setenv("PATH", path_without(tmp_path, "ffmpeg"))
    code, err = run("check", str(script))
    assert code == 1  # not the script's fault: no located line, no exit 2
    one_line(err, "sudo apt-get install ffmpeg")


def test_espeak_ng_program_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = write(tmp_path, SHORT.replace("stages:", "voices: {c: {engine: espeak-ng}}\n"
                                           "voice: c\nstages:"))
    monkeypatch.setenv("PATH", path_without(tmp_path, "espeak-ng", "espeak"))
    code, err = run("check", str(script))
    assert code == 1
    one_line(err, "espeak-ng", "sudo apt-get install espeak-ng")


def without_package(tmp_path: Path, package: str, *args: str) -> subprocess.CompletedProcess:
    """voiceguide ARGS as a real process, in a Python where *package* cannot be imported."""
    hide = tmp_path / "hide"
    hide.mkdir(exist_ok=True)
    (hide / "sitecustomize.py").write_text(f"import sys\nsys.modules[{package!r}] = None\n")
    env = {**os.environ, "PYTHONPATH": str(hide), "XDG_CACHE_HOME": str(tmp_path / "c")}
    return subprocess.run([sys.executable, "-m", "voiceguide", *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_pyttsx3_missing(tmp_path: Path) -> None:
    """A script that picks an espeak-ng voice, in a Python without pyttsx3."""
    script = write(tmp_path, SHORT.replace("stages:", "voice: gmw/en-us\nstages:"))
    done = without_package(tmp_path, "pyttsx3", "check", str(script))
    assert done.returncode == 1, done.stderr
    one_line(done.stderr, "pip install pyttsx3 and sudo apt-get install espeak-ng")


def test_natural_voice_missing_falls_back_to_the_next_clearest(tmp_path: Path) -> None:
    """Without hibari, an English script that picks no voice is spoken by the next clearest
    engine installed (Pico, else espeak-ng), and one line says how to get the natural
    voice."""
    from voiceguide.speech.pico_engine import PicoEngine

    engine, voice = ("pico", "en-US") if PicoEngine().problem() is None else (
        "espeak-ng", "gmw/en-us")
    target = tmp_path / "out.mp3"
    done = without_package(tmp_path, "hibari", "build", str(write(tmp_path)), "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f"voiceguide: speaking with {engine}; for a natural voice, the hibari engine needs "
        "the hibari-tts package: pip install hibari-tts"]
    assert target.stat().st_size > 0
    plan = without_package(tmp_path, "hibari", "plan", str(write(tmp_path)), "--json")
    voices = {e["voice"] for e in json.loads(plan.stdout)["events"] if e["type"] == "speech"}
    assert voices == {voice}


def test_profile_with_missing_natural_engine(tmp_path: Path) -> None:
    """A profile that names hibari where it is not installed: exit 1, how to install it."""
    script = write(tmp_path, SHORT.replace("stages:", "voices:\n  c: {engine: hibari, voice: heart}"
                                           "\nvoice: c\nstages:"))
    done = without_package(tmp_path, "hibari", "check", str(script))
    assert done.returncode == 1, done.stderr
    one_line(done.stderr, "pip install hibari-tts")


def test_output_path_is_a_folder(tmp_path: Path) -> None:
    code, err = run("build", str(write(tmp_path)), "-o", str(tmp_path))
    assert code == 1
    one_line(err, "is a folder; give a file name such as")


def test_output_folder_unwritable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    tmp_path.chmod(0o755)
    command = [sys.executable, "-m", "voiceguide", "build", str(write(tmp_path)), "-o",
               str(locked / "out.mp3")]
    if os.geteuid() == 0:  # root writes anywhere: drop that power for this one process
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("as root, an unwritable folder needs setpriv (util-linux)")
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "c")})
    assert done.returncode == 1, done.stderr
    one_line(done.stderr, f"cannot write to folder {locked}: permission denied")
    assert list(locked.iterdir()) == []


def test_disk_full_part_way_keeps_the_previous_file(tmp_path: Path, private_cache: Path) -> None:
    """The file-size limit stands in for a full disk: ffmpeg is stopped part-way through."""
    script = write(tmp_path)
    code, err = run("build", str(script), "-o", str(tmp_path / "warm.mp3"))  # warms the cache
    assert code == 0, err
    target = tmp_path / "session.mp3"
    target.write_bytes(b"the earlier session")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16_000, 16_000))

    done = subprocess.run(
        [sys.executable, "-B", "-m", "voiceguide", "build", str(script), "-o", str(target)],
        capture_output=True, text=True, timeout=120, check=False, preexec_fn=limit,
        env={**os.environ, "XDG_CACHE_HOME": str(private_cache)},
    )
    assert done.returncode == 1, done.stderr
    one_line(done.stderr, "not enough space to write", "free some disk space",
             "earlier file there is unchanged")
    assert target.read_bytes() == b"the earlier session"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["drill.yaml", "session.mp3", "warm.mp3"]


def command_voice(*program: str) -> str:
    argv = ", ".join(repr(a) for a in program)
    return SHORT.replace("stages:", f"voices: {{c: {{engine: command, command: [{argv}]}}}}\n"
                         "voice: c\nstages:")


def test_a_crashing_engine_names_the_clip(tmp_path: Path) -> None:
    script = write(tmp_path, command_voice(sys.executable, "-c",
                                           "import sys; sys.exit('tts exploded')", "{output}"))
    code, err = run("build", str(script), "-o", str(tmp_path / "out.mp3"), "--allow-commands")
    assert code == 1
    one_line(err, "failed on 'Stage 1. A.'", "tts exploded")
    assert not (tmp_path / "out.mp3").exists()


def test_a_hanging_engine_times_out_and_names_the_clip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(command_engine, "TIMEOUT_S", 1)
    script = write(tmp_path, command_voice(sys.executable, "-c", "import time; time.sleep(60)",
                                           "{output}"))
    monkeypatch.setenv("VOICEGUIDE_ALLOW_COMMANDS", "1")
    code, err = run("check", str(script))
    assert code == 1
    one_line(err, "took over 1 s on 'Stage 1. A.'")


def test_say_writes_a_wav_whole_into_a_new_folder(tmp_path: Path) -> None:
    target = tmp_path / "new" / "clip.wav"
    code, err = run("say", "Ten seconds.", "--engine", "espeak-ng", "-o", str(target))
    assert code == 0, err
    assert target.read_bytes()[:4] == b"RIFF"
    assert target.stat().st_mode & 0o644 == 0o644  # readable like any file the user saves
    assert [p.name for p in target.parent.iterdir()] == ["clip.wav"]


def test_say_into_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, err = run("say", "Ten seconds.", "--engine", "espeak-ng", "-o",
                    str(blocker / "clip.wav"))
    assert code == 1
    one_line(err, f"cannot write to {blocker}")


@pytest.mark.parametrize("decoder", ["sound", "music"])
def test_a_stuck_decoder_is_killed_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             decoder: str) -> None:
    """A streaming ffmpeg that gives nothing while voiceguide waits on it is stopped:
    one line saying what it was decoding, no process left behind."""
    from voiceguide import tools
    from voiceguide.audio import beds, decode, sounds
    from voiceguide.errors import AudioError

    stuck = tmp_path / "ffmpeg"
    stuck.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'pid'}\nexec sleep 600\n")
    stuck.chmod(0o755)
    monkeypatch.setattr(decode, "ffmpeg_path", lambda: str(stuck))
    monkeypatch.setattr(tools, "STREAM_STALL_S", 0.5)
    wav = tmp_path / "song.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(44100)
        out.writeframes(bytes(4410))
    with pytest.raises(AudioError, match=r"ffmpeg (gave nothing|took over) .*0\.5 s decoding "
                                         r"song\.wav.*; try again"):
        if decoder == "sound":
            sounds.decode_bytes(wav.read_bytes(), "wav", "song.wav")
        else:
            list(beds.decode_stream(wav, "song.wav", 44100))
    pid = int((tmp_path / "pid").read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
