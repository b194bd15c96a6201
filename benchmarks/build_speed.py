"""How fast and how lean ``voiceguide build`` is, against ffmpeg's own encoding speed.

    .venv/bin/python benchmarks/build_speed.py [--keep]

Generates realistic drill scripts of 30, 60 and 120 minutes into a temporary
folder (many stages with say texts, cues, repeating reminders and countdowns;
a mix of texts that recur in every stage and texts said once), builds them
once to fill a private cache (speech and encoded islands), then measures:

- the 60-minute warm build's wall time divided by the time ffmpeg alone takes
  to encode the same 60 minutes of audio in the same format (mono 44.1 kHz,
  96 kbit/s libmp3lame, s16le from a file through a pipe, into a regular
  file) — target <= 0.10;
- one cue's words edited, then the 60-minute rebuild, over that same encode —
  target <= 0.15 (one clip to speak, one island to encode);
- the 120-minute build's peak memory: the largest max RSS of the voiceguide
  process and the processes it waited for (``os.wait4``) — target <= 150 MB;
- the 120-minute build time over the 30-minute one — target <= 4.6;
- whether the same script gives the same bytes from an empty island cache,
  from a warm one, and built with ``--jobs 2`` beside another script.

Each ratio's baseline is measured in the same run, on the same machine.
Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import build, edited, ffmpeg_alone, script_yaml  # noqa: E402

TARGETS = {"speed": 0.10, "edit": 0.15, "memory_mb": 150.0, "scaling": 4.6}

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
    scripts = {}
    for minutes in (30, 60, 120):
        scripts[minutes] = folder / f"drill_{minutes}.yaml"
        scripts[minutes].write_text(script_yaml(minutes), encoding="utf-8")
    try:
        print(f"machine: {os.cpu_count()} cores; scripts and cache in {folder}")
        started = time.perf_counter()
        for minutes in (120, 60, 30):  # the shorter drills are prefixes: the cache is warm
            build(scripts[minutes], folder / f"warm_{minutes}.mp3", env)
        print(f"warm-up builds (speech synthesis included): {time.perf_counter() - started:.1f} s")

        t60, _, _ = build(scripts[60], folder / "drill_60.mp3", env)
        base, audio_min = ffmpeg_alone(folder / "drill_60.mp3", folder)
        t30, _, _ = build(scripts[30], folder / "drill_30.mp3", env)
        t120, rss120, tree120 = build(scripts[120], folder / "drill_120.mp3", env)
        text = scripts[60].read_text(encoding="utf-8")
        scripts[60].write_text(edited(text), encoding="utf-8")
        t_edit, _, _ = build(scripts[60], folder / "edited_60.mp3", env)
        scripts[60].write_text(text, encoding="utf-8")
        print(f"(a) 60-min warm build {t60:.1f} s / ffmpeg alone {base:.1f} s for "
              f"{audio_min:.1f} min = {t60 / base:.2f}  (target <= {TARGETS['speed']})")
        print(f"(b) one cue edited, 60-min rebuild {t_edit:.1f} s / ffmpeg alone {base:.1f} s = "
              f"{t_edit / base:.2f}  (target <= {TARGETS['edit']})")
        print(f"(c) 120-min build peak RSS {rss120:.0f} MB  (target <= {TARGETS['memory_mb']:.0f});"
              f" whole process tree, polled: {tree120:.0f} MB")
        print(f"(d) 120-min build {t120:.1f} s / 30-min build {t30:.1f} s = {t120 / t30:.2f}"
              f"  (target <= {TARGETS['scaling']})")
        shutil.rmtree(folder / "cache" / "voiceguide" / "islands")
        t_cold, _, _ = build(scripts[60], folder / "cold_60.mp3", env)
        jobs = folder / "jobs"
        jobs.mkdir()
        build(scripts[60], jobs, env, str(scripts[30]), "--jobs", "2")
        same = {(folder / name).read_bytes() for name in ("drill_60.mp3", "cold_60.mp3")}
        same.add((jobs / "drill_60.mp3").read_bytes())
        print(f"(e) 60-min build from an empty island cache {t_cold:.1f} s = "
              f"{t_cold / base:.2f} of ffmpeg alone; the same bytes cold, warm and with "
              f"--jobs 2: {'yes' if len(same) == 1 else 'NO'}")
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
