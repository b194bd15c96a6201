"""What programmes cost: planning a long one, and publishing one against its sessions loose.

    .venv/bin/python benchmarks/programme_cost.py

(a) Plans a 100-week programme of 300 sessions (the shipped drills, each week's three
with their own pace, length or title, the speech of every session cached by a first
run) with `voiceguide plan`, and prints its time and the peak memory of its process
tree — targets <= 5 s and <= 300 MB — and, as the ratio from the same run, that time
÷ 300 plans of one of its sessions in one process (the per-session work alone).
(b) Publishes a programme of three shipped drills whose sessions are all built (warm),
and the same three scripts loose into another folder (warm), best of three each, and
prints programme ÷ loose — target <= 1.1.
Prints figures only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import VOICEGUIDE, measured, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DRILLS = ("easy", "strides", "core_circuit", "back_engagement", "stride_sets", "hill_repeats")


def week(number: int) -> str:
    first, second, third = (DRILLS[(number + k) % len(DRILLS)] for k in range(3))
    return (f"  - sessions:\n      - {first}.yaml\n"
            f"      - {{script: {second}.yaml, pace: {number % 5 / 4:g}}}\n"
            f"      - {{script: {third}.yaml, title: Week {number} long, pace: 1}}\n")



def in_process_plans(script: Path, count: int) -> float:
    """*count* plans of *script* one after another in one process, as loose scripts."""
    code = f"""
import time
from pathlib import Path
from voiceguide import session
session.plan(Path({str(script)!r}), session.Options())
started = time.perf_counter()
for _ in range({count}):
    session.plan(Path({str(script)!r}), session.Options())
print(time.perf_counter() - started)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    return float(out.stdout.strip())


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        env = os.environ | {"XDG_CACHE_HOME": str(folder / "cache")}
        os.environ["XDG_CACHE_HOME"] = env["XDG_CACHE_HOME"]
        for name in DRILLS:
            (folder / f"{name}.yaml").write_bytes((ROOT / "scripts_yaml" / f"{name}.yaml")
                                                  .read_bytes())
        programme = folder / "long.yaml"
        programme.write_text("programme: 1\ntitle: Two years\nweeks:\n"
                             + "".join(week(n) for n in range(1, 101)), encoding="utf-8")
        plan = [str(VOICEGUIDE), "plan", str(programme), "--json"]
        timed(plan, env)  # speaks and caches every clip
        seconds, status, _, tree = measured(plan, env)
        assert status == 0
        alone = in_process_plans(folder / "back_engagement.yaml", 30) * 10
        print(f"(a) plan of 100 weeks, 300 sessions (speech cached): {seconds:.2f} s "
              f"(target <= 5), tree peak {tree:.0f} MB (target <= 300); ÷ 300 plans of the "
              f"seed as loose scripts in one process ({alone:.1f} s, from 30): "
              f"{seconds / alone:.2f}")

        three = ("easy", "strides", "core_circuit")
        small = folder / "three.yaml"
        small.write_text("programme: 1\ntitle: Three\nweeks:\n  - sessions: ["
                         + ", ".join(f"{n}.yaml" for n in three) + "]\n", encoding="utf-8")
        loose = [str(folder / f"{n}.yaml") for n in three]
        as_programme = [str(VOICEGUIDE), "publish", str(small), "--to", str(folder / "p")]
        as_loose = [str(VOICEGUIDE), "publish", *loose, "--to", str(folder / "l")]
        timed(as_programme, env)
        timed(as_loose, env)  # both warm now
        programme_s = min(timed(as_programme, env) for _ in range(3))
        loose_s = min(timed(as_loose, env) for _ in range(3))
        print(f"(b) publish of a built programme of three ÷ the same three loose: "
              f"{programme_s:.2f} s ÷ {loose_s:.2f} s = {programme_s / loose_s:.2f} "
              "(target <= 1.1)")


if __name__ == "__main__":
    main()
