"""``build --jobs N``: several scripts at once, the same bytes as one at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_sigterm_stops_every_job_and_leaves_no_temp_files(tmp_path: Path) -> None:
    paths = [str(p) for p in scripts(tmp_path, 2)]
    long = DRILL.replace("duration: 9", "duration: 3600").replace("countdown: 3", "countdown: 3\n"
                         "    cues:\n      - every: 5\n        say: Keep going.")
    for path in paths:
        Path(path).write_text(long.format(title=Path(path).stem), encoding="utf-8")
    (tmp_path / "out").mkdir()
    for name in ("drill0.mp3", "drill1.mp3"):
        (tmp_path / "out" / name).write_bytes(b"earlier")
    process = subprocess.Popen([sys.executable, "-m", "voiceguide", "build", *paths, "-o",
                                str(tmp_path / "out"), "-j", "2", "-q"],
                               env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "c")},
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "out").glob(".*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the builds write
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["drill0.mp3", "drill1.mp3"]
    assert all((tmp_path / "out" / n).read_bytes() == b"earlier" for n in ("drill0.mp3",
                                                                          "drill1.mp3"))
