"""What hostile or careless inputs cost before voiceguide refuses (or accepts) them.

    .venv/bin/python benchmarks/hostile_cost.py

Makes inputs of up to 10 MB that once cost minutes or gigabytes (hours of
silence in a small FLAC, a WAV whose header claims 1 Hz or 2 GHz, random
bytes named .mp3, a script of near a megabyte of text, /dev/zero as a
script), and those of the newer surfaces (a cover whose header claims
60,000 px, a truncated JPEG cover, a four-minute cadence sound, a playlist
of 10,000 entries, a megabyte of noise as a watch workout, a 100 KB
`--title`, a scheduler that accepts and says nothing), and runs the command
that meets each (`check`, `build`, `import`, `publish`) from a cold cache,
printing the wall time and the peak memory of the whole process tree (summed
PSS).
Targets: every input refused or accepted within 10 s and 500 MB. The
baseline is the same check of a tiny valid script, measured in the same run.
Prints figures only.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import VOICEGUIDE, watched  # noqa: E402

from voiceguide.speech import wav  # noqa: E402

TARGET_S, TARGET_MB = 10.0, 500.0
SCRIPT = "title: T\n{extra}stages:\n  - name: A\n    duration: 30\n    say: Go.\n"


def wav_claiming(rate: int, frames: int) -> bytes:
    return wav.wrap_pcm16(random.Random(rate).randbytes(2 * frames), rate)


def png_claiming(side: int) -> bytes:
    """A PNG header that says *side* × *side* pixels, and a few bytes of image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(1000))) + chunk(b"IEND", b""))


def cases(folder: Path, silent_port: int) -> dict[str, list[str]]:
    """name → the voiceguide command that meets it; each names its hostile input."""
    made: dict[str, list[str]] = {}

    def script(name: str, extra: str = "", body: str | None = None,
               command: str = "check") -> Path:
        path = folder / f"{name.replace('/', '_')}.yaml"
        path.write_text(body if body is not None else SCRIPT.format(extra=extra),
                        encoding="utf-8")
        made[name] = [command, str(path)] + (["-o", str(folder / "out.mp3")]
                                              if command == "build" else [])
        return path

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
    made["/dev/zero as a script"] = ["check", "/dev/zero"]
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
    (folder / "bomb.png").write_bytes(png_claiming(60_000))
    script("a cover claiming 60,000 px", "cover: bomb.png\n")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=1400x1400:rate=1", "-frames:v", "1", str(folder / "c.jpg")],
                   check=True)
    data = (folder / "c.jpg").read_bytes()
    (folder / "cut.jpg").write_bytes(data[: len(data) // 2])
    script("a truncated JPEG cover", "cover: cut.jpg\n")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=880:duration=240", "-ac", "1", str(folder / "long.wav")],
                   check=True)
    script("a 4-minute cadence sound, built", "sounds: {long: long.wav}\ncadence: 170\n"
           "cadence_sound: long\n", command="build")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=20", "-ac", "1", str(folder / "song.wav")],
                   check=True)
    for n in range(10_000):
        os.link(folder / "song.wav", folder / f"song{n}.wav")
    script("a playlist of 10,000 entries, built", "music: {files: ["
           + ", ".join(f"song{n}.wav" for n in range(10_000)) + "]}\n", command="build")
    (folder / "noise.fit").write_bytes(random.Random(2).randbytes(1_000_000))
    made["1 MB of noise as a watch workout"] = ["import", str(folder / "noise.fit"), "-o",
                                                str(folder / "imported.yaml")]
    plain = script("a 100 KB --title, published", "")
    made["a 100 KB --title, published"] = ["publish", str(plain), "--to",
                                           str(folder / "site"), "--title", "t" * 100_000]
    made["a scheduler that accepts and says nothing"] = [
        "build", str(plain), "-o", str(folder / "out.mp3"), "--scheduler",
        f"tcp://127.0.0.1:{silent_port}"]
    return made


def check(command: list[str], cache: Path) -> tuple[float, float, int]:
    """(seconds, the peak of the process tree's summed PSS in MB, exit status): PSS, as
    docs/voices.md gives memory, since the natural voice's speakers share one model."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    seconds, status, _, memory = watched([str(VOICEGUIDE), *command], env, show_errors=False)
    shutil.rmtree(cache, ignore_errors=True)
    return seconds, memory.peak_pss_kb / 1024, status


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel's backlog), says nothing
    try:
        made = cases(folder, silent.getsockname()[1])
        base_s, base_mb, _ = check(made.pop("baseline: a valid script"), folder / "cache")
        print(f"baseline (a tiny valid script, cold): {base_s:.2f} s, {base_mb:.0f} MB")
        worst_s = worst_mb = 0.0
        for name, command in made.items():
            seconds, mb, status = check(command, folder / "cache")
            worst_s, worst_mb = max(worst_s, seconds), max(worst_mb, mb)
            verdict = {0: "accepted", 2: "refused", 1: "exit 1"}.get(status, f"exit {status}")
            print(f"{name:42} {verdict:9} {seconds:6.2f} s ({seconds / base_s:4.1f}x baseline)"
                  f" {mb:6.0f} MB")
        print(f"worst: {worst_s:.2f} s (target <= {TARGET_S:g}), {worst_mb:.0f} MB "
              f"(target <= {TARGET_MB:g})")
    finally:
        silent.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
