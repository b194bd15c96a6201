"""How long ``import voiceguide.plan`` takes, against starting Python itself.

    .venv/bin/python benchmarks/import_time.py

Runs each in a fresh interpreter (byte-code compiled first, as an installed
wheel has it), best of 15, and prints the planner's import time and its ratio
to a bare interpreter start measured in the same run. Target: <= 80 ms.
Prints figures only.
"""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 80.0
TIMED = "import time; t = time.perf_counter(); {body}; print(time.perf_counter() - t)"


def best_ms(body: str, env: dict[str, str], rounds: int = 15) -> float:
    runs = []
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-c", TIMED.format(body=body)], env=env,
                             capture_output=True, text=True, check=True).stdout
        runs.append(float(out) * 1000)
    return min(runs)


def whole_start_ms(env: dict[str, str], rounds: int = 15) -> float:
    runs = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        runs.append((time.perf_counter() - started) * 1000)
    return min(runs)


def main() -> None:
    compileall.compile_dir(ROOT / "voiceguide", quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = whole_start_ms(env)
    plan = best_ms("import voiceguide.plan", env)
    print(f"python start {start:.0f} ms; import voiceguide.plan {plan:.0f} ms "
          f"= {plan / start:.2f} x a bare start  (target <= {TARGET_MS:.0f} ms)")


if __name__ == "__main__":
    main()
