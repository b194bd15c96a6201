"""How fast and how lean ``voiceguide build`` is, against ffmpeg's own encoding speed.

    .venv/bin/python benchmarks/build_speed.py [--keep]

Generates realistic drill scripts of 30, 60 and 120 minutes into a temporary
folder (many stages with say texts, cues, repeating reminders and countdowns;
a mix of texts that recur in every stage and texts said once), builds them
once to fill a private cache (speech and encoded islands), then measures:

- the 60-minute warm build's wall time divided by the time ffmpeg alone takes
  to encode the same 60 minutes of audio in the same format (mono 44.1 kHz,
  96 kbit/s libmp3lame, s16le from a file through a pipe, into a regular
  file) — target <= 0.8;
- one cue's words edited, then the 60-minute rebuild, over that same encode —
  target <= 0.4 (one clip to speak, one island to encode);
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
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VOICEGUIDE = Path(sys.executable).with_name("voiceguide")
TARGETS = {"speed": 0.8, "edit": 0.4, "memory_mb": 150.0, "scaling": 4.6}

PARTS = ["lower back", "upper back", "shoulder blades", "core", "glutes", "hips",
         "inner thighs", "calves", "arms", "neck", "abs", "feet"]  # fmt: skip
ACTIONS = ["engage", "relax", "squeeze", "lengthen", "soften", "lift", "turn", "press",
           "open", "settle", "steady", "loosen"]  # fmt: skip
MOVES = ["standing", "walking", "jogging", "in a lunge", "on one leg", "in a high knee march",
         "with a long stride", "with quick feet"]  # fmt: skip
ADVERBS = ["slowly", "gently", "firmly", "smoothly", "evenly", "a little more",
           "a little less", "with control"]  # fmt: skip
RECURRING = [  # said in most stages, as coaches do
    "Keep breathing.",
    "Shoulders low, chest open.",
    "Stay relaxed. Balance, not tension.",
    "Find the balance that gives you stability.",
    "Good. Keep going.",
]
STAGE_S = 150, 240  # stage durations, seconds


def sentence(rng: random.Random) -> str:
    """A distinct coaching sentence, like the ones a drill says once."""
    return (f"{rng.choice(ACTIONS).capitalize()} your {rng.choice(PARTS)} {rng.choice(ADVERBS)}, "
            f"{rng.choice(MOVES)}, and notice how your {rng.choice(PARTS)} "
            f"{rng.choice(['answers', 'follows', 'holds steady', 'lets go'])}.")


def stage_yaml(number: int, seconds: int, rng: random.Random) -> str:
    name = f"{rng.choice(PARTS).capitalize()}, {rng.choice(MOVES)} ({number})"
    lines = [
        f"  - name: {name}",
        f"    duration: {seconds}",
        "    voice: coach",
        f"    countdown: {rng.choice([3, 5])}",
        "    say:",
        f"      - {sentence(rng)}",
        f"      - {{pause: {rng.choice([2, 3])}}}",
        f"      - {sentence(rng)}",
        "    cues:",
        f"      - at: {rng.randint(22, 30)}%",
        f"        say: {sentence(rng)}",
        f"      - at: {rng.randint(45, 52)}%",
        "        say:",
        f"          - {rng.choice(RECURRING)}",
        f"          - {sentence(rng)}",
        "      - every: 40",
        "        from: 1:05",
        "        until: 75%",
        f"        say: {rng.choice(RECURRING)}",
        "        voice: counter",
        "      - before_end: 15",
        "        say: Fifteen seconds. Hold that balance.",
        "        voice: counter",
    ]
    return "\n".join(lines)


def script_yaml(minutes: int, seed: int = 7) -> str:
    """A drill of about *minutes*; shorter drills are prefixes of longer ones (same seed)."""
    rng = random.Random(seed)
    stages, total = [], 60  # the intro and outro take about a minute
    while total < minutes * 60:
        seconds = rng.randint(*STAGE_S)
        seconds = min(seconds, max(STAGE_S[0], minutes * 60 - total))
        stages.append(stage_yaml(len(stages) + 1, seconds, rng))
        total += seconds
    intro = " ".join(sentence(random.Random(seed + n)) for n in range(6))
    return "\n".join([
        "version: 1",
        f"title: Benchmark drill, {minutes} minutes",
        "language: en",
        "voices:",
        "  narrator: {engine: espeak-ng, voice: gmw/en-us, rate: 160}",  # one long intro clip
        "  coach: {voice: gmw/en-us, rate: 165}",
        "  counter: {voice: gmw/en-us+m3, rate: 185, volume: 0.9}",
        "voice: narrator",
        'announce: "Stage {number} of {stages}. {name}."',
        f"intro: {intro}",
        "stages:",
        *stages,
        "outro: Well done. That is the session. Walk it out and breathe easy.",
        "",
    ])  # fmt: skip


class TreeMemory(threading.Thread):
    """Polls the summed RSS of a process and its descendants (Linux /proc), keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in _tree(self.pid)))


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo += [int(c) for c in children]
    return pids


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def edited(text: str, stage: int = 10) -> str:
    """*text* with the words of one cue (stage *stage*'s last reminder) changed."""
    cue = "say: Fifteen seconds. Hold that balance."
    parts = text.split(cue)
    return cue.join(parts[:stage]) + "say: Fifteen seconds left. Stay tall." + cue.join(
        parts[stage:])


def build(script: Path, out: Path, env: dict[str, str],
          *extra: str) -> tuple[float, float, float]:
    """(seconds, max RSS in MB of voiceguide or a process it waited for, polled tree peak MB)."""
    command = [str(VOICEGUIDE), "build", str(script), "-o", str(out), "--quiet", *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    memory = TreeMemory(process.pid)
    memory.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    memory.done.set()
    memory.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"build of {script.name} failed with status {process.returncode}")
    return seconds, usage.ru_maxrss / 1024, memory.peak_kb / 1024


def ffmpeg_alone(mp3: Path, folder: Path) -> tuple[float, float]:
    """(seconds ffmpeg takes to encode *mp3*'s audio from a pipe, audio minutes)."""
    pcm = folder / "session.s16le"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(mp3), "-f", "s16le", "-ac", "1",
                    "-ar", "44100", str(pcm)], check=True)  # fmt: skip
    command = ["ffmpeg", "-nostats", "-hide_banner", "-v", "error", "-y",
               "-f", "s16le", "-ar", "44100", "-ac", "1", "-i", "pipe:0",
               "-c:a", "libmp3lame", "-b:a", "96k", "-ac", "1", "-ar", "44100",
               "-fflags", "+bitexact", "-flags:a", "+bitexact", "-write_xing", "1",
               "-f", "mp3", str(folder / "ffmpeg-alone.mp3")]  # fmt: skip
    with open(pcm, "rb") as source:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=subprocess.PIPE)
        assert process.stdin is not None
        while block := source.read(1 << 20):
            process.stdin.write(block)
        process.stdin.close()
        status = process.wait()
        seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit("ffmpeg alone failed")
    minutes = pcm.stat().st_size / 2 / 44100 / 60
    pcm.unlink()
    return seconds, minutes


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
