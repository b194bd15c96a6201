"""Builds on a real Dask cluster: a ``dask scheduler`` and ``dask worker`` processes on
127.0.0.1, and ``voiceguide build --scheduler`` (and publish) as a user runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from held import begun, held, open_gate

pytest.importorskip("distributed")  # the optional extra; make test installs it

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
DRILL = """\
title: TITLE
intro: A short session.
stages:
  - name: Steady
    duration: 6
    say: Easy now.
  - name: Faster
    duration: 5
    say: A little faster.
"""
TIGHT = """\
title: Tight
stages:
  - name: Short
    duration: 2
    say: This sentence is much too long to fit into two seconds of a stage at all.
"""
# A voice whose program kills the process that runs it: the worker building the session
DEADLY = """\
title: Deadly
voices: {killer: {engine: command, command: [sh, -c, 'kill -9 $PPID', '{output}']}}
voice: killer
stages:
  - name: Gone
    duration: 5
    say: This worker dies here.
"""
# Imports of these fail in the process: a machine without the package
WITHOUT = "import sys; sys.modules[{name!r}] = None; "


class Process:
    """A subprocess whose stderr is read line by line, so a test waits for what it says."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.lines.append("")  # the end
            self.changed.notify_all()

    def said(self, text: str, timeout: float = 120) -> str:
        """The first line with *text*, once it is said (fails if the process ends first)."""
        def found() -> str | None:
            return next((line for line in self.lines if text in line or line == ""), None)
        with self.changed:
            assert self.changed.wait_for(found, timeout), f"never said {text!r}"
            line = found()
        assert line, f"ended before saying {text!r}: {''.join(self.lines)}"
        return line

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.reader.join()  # the pipe ends with the process
        assert self.process.stderr is not None
        self.process.stderr.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return os.environ | {"XDG_CACHE_HOME": str(tmp_path_factory.mktemp("client-cache")),
                         "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
                         "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}


def start_scheduler(env: dict[str, str]) -> tuple[Process, str]:
    scheduler = Process([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                         "--no-dashboard"], env)
    address = scheduler.said("Scheduler at:").split("Scheduler at:")[1].strip()
    return scheduler, address


def start_workers(address: str, env: dict[str, str], count: int = 2,
                  python: list[str] | None = None) -> Process:
    """*count* workers (under nannies), or one in the process *python* starts."""
    command = [*python, "--no-nanny"] if python else [str(BIN / "dask"), "worker", "--nworkers",
                                                      str(count)]
    workers = Process([*command, address, "--nthreads", "1", "--host", "127.0.0.1",
                       "--no-dashboard"], env)
    for _ in range(count):
        workers.said("Starting established connection")
    return workers


@pytest.fixture(scope="module")
def cluster(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    scheduler, address = start_scheduler(env)
    worker_env = env | {"XDG_CACHE_HOME": str(tmp_path_factory.mktemp("worker-cache"))}
    workers = start_workers(address, worker_env)
    try:
        yield address
    finally:
        workers.stop()
        scheduler.stop()


def voiceguide(*args: str, env: dict[str, str], prefix: str = "",
               cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", prefix + "from voiceguide.cli import run; run()", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def drills(folder: Path, *names: str) -> list[str]:
    for name in names:
        (folder / f"{name}.yaml").write_text(DRILL.replace("TITLE", name.title()),
                                             encoding="utf-8")
    return [f"{name}.yaml" for name in names]


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def undated(found: dict[str, bytes]) -> dict[str, bytes]:
    """*found* with the time each item was first published blanked: two publishes made in
    different seconds differ there alone."""
    import re

    return {k: re.sub(rb'(<pubDate>|"published": ")[^<"]*', rb"\1", v) for k, v in found.items()}


def spoken_in(cache: Path) -> set[str]:
    """The speech clips a voiceguide cache holds, by key."""
    return {p.name for p in (cache / "voiceguide").rglob("*.clip")}


def test_the_cluster_writes_the_bytes_a_local_build_writes(
        cluster: str, env: dict[str, str], tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same bytes, and made by the workers: the speech of these scripts is in the
    workers' cache, and none in the client's (a silent local fallback would put it there)."""
    scripts = drills(tmp_path, "one", "two", "three")
    for where in ("remote", "local"):
        (tmp_path / where).mkdir()
    workers = [*tmp_path_factory.getbasetemp().glob("worker-cache[0-9]*")]
    assert len(workers) == 1
    before = spoken_in(workers[0])
    client = env | {"XDG_CACHE_HOME": str(tmp_path / "client-cache")}
    remote = voiceguide("build", *scripts, "-o", "remote", "--split", "--vtt", "--engine",
                        "espeak-ng", "--scheduler", cluster, env=client, cwd=tmp_path)
    assert remote.returncode == 0, remote.stderr
    assert not spoken_in(tmp_path / "client-cache")
    assert len(spoken_in(workers[0]) - before) >= 3  # each script's own words, at least
    local = voiceguide("build", *scripts, "-o", "local", "--split", "--vtt", "--engine",
                       "espeak-ng", env=env, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    assert remote.stdout.replace("remote/", "local/") == local.stdout
    made = files(tmp_path / "remote")
    assert len(made) > 9 and made == files(tmp_path / "local")


def test_a_build_that_fails_on_the_cluster_fails_alone(
        cluster: str, env: dict[str, str], tmp_path: Path) -> None:
    scripts = drills(tmp_path, "good")
    (tmp_path / "tight.yaml").write_text(TIGHT, encoding="utf-8")
    (tmp_path / "out").mkdir()
    done = voiceguide("build", "tight.yaml", *scripts, "-o", "out", "--engine", "espeak-ng",
                      "--scheduler", cluster, env=env, cwd=tmp_path)
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("tight.yaml:3:5: stage 1 'Short': ")  # named as the user named it
    assert sorted(files(tmp_path / "out")) == ["good.mp3"]


def test_a_worker_that_dies_fails_its_build_and_the_others_finish(
        cluster: str, env: dict[str, str], tmp_path: Path) -> None:
    scripts = drills(tmp_path, "fine")
    (tmp_path / "deadly.yaml").write_text(DEADLY, encoding="utf-8")
    (tmp_path / "out").mkdir()
    done = voiceguide("build", "deadly.yaml", *scripts, "-o", "out", "--allow-commands",
                      "--scheduler", cluster, env=env, cwd=tmp_path)
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith("voiceguide: deadly.yaml: not built on the cluster: KilledWorker")
    assert sorted(files(tmp_path / "out")) == ["fine.mp3"]


def test_an_unreachable_scheduler_is_one_line_and_nothing_is_written(
        env: dict[str, str], tmp_path: Path) -> None:
    import socket

    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    scripts = drills(tmp_path, "one")
    done = voiceguide("build", *scripts, "-o", "one.mp3", "--scheduler",
                      f"tcp://127.0.0.1:{port}", env=env, cwd=tmp_path)
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"voiceguide: cannot reach the Dask scheduler at tcp://127.0.0.1:{port}")
    assert not (tmp_path / "one.mp3").exists()


def test_without_the_extra_the_option_names_it(env: dict[str, str], tmp_path: Path) -> None:
    scripts = drills(tmp_path, "one")
    done = voiceguide("build", *scripts, "--scheduler", "tcp://127.0.0.1:8786", env=env,
                      cwd=tmp_path, prefix=WITHOUT.format(name="distributed"))
    assert done.returncode == 1
    assert done.stderr == ("voiceguide: --scheduler needs Dask's distributed: pip install "
                           "'voiceguide[dask]'\n")


def test_workers_without_voiceguide_are_one_line(env: dict[str, str], tmp_path: Path) -> None:
    scheduler, address = start_scheduler(env)
    python = [sys.executable, "-c", WITHOUT.format(name="voiceguide")
              + "import sys; from distributed.cli.dask_worker import main; "
              "sys.argv[0] = 'dask-worker'; main()"]
    workers = start_workers(address, env, 1, python)
    try:
        scripts = drills(tmp_path, "one")
        done = voiceguide("build", *scripts, "-o", "one.mp3", "--scheduler", address, env=env,
                          cwd=tmp_path)
    finally:
        workers.stop()
        scheduler.stop()
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"voiceguide: the workers of {address} cannot run voiceguide")
    assert line.endswith("pip install 'voiceguide[dask]' on every worker")
    assert not (tmp_path / "one.mp3").exists()


def test_publish_on_the_cluster_gives_the_local_folder(
        cluster: str, env: dict[str, str], tmp_path: Path) -> None:
    scripts = drills(tmp_path, "one", "two")
    common = ["--engine", "espeak-ng", "--base-url", "https://runs.example/", "--title", "T"]
    remote = voiceguide("publish", *scripts, "--to", "remote", *common, "--scheduler", cluster,
                        env=env, cwd=tmp_path)
    assert remote.returncode == 0, remote.stderr
    local = voiceguide("publish", *scripts, "--to", "local", *common, env=env, cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    mp3s = {k: v for k, v in files(tmp_path / "remote").items() if k.endswith(".mp3")}
    assert sorted(k for k in mp3s if k.count(".") == 1) == ["one.mp3", "two.mp3"]
    made, there = (undated(files(tmp_path / where)) for where in ("remote", "local"))
    assert sorted(made) == sorted(there)
    assert [k for k in made if made[k] != there[k]] == []  # every file, not the MP3s alone



def test_a_scheduler_that_goes_away_mid_batch_is_one_line_and_nothing_is_written(
        env: dict[str, str], tmp_path: Path) -> None:
    from waiting import until

    scheduler, address = start_scheduler(env)
    workers = start_workers(address, env | {"XDG_CACHE_HOME": str(tmp_path / "cache")})
    try:
        scripts, started, gate = held(tmp_path, "one", "two", "three")
        (tmp_path / "out").mkdir()
        build = Process([sys.executable, "-m", "voiceguide", "build",
                         *(str(tmp_path / s) for s in scripts), "-o", str(tmp_path / "out"),
                         "--allow-commands", "--scheduler", address], env)
        until(lambda: len(begun(started)) == 2, "two builds to be running on the workers")
        scheduler.process.kill()  # gone, without a word to anyone
        build.process.wait(120)
        build.stop()  # ended: its stderr read to the end and closed
        lines = [line for line in build.lines if line]
        assert build.process.returncode == 1, lines
        assert len(lines) == 1 and "Traceback" not in lines[0], lines
        assert lines[0].startswith("voiceguide: "), lines
        assert "scheduler" in lines[0], lines
        open_gate(gate)
        assert list((tmp_path / "out").iterdir()) == []  # no file, whole or partial
    finally:
        workers.stop()
        scheduler.stop()


def test_ctrl_c_cancels_what_is_queued_on_the_cluster(env: dict[str, str],
                                                      tmp_path: Path) -> None:
    from distributed import Client
    from waiting import until

    scheduler, address = start_scheduler(env)
    workers = start_workers(address, env | {"XDG_CACHE_HOME": str(tmp_path / "cache")})
    try:
        scripts, started, gate = held(tmp_path, "one", "two", "three", "four")
        (tmp_path / "out").mkdir()
        build = Process([sys.executable, "-m", "voiceguide", "build",
                         *(str(tmp_path / s) for s in scripts), "-o", str(tmp_path / "out"),
                         "--allow-commands", "--scheduler", address], env)
        until(lambda: len(begun(started)) == 2, "two builds to be running, two queued")
        os.killpg(build.process.pid, signal.SIGINT)  # as a terminal sends it
        build.process.wait(120)
        build.stop()
        assert build.process.returncode == 130, build.lines
        assert [line for line in build.lines if line] == ["Aborted!\n"]
        open_gate(gate)  # the two running builds end; a queued one would start and wait
        with Client(address, timeout=30, set_as_default=False) as client:
            def idle() -> bool:
                tasks = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
                return tasks == 0 and not any(client.processing().values())
            until(idle, "the cluster to have nothing left to do")
        assert len(begun(started)) == 2  # the queued builds never started
        assert list((tmp_path / "out").iterdir()) == []
    finally:
        workers.stop()
        scheduler.stop()
