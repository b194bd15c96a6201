"""What a Dask cluster costs against `--jobs` on one machine.

    .venv/bin/python benchmarks/cluster_cost.py

Starts a real `dask scheduler` and two `dask worker` processes (one thread each) on
127.0.0.1, then builds six sessions (the shipped drills: easy, strides, core_circuit,
back_engagement, stride_sets, hill_repeats; espeak-ng) with `build --scheduler` and
with `build --jobs 2`, each with its own empty cache (cold: speech synthesis
included), then again warm; prints cluster ÷ --jobs for both — target <= 1.2 for the
cold batch, the builds' own work; a warm batch of six takes well under a second, so its
ratio shows the client's fixed start, of which the time to import Dask's client is
printed beside it — and whether both give the same bytes. Prints figures only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import VOICEGUIDE, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DRILLS = ("easy", "strides", "core_circuit", "back_engagement", "stride_sets", "hill_repeats")
DASK = Path(sys.executable).with_name("dask")


def started(command: list[str], env: dict[str, str], marker: str, count: int = 1) -> tuple[
        subprocess.Popen[str], str]:
    """A process, once it has said *marker* *count* times (its stderr read line by line)."""
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True,
                               stdout=subprocess.DEVNULL, start_new_session=True)
    assert process.stderr is not None
    seen = 0
    for line in process.stderr:
        if marker in line:
            seen += 1
            if seen == count:
                return process, line
    raise SystemExit(f"{command[1]} ended before it said {marker!r}")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        scripts = []
        for name in DRILLS:
            shutil.copy(ROOT / "scripts_yaml" / f"{name}.yaml", folder / f"{name}.yaml")
            scripts.append(str(folder / f"{name}.yaml"))
        base = os.environ | {"OPENBLAS_NUM_THREADS": "1"}
        scheduler, said = started([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard"], base, "Scheduler at:")
        address = said.split("Scheduler at:")[1].strip()
        workers, _ = started([str(DASK), "worker", address, "--nworkers", "2", "--nthreads", "1",
                              "--host", "127.0.0.1", "--no-dashboard"],
                             base | {"XDG_CACHE_HOME": str(folder / "worker-cache")},
                             "Starting established connection", 2)
        try:
            figures = {}
            for where, extra in (("cluster", ["--scheduler", address]), ("jobs", ["-j", "2"])):
                out = folder / where
                out.mkdir()
                command = [str(VOICEGUIDE), "build", *scripts, "-o", str(out), "--engine",
                           "espeak-ng", "--quiet", *extra]
                env = base | {"XDG_CACHE_HOME": str(folder / f"{where}-cache")}
                figures[where] = (timed(command, env), min(timed(command, env) for _ in range(2)))
            same = all((folder / "cluster" / f"{n}.mp3").read_bytes()
                       == (folder / "jobs" / f"{n}.mp3").read_bytes() for n in DRILLS)
        finally:
            for process in (workers, scheduler):
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(60)
        importing = min(timed([sys.executable, "-c", "import distributed"], base)
                        for _ in range(3))
        (cold_c, warm_c), (cold_j, warm_j) = figures["cluster"], figures["jobs"]
        print(f"6 sessions, 2 workers ÷ --jobs 2: cold {cold_c:.1f} s ÷ {cold_j:.1f} s = "
              f"{cold_c / cold_j:.2f} (target <= 1.2); warm {warm_c:.1f} s ÷ {warm_j:.1f} s = "
              f"{warm_c / warm_j:.2f} (starting Python and importing Dask's client alone: "
              f"{importing:.2f} s); the same bytes: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
