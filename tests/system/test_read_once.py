"""Every input is read once: a script given as a stream (``<(cat drill.yaml)``, a FIFO)
can be read only once, and every command that takes a script works from one; and a build
goes on when the speech cache is cleared under it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DRILL = """\
title: Stream drill
voices:
  coach: {engine: espeak-ng, voice: gmw/en-us}
voice: coach
intro: Stand tall.
stages:
  - name: Easy
    duration: 12
    say: Breathe easy and keep the shoulders loose.
    cues:
      - {at: 8, say: Halfway.}
outro: Well done.
"""
BOUND = 120  # seconds: a second read of a FIFO would wait for ever


def vg(*args: str, cwd: Path, env: dict[str, str] | None = None,
       ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voiceguide", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=BOUND, env=env)


@pytest.fixture
def env(private_cache: Path) -> dict[str, str]:
    return {**os.environ, "XDG_CACHE_HOME": str(private_cache)}


def fed_once(fifo: Path, text: str) -> threading.Thread:
    """A writer that gives *fifo* its text to the first reader only."""
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("w") as out:
            out.write(text)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    return writer


@pytest.mark.parametrize("command", [
    ["check"], ["plan"], ["plan", "--json"], ["plan", "--svg", "out.svg"],
    ["build", "-o", "out.mp3"], ["publish", "--to", "site"],
])
def test_every_command_takes_a_script_it_can_read_once(
        tmp_path: Path, env: dict[str, str], command: list[str]) -> None:
    fifo = tmp_path / "drill.yaml"
    writer = fed_once(fifo, DRILL)
    done = vg(command[0], str(fifo), *command[1:], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "empty" not in done.stderr
    writer.join(5)
    assert not writer.is_alive()


def test_a_stream_is_read_once_in_process(tmp_path: Path) -> None:
    """The reader keeps a stream's bytes: asking for them again gives the same, and does
    not wait on the stream for more."""
    from voiceguide.script.source import read_input

    fifo = tmp_path / "drill.yaml"
    fed_once(fifo, DRILL)
    assert read_input(fifo) == DRILL.encode() == read_input(fifo)


def test_a_build_goes_on_when_the_cache_is_cleared_under_it(
        tmp_path: Path, env: dict[str, str]) -> None:
    """Cleared again and again while a cold build runs: the build rebuilds what it lost,
    writes the same bytes as an undisturbed build, and clearing never fails."""
    script = tmp_path / "drill.yaml"
    script.write_text(DRILL.replace("duration: 12", "duration: 30").replace(
        "outro:", "  - {name: More, duration: 20, say: [Keep going., Lift the chest.]}\noutro:"))
    quiet = {**env, "XDG_CACHE_HOME": str(tmp_path / "quiet")}
    assert vg("build", str(script), "-o", "quiet.mp3", cwd=tmp_path, env=quiet).returncode == 0
    busy = {**env, "XDG_CACHE_HOME": str(tmp_path / "busy")}
    build = subprocess.Popen([sys.executable, "-m", "voiceguide", "build", str(script), "-o",
                              "busy.mp3"], cwd=tmp_path, env=busy, text=True,
                             stderr=subprocess.PIPE)
    clears = 0
    while build.poll() is None and clears < 500:
        cleared = vg("cache", "clear", cwd=tmp_path, env=busy)
        assert cleared.returncode == 0, cleared.stderr
        clears += 1
    _, errors = build.communicate(timeout=BOUND)
    assert build.returncode == 0, errors
    assert (tmp_path / "busy.mp3").read_bytes() == (tmp_path / "quiet.mp3").read_bytes()
