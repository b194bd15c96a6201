"""What hostile or careless files cost before voiceguide refuses (or accepts) them.

    .venv/bin/python benchmarks/hostile_cost.py

Makes files of up to 10 MB that once cost minutes or gigabytes (hours of
silence in a small FLAC, a WAV whose header claims 1 Hz or 2 GHz, random
bytes named .mp3, a script of near a megabyte of text, /dev/zero as a
script) and runs ``voiceguide check`` on each from a cold cache, printing
the wall time and the peak memory of the whole process tree. Targets: every
file refused or accepted within 10 s and 500 MB. The baseline is the same
check of a tiny valid script, measured in the same run. Prints figures only.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import VOICEGUIDE, measured  # noqa: E402

from voiceguide.speech import wav  # noqa: E402

TARGET_S, TARGET_MB = 10.0, 500.0
SCRIPT = "title: T\n{extra}stages:\n  - name: A\n    duration: 30\n    say: Go.\n"


def wav_claiming(rate: int, frames: int) -> bytes:
    return wav.wrap_pcm16(random.Random(rate).randbytes(2 * frames), rate)


def cases(folder: Path) -> dict[str, Path]:
    """name → script to check; each names its hostile file."""
    made: dict[str, Path] = {}

    def script(name: str, extra: str = "", body: str | None = None) -> None:
        path = folder / f"{name}.yaml"
        path.write_text(body if body is not None else SCRIPT.format(extra=extra),
                        encoding="utf-8")
        made[name] = path

    def sound(name: str, filename: str, data: bytes | None = None) -> None:
        if data is not None:
            (folder / filename).write_bytes(data)
        script(name, f"sounds: {{s: {filename}}}\nstart_sound: s\n")

    script("baseline: a valid script")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "anullsrc=r=44100:cl=mono", "-t", "36000", "-c:a", "flac",
                    str(folder / "silence.flac")], check=True)
    sound("ten hours of silence, FLAC", "silence.flac")
    sound("WAV claiming 1 Hz", "slow.wav", wav_claiming(1, 4000))
    sound("WAV claiming 2 GHz", "fast.wav", wav_claiming(2_000_000_000, 4000))
    sound("10 MB of random bytes as .mp3", "noise.mp3",
          b"\xff\xfb\x90\x00" + random.Random(1).randbytes(10_000_000))
    lines = "".join(f"  - Sentence {n} is one of very many a coach could never say.\n"
                    for n in range(14_000))
    script("a script of near 1 MB of text", body="title: T\nintro:\n" + lines
           + SCRIPT.format(extra="")[9:])
    made["/dev/zero as a script"] = Path("/dev/zero")
    script("0.2 KB: 100 rounds, a cue every 0.05 s", body=(
        "title: T\nstages:\n  - repeat: 100\n    stages:\n      - name: A\n"
        "        duration: 7m\n        cues:\n          - {every: 0.05, say: x}\n"))
    script("0.3 KB: placeholders, thousands of texts", body=(
        "title: T\nstages:\n  - repeat: 20\n    stages:\n      - name: A\n"
        "        duration: 12m\n        cues:\n          - {every: 4, say: '{elapsed} gone, "
        "{remaining} to go in stage {number} of {stages}.'}\n"))
    blocks = "".join("  - repeat: 2\n    stages: [*b, *b, *b]\n" for _ in range(200))
    script("one bad stage through 1,200 aliases", body=(
        "title: T\nx: &b {name: X, duration: -5, cues: [{at: 1, sayy: x}]}\nstages:\n"
        + blocks))
    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n"
        for i in range(9))
    script("a YAML bomb: 9 levels of aliases", body=laughs + SCRIPT.format(extra=""))
    script("10,000 stages of one second", body="title: T\nstages:\n" + "".join(
        f"  - {{name: S{n}, duration: 1}}\n" for n in range(10_000)))
    script("a 10 MB title on one line", body="title: " + "a" * 10_000_000
           + "\nstages: [{name: A, duration: 5}]\n")
    script("nested 5,000 deep", body="title: T\nx: " + "[" * 5000 + "]" * 5000
           + "\nstages: [{name: A, duration: 5}]\n")
    return made


def check(script: Path, cache: Path) -> tuple[float, float, int]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    seconds, status, _, tree_mb = measured([str(VOICEGUIDE), "check", str(script)], env,
                                        show_errors=False)
    shutil.rmtree(cache, ignore_errors=True)
    return seconds, tree_mb, status


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    try:
        made = cases(folder)
        base_s, base_mb, _ = check(made.pop("baseline: a valid script"), folder / "cache")
        print(f"baseline (a tiny valid script, cold): {base_s:.2f} s, {base_mb:.0f} MB")
        worst_s = worst_mb = 0.0
        for name, script in made.items():
            seconds, mb, status = check(script, folder / "cache")
            worst_s, worst_mb = max(worst_s, seconds), max(worst_mb, mb)
            verdict = {0: "accepted", 2: "refused"}.get(status, f"exit {status}")
            print(f"{name:40} {verdict:9} {seconds:6.2f} s ({seconds / base_s:4.1f}x baseline)"
                  f" {mb:6.0f} MB")
        print(f"worst: {worst_s:.2f} s (target <= {TARGET_S:g}), {worst_mb:.0f} MB "
              f"(target <= {TARGET_MB:g})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
