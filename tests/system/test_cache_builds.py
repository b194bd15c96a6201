"""The speech cache under real builds, with espeak-ng and with hibari: damaged entries are
remade to the same bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main

pytestmark = pytest.mark.slow

DRILL = """\
title: Cache drill
voices:
  coach: {voice: gmw/en-us, rate: 170}
  counter: {voice: gmw/en-us, rate: 200}
voice: coach
intro: Welcome. Stand tall and breathe.
stages:
  - name: Warm up
    duration: 20
    say: [Strides are short and quick., Keep the shoulders loose.]
    cues:
      - {at: 10, say: Halfway there.}
    countdown: 3
  - name: Core
    duration: 15
    say: Engage the lower back.
    cues:
      - {before_end: 8, say: Almost done., voice: counter}
outro: Well done.
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "voiceguide" / "speech").glob("??/*.clip"))


NATURAL_DRILL = DRILL.replace("{voice: gmw/en-us,", "{engine: hibari, voice: heart,")


@pytest.fixture(params=[DRILL, NATURAL_DRILL], ids=["espeak-ng", "hibari"])
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          request: pytest.FixtureRequest) -> tuple[Path, Path]:
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    script = tmp_path / "drill.yaml"
    script.write_text(request.param, encoding="utf-8")
    return script, cache


def build(script: Path, target: Path, *extra: str) -> bytes:
    code, _, err = run("build", str(script), "-o", str(target), "-q", *extra)
    assert code == 0, err
    return target.read_bytes()


def built_apart(script: Path, target: Path, *extra: str) -> bytes:
    """``build`` in a process of its own, as users run builds: nothing this one kept in
    memory (the filter's taps, a file's digest) stands in for what the store holds."""
    done = subprocess.run([sys.executable, "-m", "voiceguide", "build", str(script), "-o",
                           str(target), "-q", *extra], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return target.read_bytes()


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "truncate some"])
def test_damaging_every_entry_and_rebuilding_gives_the_same_bytes(
    setup: tuple[Path, Path], tmp_path: Path, damage: str
) -> None:
    script, cache = setup
    first = build(script, tmp_path / "first.mp3")
    found = entries(cache)
    assert len(found) >= 10
    # Remaking only some clips puts them after other clips than the first time: a clip
    # that depended on what the engine spoke before would come out different.
    for entry in found[1::3] if damage == "truncate some" else found:
        data = entry.read_bytes()
        if damage.startswith("truncate"):
            data = data[: len(data) // 2]
        elif damage == "flip":
            data = data[:-100] + bytes([data[-100] ^ 0x40]) + data[-99:]
        else:
            data = b""
        entry.write_bytes(data)
    assert build(script, tmp_path / "second.mp3") == first
    if damage == "flip":
        # only the checksum shows this damage: a build that reads no speech (its prepared
        # clips say all it needs) leaves it; one that reads the speech makes it again
        assert not any(_verified(entry) for entry in found)
        shutil.rmtree(cache / "voiceguide" / "speech" / "prepared")
        assert build(script, tmp_path / "third.mp3") == first
    assert entries(cache) == found  # every one still there (none dropped to pass this check)
    assert all(_verified(entry) for entry in found)  # remade, whole again


def _verified(entry: Path) -> bool:
    from voiceguide.store import _verified as check

    return check(entry.read_bytes(), entry.stem) is not None


def test_cache_info_and_clear(setup: tuple[Path, Path], tmp_path: Path) -> None:
    """info counts every file and byte the cache holds; clear removes them all and says so."""
    script, cache = setup
    root = cache / "voiceguide"
    code, out, _ = run("cache", "info")
    assert code == 0 and out.startswith(f"{root}: 0 speech clips, 0 prepared clips, 0 music "
                                        "levels, 0 encoded islands, 0 session levels, 0 watch "
                                        "workouts, 0 voice data; 0.0 MB of 2,000 MB")
    first = build(script, tmp_path / "first.mp3", "--fit")
    files = [p for p in root.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    clips, prepared = len(entries(cache)), len(list((root / "speech" / "prepared").rglob("*.clip")))
    islands = len(list((root / "islands").rglob("*.clip")))
    levels = len(list((root / "levels").rglob("*.clip")))  # every session's, from its plan
    workouts = len(list((root / "watch").rglob("*.clip")))
    voice_data = sorted((root / "voices").rglob("*.clip"))
    voices = len(voice_data)
    # the natural voice's data when it speaks; else at most its models' digests (64 bytes
    # after each entry's header), which the probe of the natural voice keeps
    digests = [p for p in voice_data if len(p.read_bytes().partition(b"\n")[2]) == 64]
    assert clips and prepared and islands and levels and workouts
    assert (voices > len(digests)) == (script.read_text().count("engine: hibari") > 0)
    assert clips + prepared + islands + levels + workouts + voices == len(files)
    code, out, _ = run("cache", "info")
    assert out.startswith(f"{root}: {clips} speech clips, {prepared} prepared clips, 0 music "
                          f"levels, {islands} encoded islands, {levels} session levels, "
                          f"{workouts} watch workouts, {voices} voice data; "
                          f"{size / 1e6:.1f} MB of 2,000 MB")
    code, out, _ = run("cache", "clear")
    assert code == 0 and out.strip() == f"removed {len(files)} files, {size / 1e6:.1f} MB"
    assert [p for p in root.rglob("*") if p.is_file()] == []
    assert build(script, tmp_path / "again.mp3") == first


def test_the_size_limit_evicts_the_least_recently_used(
        setup: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script, cache = setup
    STALE = 8_000_000  # more than a tenth of what a build keeps (the natural voice's graph)
    root = cache / "voiceguide"
    stale = root / "speech" / "ab" / ("ab" + "0" * 62 + ".clip")
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x" * STALE)
    os.utime(stale, (1_000_000, 1_000_000))  # used long ago
    build(script, tmp_path / "first.mp3")
    used = [p for p in root.rglob("*.clip") if p != stale]
    total = sum(p.stat().st_size for p in used) + STALE
    limit = (total - STALE) * 10 // 9 + 1000  # over it, and nine tenths of it keep the rest
    assert limit < total
    monkeypatch.setenv("VOICEGUIDE_CACHE_LIMIT", f"{limit / 1e6}MB")
    build(script, tmp_path / "second.mp3")
    assert not stale.exists() and all(p.exists() for p in used)  # the old one went first
    monkeypatch.setenv("VOICEGUIDE_CACHE_LIMIT", "plenty")
    code, _, err = run("build", str(script), "-o", str(tmp_path / "x.mp3"))
    assert code == 2 and "VOICEGUIDE_CACHE_LIMIT='plenty' is not a size" in err
    assert not (tmp_path / "x.mp3").exists()  # found before any work


def test_two_builds_sharing_a_cold_cache(setup: tuple[Path, Path], tmp_path: Path) -> None:
    script, cache = setup
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    targets = [tmp_path / "a.mp3", tmp_path / "b.mp3"]
    processes = [subprocess.Popen([sys.executable, "-m", "voiceguide", "build", str(script), "-o",
                                   str(t), "-q"], env=env, stderr=subprocess.PIPE, text=True)
                 for t in targets]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert targets[0].read_bytes() == targets[1].read_bytes()
    found = entries(cache)
    assert len(found) >= 10 and all(_verified(entry) for entry in found)
    assert not list((cache / "voiceguide" / "speech").glob("??/.tmp-*"))


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_every_kind_of_kept_entry_damaged_is_made_again_with_the_same_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    """Speech, prepared clips, music levels, encoded islands and pieces, session levels,
    watch workouts, the natural voice's data: whatever kind a damaged entry is, it is
    noticed, never used, and made again."""
    from voiceguide.store import KINDS, Store

    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    script = tmp_path / "drill.yaml"
    script.write_text(NATURAL_DRILL.replace("stages:", "music: {files: [soft_loop]}\n"
                                            "cadence: 160\nstages:"), encoding="utf-8")
    first = built_apart(script, tmp_path / "first.mp3", "--fit")
    store = Store(cache / "voiceguide")
    kept = {kind: store.entries(kind).entries() for kind in KINDS}
    assert all(kept.values()), {kind: len(found) for kind, found in kept.items()}
    for found in kept.values():
        for entry in found:
            data = entry.read_bytes()
            entry.write_bytes(data[: len(data) // 2] if damage == "truncate" else
                              data[:-10] + bytes([data[-10] ^ 0x40]) + data[-9:])
    assert built_apart(script, tmp_path / "second.mp3", "--fit") == first
    assert (tmp_path / "second.fit").read_bytes() == (tmp_path / "first.fit").read_bytes()
    for kind in KINDS:
        assert all(_verified(entry) for entry in store.entries(kind).entries()), kind
