"""Interrupted and concurrent builds, as real processes: the file at the target is never a mix.

A forty-minute session is built once to warm the caches; then builds are
interrupted with SIGINT, SIGTERM and SIGKILL while they render, and run two at
a time against one target. (Warm, a build encodes only what sounds: a shorter
session would be written before a signal could reach it.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from held import begun, held, open_gate
from waiting import until

pytestmark = pytest.mark.slow

PREVIOUS = b"ID3 an earlier session that must survive"
TIMEOUT_S = 120


def drill(stages: int) -> str:
    lines = ["title: Long drill", "voices:", "  coach: {voice: gmw/en-us, rate: 170}",
             "voice: coach", "stages:"]
    for i in range(stages):
        lines += [f"  - name: Part {i + 1}", "    duration: 60", "    say: Keep a steady rhythm.",
                  "    cues:", "      - {every: 20, say: Breathe.}", "    countdown: 3"]
    return "\n".join(lines) + "\n"


def many_texts(stages: int) -> str:
    """A drill whose every stage says something of its own: many clips to synthesise."""
    lines = ["title: Many texts", "voices:", "  coach: {voice: gmw/en-us, rate: 170}",
             "voice: coach", "stages:"]
    for i in range(stages):
        lines += [f"  - name: Part {i + 1}", "    duration: 30",
                  f"    say: Part {i + 1}. Keep a steady rhythm, let the shoulders drop, and "
                  f"breathe out slowly over {i + 2} steps while the arms swing back."]
    return "\n".join(lines) + "\n"


class Builds:
    """Runs ``voiceguide build`` processes sharing one speech cache, each tagged to be found."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.script = folder / "drill.yaml"
        self.script.write_text(drill(40), encoding="utf-8")
        self.marker = uuid.uuid4().hex
        self.env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"),
                    "VOICEGUIDE_TEST_MARKER": self.marker}

    def start(self, target: Path, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "build", str(self.script), "-o", str(target),
             "-q", *extra],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def run(self, target: Path, *extra: str) -> bytes:
        process = self.start(target, *extra)
        _, err = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 0, err
        return target.read_bytes()

    def processes(self) -> list[int]:
        """Processes still carrying this fixture's marker (builds, ffmpeg, speech workers)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if f"VOICEGUIDE_TEST_MARKER={self.marker}".encode() in environ:
                found.append(int(entry.name))
        return found

    def wait_until_alone(self) -> list[int]:
        with contextlib.suppress(AssertionError):
            until(lambda: not self.processes(), "the build's processes to end", patience=60)
        return self.processes()


def leftovers(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


def wait_for_temp(process: subprocess.Popen[str], target: Path) -> None:
    """Until the build is writing audio into its temporary file."""
    def writing() -> bool:
        assert process.poll() is None, process.communicate()[1]
        return any(p.stat().st_size > 0 for p in target.parent.glob(f".{target.name}.*.tmp"))
    until(writing, "the build to start writing")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    return Builds(tmp_path_factory.mktemp("interrupt"))


@pytest.fixture(scope="module")
def full(builds: Builds) -> dict[str, bytes]:
    """The whole outputs, at two bit rates (also warms the cache)."""
    return {rate: builds.run(builds.folder / f"full-{rate}.mp3", "--bitrate", rate)
            for rate in ("96k", "64k")}


@pytest.mark.parametrize(("signum", "status", "says"),
                         [(signal.SIGINT, 130, "Aborted!"),
                          (signal.SIGTERM, 143, "voiceguide: terminated")])
def test_a_signal_stops_the_build_and_keeps_the_previous_file(
    builds: Builds, full: dict[str, bytes], tmp_path: Path, signum: int, status: int, says: str
) -> None:
    target = tmp_path / "session.mp3"
    target.write_bytes(PREVIOUS)
    process = builds.start(target)
    wait_for_temp(process, target)
    process.send_signal(signum)
    _, err = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == status, err
    assert err.strip() == says
    assert target.read_bytes() == PREVIOUS
    assert leftovers(target) == []
    assert builds.wait_until_alone() == []


def test_after_sigkill_the_previous_file_survives_and_the_next_build_cleans_up(
    builds: Builds, full: dict[str, bytes], tmp_path: Path
) -> None:
    target = tmp_path / "session.mp3"
    target.write_bytes(PREVIOUS)
    process = builds.start(target)
    wait_for_temp(process, target)
    process.kill()
    process.communicate(timeout=TIMEOUT_S)
    assert builds.wait_until_alone() == []  # its ffmpeg ends when its input does
    assert target.read_bytes() == PREVIOUS
    left = leftovers(target)
    assert left and all(f".{process.pid}." in name for name in left)
    assert builds.run(target) == full["96k"]
    assert leftovers(target) == []


def test_a_killed_build_leaves_no_speech_workers(builds: Builds, tmp_path: Path) -> None:
    """Killed while synthesising into a cold cache, its workers go at once; the clips they
    were making are in no cache entry, and the next run sweeps the scratch folders left."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    cold = {**builds.env, "XDG_CACHE_HOME": str(tmp_path / "cold"), "TMPDIR": str(temp)}
    script = tmp_path / "many.yaml"
    script.write_text(many_texts(150), encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "check", str(script)], env=cold,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    until(lambda: process.poll() is not None or (
        len(builds.processes()) >= 2 and any(temp.glob("voiceguide-*/*.wav"))),
        "the check, a speech worker and a clip it is making")
    assert process.poll() is None
    process.kill()
    process.wait(timeout=TIMEOUT_S)
    assert builds.wait_until_alone() == []
    assert_whole_cache(tmp_path / "cold")
    other = tmp_path / "other.yaml"
    other.write_text("title: Other\nstages: [{name: A, duration: 5, say: Something new.}]\n",
                     encoding="utf-8")
    subprocess.run([sys.executable, "-m", "voiceguide", "check", str(other)], env=cold,
                   check=True, capture_output=True, timeout=TIMEOUT_S)
    assert [p.name for p in temp.glob("voiceguide-*")] == []  # the scratch folders
    # and an entry the kill caught half-written (clips are kept as they are made)
    assert [p.name for p in (tmp_path / "cold").rglob(".*.tmp")] == []


def assert_whole_cache(root: Path) -> None:
    """No half-written clip is in the cache (only, perhaps, a temporary file the next run
    removes), and every clip in it reads back whole."""
    from voiceguide.store import Entries

    files = [p for p in root.rglob("*") if p.is_file()]
    assert [p.name for p in files if p.name.startswith(".") and not p.name.endswith(".tmp")] == []
    cache = Entries(root / "voiceguide" / "speech")
    for entry in cache.entries():
        assert cache.get(entry.name.removesuffix(entry.suffix)) is not None, entry


def test_two_builds_to_one_target_leave_one_whole_file(
    builds: Builds, full: dict[str, bytes], tmp_path: Path
) -> None:
    target = tmp_path / "session.mp3"
    first, second = builds.start(target, "--bitrate", "96k"), builds.start(target, "--bitrate", "64k")
    for process in (first, second):
        _, err = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode == 0, err
    assert target.read_bytes() in (full["96k"], full["64k"])
    assert leftovers(target) == []


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_an_interrupted_natural_voice_leaves_no_worker(tmp_path: Path, signum: int) -> None:
    """Stopped while hibari's worker speaks into a cold cache: the worker goes too."""
    builds = Builds(tmp_path)
    builds.script.write_text(drill(6).replace("{voice: gmw/en-us,", "{engine: hibari, voice: heart,"),
                             encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "check", str(builds.script)], env=builds.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    until(lambda: process.poll() is not None or len(builds.processes()) >= 2,
          "the check and hibari's worker")
    assert process.poll() is None
    process.send_signal(signum)
    process.wait(timeout=TIMEOUT_S)
    assert process.returncode == (-signal.SIGKILL if signum == signal.SIGKILL else 143)
    assert builds.wait_until_alone() == []


def test_a_build_with_music_stops_cleanly(tmp_path: Path) -> None:
    """SIGTERM while a build mixes its music bed: exit 143, the earlier file kept, no ffmpeg
    decoding the music left behind, no temporary file."""
    builds = Builds(tmp_path)
    builds.script.write_text(drill(6).replace("stages:", "music: {files: [soft_loop]}\n"
                                              "cadence: 170\nstages:"), encoding="utf-8")
    builds.run(tmp_path / "warm.mp3")  # speech and the music's level cached
    for made in ("islands", "levels"):  # but not the pieces: this build mixes and encodes
        shutil.rmtree(tmp_path / "cache" / "voiceguide" / made)
    target = tmp_path / "session.mp3"
    target.write_bytes(PREVIOUS)
    process = builds.start(target)
    wait_for_temp(process, target)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 143, err
    assert target.read_bytes() == PREVIOUS
    assert leftovers(target) == []
    assert builds.wait_until_alone() == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_builds_with_more_queued_than_running_is_one_line(
        tmp_path: Path, signum: int) -> None:
    """Two builds running, three queued behind them: a stop is one line, exit 143, no
    thread's traceback (the pool's thread raised when it failed a queued build that had
    been cancelled), and nothing written."""
    names, started, gate = held(tmp_path, "one", "two", "three", "four", "five")
    scripts = [str(tmp_path / name) for name in names]
    (tmp_path / "out").mkdir()
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    process = subprocess.Popen([sys.executable, "-m", "voiceguide", "build", *scripts, "-o",
                                str(tmp_path / "out"), "--jobs", "2", "--allow-commands"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    try:
        until(lambda: len(begun(started)) == 2, "two builds to be running, three queued")
        process.send_signal(signum)
        _, err = process.communicate(timeout=120)
    finally:
        open_gate(gate)  # whatever still waits goes on
        if process.poll() is None:
            process.kill()
            process.wait(30)
    assert process.returncode == 143, err
    assert err.splitlines() == ["voiceguide: terminated"], err
    assert list((tmp_path / "out").iterdir()) == []
    assert len(begun(started)) == 2  # the queued builds never started
