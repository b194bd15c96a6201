"""What the benchmarks share: realistic drills, a measured build, the memory of a process
tree, and ffmpeg's own encoding speed as the baseline the ratios are taken against.

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _harness import build, script_yaml
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VOICEGUIDE = Path(sys.executable).with_name("voiceguide")
SEED = ROOT / "scripts_yaml" / "back_engagement.yaml"
ESPEAK_PROFILES = {  # the seed's voices before the natural voice
    "coach": "{voice: gmw/en-us, rate: 165}",
    "counter": "{voice: gmw/en-us+m3, rate: 185, volume: 0.9}",
}


def espeak_variant(text: str) -> str:
    """The seed's text with its voice profiles on espeak-ng."""
    return with_profiles(text, ESPEAK_PROFILES)


def with_profiles(text: str, profiles: dict[str, str]) -> str:
    """*text* with the line of each named voice profile replaced by *profiles*' own."""
    for name, profile in profiles.items():
        text, count = re.subn(rf"^  {name}: \{{.*\}}$", f"  {name}: {profile}", text, flags=re.M)
        if count != 1:
            raise SystemExit(f"the script has no single '{name}' profile line to replace")
    return text


# ---------------------------------------------------------------------------
# Realistic drills

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


NATURAL_PROFILES = {  # the same voices on the natural voice, as users get it
    "narrator": "{engine: hibari, voice: heart, rate: 160}",
    "coach": "{engine: hibari, voice: heart, rate: 165}",
    "counter": "{engine: hibari, voice: heart, rate: 185, volume: 0.9}",
}


def natural(text: str) -> str:
    """*text* (a ``script_yaml`` drill) with every voice profile on the natural voice."""
    return with_profiles(text, NATURAL_PROFILES)


def new_words(rng: random.Random | None = None) -> str:
    """A cue's words never spoken before: coaching words and a number drawn afresh, so no
    cache holds them (a system random source unless *rng* is given)."""
    rng = rng or random.SystemRandom()
    return (f"{rng.choice(ACTIONS).capitalize()} your {rng.choice(PARTS)} {rng.choice(ADVERBS)} "
            f"for {rng.randrange(10_000, 1_000_000)} more breaths.")


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


def edited(text: str, stage: int = 10, words: str = "Fifteen seconds left. Stay tall.") -> str:
    """*text* with the words of one cue (stage *stage*'s last reminder) changed."""
    cue = "say: Fifteen seconds. Hold that balance."
    parts = text.split(cue)
    return cue.join(parts[:stage]) + f"say: {words}" + cue.join(parts[stage:])


# ---------------------------------------------------------------------------
# Measuring


class TreeMemory(threading.Thread):
    """Polls the memory of a process and its descendants (Linux /proc), keeps the peaks:
    of their summed RSS, and of their summed PSS (each page shared by N of them counted
    1/N in each: what the tree occupies, where forked speakers share one model)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.peak_pss_kb, self.done = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            pids = tree(self.pid)
            self.peak_kb = max(self.peak_kb, sum(rss_kb(p) for p in pids))
            self.peak_pss_kb = max(self.peak_pss_kb, sum(pss_kb(p) for p in pids))


def tree(pid: int) -> list[int]:
    """*pid* and its descendants, whichever of their threads started them (a process that
    ends while it is read counts with no children)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    return pids


def rss_kb(pid: int) -> int:
    return _proc_kb(pid, "status", "VmRSS:")


def pss_kb(pid: int) -> int:
    return _proc_kb(pid, "smaps_rollup", "Pss:")


def _proc_kb(pid: int, name: str, field: str) -> int:
    """The figure in kB that /proc/PID/NAME gives on its line starting *field*; 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(command: list[str], env: dict[str, str]) -> float:
    """Seconds *command* takes to run (it must succeed), its output discarded."""
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def measured(command: list[str], env: dict[str, str],
             show_errors: bool = True) -> tuple[float, int, float, float]:
    """Runs *command*: (seconds, exit status, max RSS in MB of it or a process it waited for
    (``os.wait4``), the polled peak of its whole process tree's summed RSS in MB)."""
    seconds, status, max_rss, memory = watched(command, env, show_errors)
    return seconds, status, max_rss, memory.peak_kb / 1024


def watched(command: list[str], env: dict[str, str],
            show_errors: bool = True) -> tuple[float, int, float, TreeMemory]:
    """``measured``, with the whole ``TreeMemory`` (its RSS and PSS peaks)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=None if show_errors else subprocess.DEVNULL)
    memory = TreeMemory(process.pid)
    memory.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    memory.done.set()
    memory.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return seconds, process.returncode, usage.ru_maxrss / 1024, memory


def build(script: Path, out: Path, env: dict[str, str],
          *extra: str) -> tuple[float, float, float]:
    """(seconds, max RSS in MB of voiceguide or a process it waited for, polled tree peak MB)."""
    command = [str(VOICEGUIDE), "build", str(script), "-o", str(out), "--quiet", *extra]
    seconds, status, max_rss, tree = measured(command, env)
    if status != 0:
        raise SystemExit(f"build of {script.name} failed with status {status}")
    return seconds, max_rss, tree


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
