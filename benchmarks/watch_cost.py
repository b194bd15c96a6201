"""What the watch twin costs: ``build --fit`` beside a warm build, and ``import`` of a large
workout.

    .venv/bin/python benchmarks/watch_cost.py [--rounds N]

(a) A 60-minute drill (the default voice) built once to fill a private cache (the first
``--fit`` keeps its workout there too), then warm builds with and without ``--fit``,
alternated, best of N each: prints what --fit adds as a share of the warm build —
target <= 2 %.
(b) A FIT workout of 500 steps (made by ``build --fit`` of a 500-stage drill with a repeat
block, then imported): prints import's time over ``voiceguide --version`` (the
interpreter starting, measured in the same run), its absolute time — target < 1 s — and
its peak memory — target < 100 MB.
Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import VOICEGUIDE, build, measured, script_yaml  # noqa: E402

STEPS = 500


def big_drill() -> str:
    """A drill whose workout has 500 steps: 495 stages, each with a target, and a repeat
    block of four (an open one among them), three rounds: one repeat step."""
    lines = ["title: Five hundred steps", "announce: false", "start_sound: null",
             "finish_sound: null", "stages:"]
    for n in range(STEPS - 5):
        lines += [f"  - name: Step {n + 1}", "    duration: 30",
                  f"    target: {{heart_rate: {120 + n % 40}..{150 + n % 40}}}"]
    lines += ["  - repeat: 3", "    stages:"]
    for n in range(4):
        lines += [f"      - name: Round step {n + 1}", "        duration: 20",
                  "        open: true" if n == 0 else "        intensity: rest"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
        drill = folder / "sixty.yaml"
        drill.write_text(script_yaml(60), encoding="utf-8")
        build(drill, folder / "sixty.mp3", env)  # cold: fills the cache
        plain, fit = [], []
        for _ in range(rounds):
            plain.append(build(drill, folder / "sixty.mp3", env)[0])
            fit.append(build(drill, folder / "sixty.mp3", env, "--fit")[0])
        added = (min(fit) - min(plain)) / min(plain)
        print(f"(a) warm 60-minute build {min(plain):.3f} s, with --fit {min(fit):.3f} s "
              f"(best of {rounds}): --fit adds {100 * added:+.1f} % (target <= 2 %)")

        big = folder / "big.yaml"
        big.write_text(big_drill(), encoding="utf-8")
        build(big, folder / "big.mp3", env, "--fit", "--engine", "espeak-ng")  # no speech
        start = min(measured([str(VOICEGUIDE), "--version"], env)[0] for _ in range(3))
        runs = []
        for n in range(3):
            target = folder / f"imported{n}.yaml"
            runs.append(measured([str(VOICEGUIDE), "import", str(folder / "big.fit"), "-o",
                                  str(target)], env))
            assert runs[-1][1] == 0, "import failed"
        seconds = min(r[0] for r in runs)
        memory = max(r[2] for r in runs)
        print(f"(b) import of a {STEPS}-step workout ({(folder / 'big.fit').stat().st_size:,} "
              f"bytes): {seconds:.3f} s = {seconds / start:.1f}x voiceguide --version "
              f"({start:.3f} s) (target < 1 s); peak {memory:.0f} MB (target < 100 MB)")


if __name__ == "__main__":
    main()
