"""How fast and how lean ``voiceguide build`` is, against ffmpeg's own encoding speed.

    .venv/bin/python benchmarks/build_speed.py [--keep] [--rounds N]

Generates realistic drill scripts of 30, 60 and 120 minutes into a temporary
folder (many stages with say texts, cues, repeating reminders and countdowns;
a mix of texts that recur in every stage and texts said once), spoken by the
natural voice as users get it, builds them once to fill a private cache
(speech and encoded islands), then measures, each ratio over the time ffmpeg
alone takes to encode the same 60 minutes of audio in the same format (mono
44.1 kHz, 96 kbit/s libmp3lame, s16le from a file through a pipe, into a
regular file):

- the 60-minute warm rebuild — target <= 0.05;
- one cue's words edited, then the 60-minute rebuild — target <= 0.10: new
  words every round (a number drawn afresh among coaching words), so the
  natural voice speaks one clip it never spoke, and one island is encoded;
- ``voiceguide say`` of a line never spoken before — target <= 0.07;
- the 120-minute build's peak memory: the largest max RSS of the voiceguide
  process and the processes it waited for (``os.wait4``) — target <= 150 MB;
- the 120-minute build time over the 30-minute one — target <= 4.6;
- whether the same script gives the same bytes from an empty island cache,
  from a warm one, and built with ``--jobs 2`` beside another script.

The timed figures are the median of N rounds (each printed). Each ratio's
baseline is measured in the same run, on the same machine. Prints figures only;
it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import (  # noqa: E402
    VOICEGUIDE,
    build,
    edited,
    ffmpeg_alone,
    natural,
    new_words,
    script_yaml,
    timed,
)

TARGETS = {"speed": 0.05, "edit": 0.10, "say": 0.07, "memory_mb": 150.0, "scaling": 4.6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each timed figure")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
    scripts = {}
    for minutes in (30, 60, 120):
        scripts[minutes] = folder / f"drill_{minutes}.yaml"
        scripts[minutes].write_text(natural(script_yaml(minutes)), encoding="utf-8")
    try:
        print(f"machine: {os.cpu_count()} cores; scripts and cache in {folder}; "
              f"median of {args.rounds} rounds")
        started = time.perf_counter()
        for minutes in (120, 60, 30):  # the shorter drills are prefixes: the cache is warm
            build(scripts[minutes], folder / f"warm_{minutes}.mp3", env)
        print(f"warm-up builds (speech synthesis included): {time.perf_counter() - started:.1f} s")

        warm = [build(scripts[60], folder / "drill_60.mp3", env)[0] for _ in range(args.rounds)]
        base, audio_min = ffmpeg_alone(folder / "drill_60.mp3", folder)
        t30, _, _ = build(scripts[30], folder / "drill_30.mp3", env)
        t120, rss120, tree120 = build(scripts[120], folder / "drill_120.mp3", env)
        text = scripts[60].read_text(encoding="utf-8")
        edits = []
        for _ in range(args.rounds):
            scripts[60].write_text(edited(text, words=new_words()), encoding="utf-8")
            edits.append(build(scripts[60], folder / "edited_60.mp3", env)[0])
        scripts[60].write_text(text, encoding="utf-8")
        says = [timed([str(VOICEGUIDE), "say", new_words(), "-o", str(folder / "say.mp3")], env)
                for _ in range(args.rounds)]
        report("(a) 60-min warm rebuild", warm, base, "speed",
               f" / ffmpeg alone {base:.2f} s for {audio_min:.1f} min")
        report("(b) one cue edited with new words, 60-min rebuild", edits, base, "edit")
        report("(c) say of a line never spoken", says, base, "say")
        print(f"(d) 120-min build peak RSS {rss120:.0f} MB  (target <= {TARGETS['memory_mb']:.0f});"
              f" whole process tree, polled: {tree120:.0f} MB")
        print(f"(e) 120-min build {t120:.1f} s / 30-min build {t30:.1f} s = {t120 / t30:.2f}"
              f"  (target <= {TARGETS['scaling']})")
        shutil.rmtree(folder / "cache" / "voiceguide" / "islands")
        t_cold, _, _ = build(scripts[60], folder / "cold_60.mp3", env)
        jobs = folder / "jobs"
        jobs.mkdir()
        build(scripts[60], jobs, env, str(scripts[30]), "--jobs", "2")
        same = {(folder / name).read_bytes() for name in ("drill_60.mp3", "cold_60.mp3")}
        same.add((jobs / "drill_60.mp3").read_bytes())
        print(f"(f) 60-min build from an empty island cache {t_cold:.1f} s = "
              f"{t_cold / base:.2f} of ffmpeg alone; the same bytes cold, warm and with "
              f"--jobs 2: {'yes' if len(same) == 1 else 'NO'}")
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def report(what: str, seconds: list[float], base: float, target: str, extra: str = "") -> None:
    middle = statistics.median(seconds)
    each = ", ".join(f"{s:.2f}" for s in seconds)
    print(f"{what} {middle:.2f} s{extra} = {middle / base:.3f}  (target <= {TARGETS[target]}; "
          f"rounds: {each} s)")


if __name__ == "__main__":
    main()
