"""What the natural voice costs: the seed session with hibari against espeak-ng.

    .venv/bin/python benchmarks/voice_cost.py [--rounds N]

Builds scripts_yaml/back_engagement.yaml as shipped (hibari) and the same
script with its voice profiles on espeak-ng (pyttsx3, as voiceguide spoke
before), alternately, each from an empty speech cache (cold) and again with
that cache filled (warm), and prints:

- cold build, hibari ÷ espeak-ng — target <= 2.0;
- warm build, hibari ÷ espeak-ng — target about 1.0 (the cache holds both);
- peak memory of a cold build, summed over the whole process tree — target <= 400 MB,
  as summed PSS (hibari's speakers share one loaded model: a shared page counts once
  in all); the summed RSS, which counts it in every speaker, is printed beside it;
- whether two cold builds from two different empty caches gave the same bytes.

The best of N rounds is kept for each figure. Prints figures only; asserts nothing.
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
from _harness import SEED, VOICEGUIDE, espeak_variant, watched  # noqa: E402

TARGETS = {"cold": 2.0, "memory_mb": 400.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    scripts = {"hibari": SEED, "espeak-ng": folder / "seed_espeak.yaml"}
    scripts["espeak-ng"].write_text(espeak_variant(SEED.read_text(encoding="utf-8")),
                                    encoding="utf-8")
    best: dict[tuple[str, str], float] = {}
    peak: dict[str, float] = {}
    peak_rss: dict[str, float] = {}
    digests: dict[str, set[str]] = {name: set() for name in scripts}
    try:
        print(f"machine: {os.cpu_count()} cores; {args.rounds} rounds, best kept")
        for round_ in range(args.rounds):
            for name, script in scripts.items():
                cache = folder / f"cache-{name}-{round_}"
                env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
                target = folder / f"{name}-{round_}.mp3"
                for kind in ("cold", "warm"):
                    seconds, status, _, memory = watched(
                        [str(VOICEGUIDE), "build", str(script), "-o", str(target), "--quiet"], env)
                    if status != 0:
                        raise SystemExit(f"the {name} build failed ({status})")
                    best[name, kind] = min(best.get((name, kind), seconds), seconds)
                    if kind == "cold":
                        peak[name] = max(peak.get(name, 0.0), memory.peak_pss_kb / 1024)
                        peak_rss[name] = max(peak_rss.get(name, 0.0), memory.peak_kb / 1024)
                        digests[name].add(hashlib.sha256(target.read_bytes()).hexdigest())
                shutil.rmtree(cache)
        for kind in ("cold", "warm"):
            ratio = best["hibari", kind] / best["espeak-ng", kind]
            target = f"  (target <= {TARGETS['cold']})" if kind == "cold" else ""
            print(f"{kind} build: hibari {best['hibari', kind]:.1f} s / espeak-ng "
                  f"{best['espeak-ng', kind]:.1f} s = {ratio:.2f}{target}")
        print(f"peak memory, whole process tree, cold build, summed PSS: hibari "
              f"{peak['hibari']:.0f} MB, espeak-ng {peak['espeak-ng']:.0f} MB  (target <= "
              f"{TARGETS['memory_mb']:.0f}); summed RSS: hibari {peak_rss['hibari']:.0f} MB, "
              f"espeak-ng {peak_rss['espeak-ng']:.0f} MB")
        for name, found in digests.items():
            print(f"{name}: {args.rounds} cold builds from empty caches gave "
                  f"{'the same bytes' if len(found) == 1 else f'{len(found)} different files'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
