"""The speech cache under real builds, with espeak-ng and with hibari: damaged entries are
remade to the same bytes."""

from __future__ import annotations

import os
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


def build(script: Path, target: Path) -> bytes:
    code, _, err = run("build", str(script), "-o", str(target), "-q")
    assert code == 0, err
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
    assert all(_verified(entry) for entry in entries(cache))  # remade, whole again


def _verified(entry: Path) -> bool:
    from voiceguide.speech.cache import _verified as check

    return check(entry.read_bytes(), entry.stem) is not None


def test_cache_info_and_clear(setup: tuple[Path, Path], tmp_path: Path) -> None:
    script, cache = setup
    code, out, _ = run("cache", "info")
    assert code == 0 and out.strip() == f"{cache / 'voiceguide'}: 0 clips, 0.0 MB"
    first = build(script, tmp_path / "first.mp3")
    count = len(entries(cache))
    code, out, _ = run("cache", "info")
    assert out.startswith(f"{cache / 'voiceguide'}: {count} clips, ")
    code, out, _ = run("cache", "clear")
    assert code == 0 and out.strip() == f"removed {count} clips"
    assert entries(cache) == []
    assert build(script, tmp_path / "again.mp3") == first


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
    assert all(_verified(entry) for entry in entries(cache))
    assert not list((cache / "voiceguide" / "speech").glob("??/.tmp-*"))
