"""What a second core buys an author waiting for a cold build: the seed on one core and
on two.

    .venv/bin/python benchmarks/cold_cores.py [--rounds N]

Builds scripts_yaml/back_engagement.yaml (the natural voice) from an empty cache,
pinned with ``taskset`` to one core and to two, alternately, and prints:

- cold build on 1 core ÷ on 2 cores — target >= 1.7 (speech on every core, each
  clip prepared as soon as it is spoken);
- the peak memory of the 2-core build's whole process tree — target <= 400 MB, as
  summed PSS (a page the forked speakers share counts once in all); the summed RSS,
  which counts the shared model once per speaker, is printed beside it;
- whether every build, on either count of cores, gave the same bytes.

The timed builds are not watched (reading every process's memory takes a core's time
from the build on two cores, none from the build on one); the memory is watched in
one more 2-core build. The best of N rounds is kept for each figure. Prints figures
only; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import SEED, VOICEGUIDE, timed, watched  # noqa: E402

TARGETS = {"speedup": 1.7, "memory_mb": 400.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        raise SystemExit("this benchmark needs two cores")
    pins = {1: str(allowed[0]), 2: f"{allowed[0]},{allowed[1]}"}
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    best: dict[int, float] = {}
    pss = rss = 0.0
    digests = set()
    try:
        print(f"machine: {os.cpu_count()} cores; {args.rounds} rounds, best kept")
        for round_ in range(args.rounds + 1):
            for count, pin in pins.items():
                if round_ == args.rounds and count == 1:
                    continue  # the last round: the 2-core build, watched for its memory
                cache = folder / f"cache-{count}-{round_}"
                target = folder / f"seed-{count}-{round_}.mp3"
                env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
                command = ["taskset", "-c", pin, str(VOICEGUIDE), "build", str(SEED), "-o",
                           str(target), "--quiet"]
                if round_ < args.rounds:
                    seconds = timed(command, env)
                    best[count] = min(best.get(count, seconds), seconds)
                else:
                    _, status, _, memory = watched(command, env)
                    if status != 0:
                        raise SystemExit(f"the build on {count} core(s) failed ({status})")
                    pss, rss = memory.peak_pss_kb / 1024, memory.peak_kb / 1024
                digests.add(hashlib.sha256(target.read_bytes()).hexdigest())
                shutil.rmtree(cache)
        print(f"cold seed build: 1 core {best[1]:.2f} s / 2 cores {best[2]:.2f} s = "
              f"{best[1] / best[2]:.2f}  (target >= {TARGETS['speedup']})")
        print(f"peak memory of the 2-core build, whole process tree: {pss:.0f} MB summed PSS "
              f"(target <= {TARGETS['memory_mb']:.0f}); {rss:.0f} MB summed RSS")
        print(f"{2 * args.rounds + 1} cold builds on 1 and 2 cores gave "
              f"{'the same bytes' if len(digests) == 1 else f'{len(digests)} different files'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
