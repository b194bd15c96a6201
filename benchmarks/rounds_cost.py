"""What rounds cost: a script of 1,000 expanded stages against the 120-minute drill.

    .venv/bin/python benchmarks/rounds_cost.py

Writes a drill whose repeat blocks expand to 1,000 stages (100 rounds of ten
short intervals, with cues, {round}/{next} texts and tick countdowns), fills a
private speech cache, then measures with the cache warm: `voiceguide plan`
time (target <= 2 s) and the build's peak memory over the whole process tree
against the build of build_speed.py's 120-minute drill, measured in the same
run (target: no higher). Prints figures only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import VOICEGUIDE, build, script_yaml  # noqa: E402

TARGET_PLAN_S = 2.0


def thousand_stages() -> str:
    interval = "\n".join([
        "          - name: Fast",
        "            duration: 20",
        "            say: Round {round} of {rounds}. Quick feet.",
        "            countdown: {count: 3, sound: tick}",
        "          - name: Easy",
        "            duration: 25",
        "            say: Easy. Next up, {next}.",
        "            cues: [{before_end: 8, say: Get ready.}]",
    ])  # fmt: skip
    return "\n".join([
        "title: A thousand stages",
        "voices: {coach: {engine: hibari, voice: heart, rate: 175}}",
        "voice: coach",
        "announce: false",
        "stages:",
        "  - repeat: 100",
        "    stages:",
        "      - repeat: 5",
        "        stages:",
        interval,
        "",
    ])  # fmt: skip


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
    rounds, drill = folder / "thousand.yaml", folder / "drill_120.yaml"
    rounds.write_text(thousand_stages(), encoding="utf-8")
    drill.write_text(script_yaml(120), encoding="utf-8")
    try:
        for script in (rounds, drill):  # fill the cache
            build(script, folder / "warm.mp3", env)
        plan_runs = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([str(VOICEGUIDE), "plan", str(rounds), "--json"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            plan_runs.append(time.perf_counter() - started)
        _, _, rounds_mb = build(rounds, folder / "rounds.mp3", env)
        _, _, drill_mb = build(drill, folder / "drill.mp3", env)
        print(f"1,000-stage plan (warm, best of 3): {min(plan_runs):.2f} s  "
              f"(target <= {TARGET_PLAN_S:g} s)")
        print(f"1,000-stage build peak memory {rounds_mb:.0f} MB / 120-minute build "
              f"{drill_mb:.0f} MB = {rounds_mb / drill_mb:.2f}  (target <= 1)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
