"""``build --jobs N``: several scripts at once, the same bytes as one at a time."""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from waiting import alive, children, until

DRILL = """title: {title}
voices:
  coach: {{engine: espeak-ng, voice: gmw/en-us}}
voice: coach
stages:
  - name: Warm up
    duration: 8
    say: Easy pace. {title}.
  - name: Strides
    duration: 9
    countdown: 3
    say: Quick feet.
"""


def scripts(folder: Path, count: int = 3) -> list[Path]:
    paths = []
    for number in range(count):
        path = folder / f"drill{number}.yaml"
        path.write_text(DRILL.format(title=f"Drill {number}"), encoding="utf-8")
        paths.append(path)
    return paths


def build(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voiceguide", "build", *args], text=True,
                          capture_output=True, timeout=300, check=False,
                          env={**os.environ, "XDG_CACHE_HOME": str(cache)})


def test_jobs_build_the_same_bytes_as_one_at_a_time(tmp_path: Path) -> None:
    paths = [str(p) for p in scripts(tmp_path)]
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    together = build(*paths, "-o", str(tmp_path / "two"), "--jobs", "2", cache=tmp_path / "c2")
    assert together.returncode == 0, together.stderr
    alone = build(*paths, "-o", str(tmp_path / "one"), "--jobs", "1", cache=tmp_path / "c1")
    assert alone.returncode == 0, alone.stderr
    names = [f"drill{n}.mp3" for n in range(3)]
    assert together.stdout.split() == [str(tmp_path / "two" / name) for name in names]
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_a_bad_script_among_jobs_is_one_located_line(tmp_path: Path) -> None:
    good, bad = scripts(tmp_path, 2)
    bad.write_text("title: T\nstages:\n  - name: A\n    duration: soon\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    done = build(str(good), str(bad), "-o", str(tmp_path / "out"), "-j", "2",
                 cache=tmp_path / "c")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{bad}:4:15: ") and "Traceback" not in lines[0]
    assert not (tmp_path / "out" / "drill1.mp3").exists()


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C", "SIGKILL"])
def test_a_stop_reaches_every_job_and_the_queued_ones_never_start(tmp_path: Path,
                                                                   how: str) -> None:
    """Three builds, two at a time: stopped while two are writing, nothing is replaced,
    the third never starts, no temporary file stays and no worker runs on (after SIGKILL
    of the main process too: its workers notice and stop)."""
    paths = [str(p) for p in scripts(tmp_path, 3)]
    long = DRILL.replace("duration: 9", "duration: 3600").replace("countdown: 3", "countdown: 3\n"
                         "    cues:\n      - every: 5\n        say: Keep going.")
    for path in paths:
        Path(path).write_text(long.format(title=Path(path).stem), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    names = [f"drill{n}.mp3" for n in range(3)]
    for name in names:
        (out / name).write_bytes(b"earlier")
    process = subprocess.Popen([sys.executable, "-m", "voiceguide", "build", *paths, "-o",
                                str(out), "-j", "2", "-q"],
                               env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "c")},
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    until(lambda: len(list(out.glob(".*.tmp"))) == 2 or process.poll() is not None,
          "both running builds to write their MP3s")
    assert process.poll() is None, "the builds ended before the stop"
    workers = children(process.pid)
    assert len(workers) >= 2
    if how == "SIGTERM":
        process.send_signal(signal.SIGTERM)
    elif how == "Ctrl-C":
        os.killpg(process.pid, signal.SIGINT)  # as a terminal sends it: to every process
    else:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=120)  # not its stderr: an orphaned worker would hold that open
    until(lambda: not any(alive(w) for w in workers), "the workers to stop", patience=60)
    assert process.stderr is not None
    err = process.stderr.read()
    process.stderr.close()
    assert process.returncode == {"SIGTERM": 143, "Ctrl-C": 130, "SIGKILL": -9}[how], err
    assert sorted(p.name for p in out.iterdir()) == names
    assert all((out / name).read_bytes() == b"earlier" for name in names)
    if how != "SIGKILL":
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_builds_at_once_share_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """With --jobs, each build speaks, prepares and encodes on its share of the cores."""
    from voiceguide import tools
    from voiceguide.mp3.islands import Encoding
    from voiceguide.speech import SpeechLibrary

    monkeypatch.setattr(tools, "cores", lambda: 4)
    monkeypatch.setattr(tools, "_builds_at_once", 1)
    assert tools.cores_per_build() == 4
    tools.share_cores(2)  # what each --jobs 2 worker does as it starts
    assert tools.cores_per_build() == 2
    assert SpeechLibrary().engine("hibari").workers == 2  # type: ignore[attr-defined]
    assert SpeechLibrary().engine("espeak-ng").jobs == 2  # type: ignore[attr-defined]
    assert Encoding.__dataclass_fields__["threads"].default_factory() == 2  # type: ignore[misc]
    tools.share_cores(8)
    assert tools.cores_per_build() == 1  # never none


def test_a_second_signal_does_not_cut_an_unwinding_build_short(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C reaches a worker, then the parent's SIGTERM follows while the build unwinds:
    the first raises in the build, the second only says to exit once it has unwound
    (raising again could land in the removal of the temporary file and leave it behind);
    neither takes a lock, which the first may hold."""
    from voiceguide.batch import local
    from voiceguide.errors import Terminated

    stop = multiprocessing.get_context("fork").RawValue(ctypes.c_int, 0)
    monkeypatch.setattr(local, "_stop", stop)
    monkeypatch.setattr(local, "_busy", True)
    monkeypatch.setattr(local, "_unwinding", 0)
    monkeypatch.setattr(local, "_exit_after", 0)
    with pytest.raises(KeyboardInterrupt):
        local._interrupted(130)(signal.SIGINT, None)
    assert stop.value == local.STOPPING
    local._interrupted(143)(signal.SIGTERM, None)  # returns: the build goes on unwinding
    assert local._exit_after == 143  # once unwound, the worker exits
    monkeypatch.setattr(local, "_unwinding", 0)  # the next build's first signal raises
    with pytest.raises(Terminated):
        local._interrupted(143)(signal.SIGTERM, None)
