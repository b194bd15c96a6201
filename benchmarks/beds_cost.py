"""What beds cost: a 60-minute drill with a 60-minute music file and cadence ticks.

    .venv/bin/python benchmarks/beds_cost.py

Makes a 60-minute MP3 of music (voiceguide's own loop, repeated and encoded
at 128 kbit/s, so it decodes like a user's file), writes build_speed.py's
60-minute drill twice, with and without `music` and `cadence: 170`, warms the
caches, then builds each warm (best of 2) and prints the time ratio (target
<= 1.5) and the bed build's peak memory over the whole process tree (target
<= 150 MB; the 30-minute one's beside it, to show it flat), plus whether two bed
builds gave the same bytes. Then, for scale: the
bed build after one cue is edited (and how many times it decoded the music from
its start, counted by a stand-in for ffmpeg on PATH that logs and runs the real
one: target once), and with no piece or level kept (speech still
cached) at 60 and 30 minutes, whose peak memory shows whether it stays flat as
the session grows. Prints figures only.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import build, edited, script_yaml  # noqa: E402

from voiceguide import builtins  # noqa: E402

TARGETS = {"time": 1.5, "memory_mb": 150.0, "edit_decodes": 1}
MUSIC_DECODE = "-f f32le pipe:1"  # how voiceguide asks ffmpeg for a music file's samples


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
    subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", "-1", "-i",
                    str(builtins.music_path("soft_loop")), "-t", "3600", "-c:a", "libmp3lame",
                    "-b:a", "128k", str(folder / "music.mp3")], check=True)
    plain = script_yaml(60)
    scripts = {"without beds": folder / "plain.yaml", "with beds": folder / "beds.yaml"}
    scripts["without beds"].write_text(plain, encoding="utf-8")
    scripts["with beds"].write_text(with_beds(plain), encoding="utf-8")
    half = folder / "half.yaml"
    half.write_text(with_beds(script_yaml(30)), encoding="utf-8")
    made = [folder / "cache" / "voiceguide" / kind for kind in ("islands", "levels")]
    try:
        best: dict[str, float] = {}
        peak, digests = 0.0, set()
        for script in (*scripts.values(), half):
            build(script, folder / "warm.mp3", env)  # speech, prepared clips, music level
        for _ in range(2):
            for name, script in scripts.items():
                target = folder / f"{name}.mp3"
                seconds, _, tree_mb = build(script, target, env)
                best[name] = min(best.get(name, seconds), seconds)
                if name == "with beds":
                    peak = max(peak, tree_mb)
                    digests.add(hashlib.sha256(target.read_bytes()).hexdigest())
        ratio = best["with beds"] / best["without beds"]
        print(f"60-minute build with a 60-minute music bed and cadence {best['with beds']:.1f} s"
              f" / without beds {best['without beds']:.1f} s = {ratio:.2f}"
              f"  (target <= {TARGETS['time']})")
        _, _, half_mb = build(half, folder / "half.mp3", env)
        print(f"peak memory with beds, whole process tree: {peak:.0f} MB"
              f"  (target <= {TARGETS['memory_mb']:.0f}); at 30 minutes {half_mb:.0f} MB")
        same = "the same bytes" if len(digests) == 1 else "different files"
        print(f"two builds with beds gave {same}")
        edit = folder / "edit.yaml"
        edit.write_text(edited(scripts["with beds"].read_text(encoding="utf-8")), encoding="utf-8")
        log = folder / "decodes.log"
        seconds, _, _ = build(edit, folder / "edit.mp3", {**env, **counting_ffmpeg(folder, log)})
        decodes = log.read_text(encoding="utf-8").count(MUSIC_DECODE) if log.exists() else 0
        print(f"with beds, one cue edited: {seconds:.1f} s"
              f" = {seconds / best['without beds']:.2f} of the build without beds;"
              f" the music decoded {decodes} time(s)  (target {TARGETS['edit_decodes']})")
        for minutes, script in ((60, scripts["with beds"]), (30, half)):
            for kept in made:
                shutil.rmtree(kept, ignore_errors=True)
            seconds, _, tree_mb = build(script, folder / "cold.mp3", env)
            print(f"{minutes}-minute build with beds, no piece or level kept: {seconds:.1f} s,"
                  f" peak memory {tree_mb:.0f} MB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def counting_ffmpeg(folder: Path, log: Path) -> dict[str, str]:
    """PATH with an ``ffmpeg`` first that appends its arguments to *log*, then runs ffmpeg."""
    real = shutil.which("ffmpeg")
    if real is None:
        raise SystemExit("ffmpeg is not installed")
    shims = folder / "shims"
    shims.mkdir(exist_ok=True)
    shim = shims / "ffmpeg"
    shim.write_text(f'#!/bin/sh\necho "$*" >> {shlex.quote(str(log))}\n'
                    f'exec {shlex.quote(real)} "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    return {"PATH": f"{shims}{os.pathsep}{os.environ.get('PATH', '')}"}


def with_beds(plain: str) -> str:
    return plain.replace("stages:\n", "music: {files: [music.mp3]}\ncadence: 170\nstages:\n", 1)


if __name__ == "__main__":
    main()
