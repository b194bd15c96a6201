"""A file per stage (spec 14), built for real and decoded by ffmpeg and by mpg123: each
file is exactly its chapter's samples, and in order they are the whole session."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from click.testing import CliRunner
from measure import write_wav

from voiceguide.audio import render
from voiceguide.cli import main
from voiceguide.mp3.pieces import PieceFrames
from voiceguide.mp3.stages import layout, safe_name
from voiceguide.plan import Settings
from voiceguide.session import Options, open_session

pytestmark = pytest.mark.slow

RATE = 44100
ESPEAK = Options(settings=Settings(engine="espeak-ng"))  # as the builds below are made
PLAIN = """\
title: Split
intro: Three stages, three files.
stages:
  - name: "Warm: up"
    duration: 7
    say: Easy.
  - repeat: 2
    stages:
      - name: Fast
        duration: 5
        say: Go.
outro: Done.
"""


def decoded(path: Path, tool: str) -> np.ndarray:
    command = (["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"]
               if tool == "ffmpeg" else ["mpg123", "-q", "-m", "-s", str(path)])
    done = subprocess.run(command, check=True, capture_output=True, timeout=120)
    assert not done.stderr.strip(), done.stderr.decode()
    return np.frombuffer(done.stdout, dtype="<i2").astype(np.float64)


def snr(reference: np.ndarray, heard: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / max(np.sum((heard - reference) ** 2), 1)))


def the_mix(script: Path) -> np.ndarray:
    session = open_session(script, ESPEAK)
    plan = session.plan()
    chunks = (PieceFrames(plan, session.clips, RATE, lambda: session.beds(plan),
                          session.levels_cache()).pcm() if plan.beds
              else render.render(plan, session.clips, RATE))
    return np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float64)


def music(path: Path) -> None:
    t = np.arange(4 * RATE) / RATE
    write_wav(path, 8000 / 32767 * np.sin(2 * np.pi * 220 * t), RATE)


@pytest.mark.parametrize("beds", [False, True])
def test_each_stage_file_is_its_chapter_and_together_they_are_the_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, beds: bool) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = PLAIN
    if beds:
        music(tmp_path / "tone.wav")
        text = text.replace("stages:\n  - name", "music: {files: [tone.wav]}\ncadence: 170\n"
                            "stages:\n  - name", 1)
    script = tmp_path / "split.yaml"
    script.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(script), "-o", str(tmp_path / "s.mp3"),
                                       "--split", "--engine", "espeak-ng"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [str(tmp_path / "s.mp3"),
                                          str(tmp_path / "s" / "s.m3u8")]
    plan = open_session(script, ESPEAK).plan()
    stages = layout(plan, RATE)
    assert [s.name for s in stages][:2] == ["01 Intro.mp3", "02 Stage 1 - Warm - up.mp3"]
    listing = (tmp_path / "s" / "s.m3u8").read_text(encoding="utf-8").splitlines()
    assert listing[0] == "#EXTM3U" and [unquote(line) for line in listing
                                        if not line.startswith("#")] == [s.name for s in stages]
    parts = []
    for stage in stages:
        ours = decoded(tmp_path / "s" / stage.name, "ffmpeg")
        assert len(ours) == len(decoded(tmp_path / "s" / stage.name, "mpg123")) == stage.samples
        parts.append(ours)
    whole = decoded(tmp_path / "s.mp3", "ffmpeg")
    joined = np.concatenate(parts)
    assert len(joined) == len(whole) == render.to_sample(plan.duration_ms, RATE)
    mix = the_mix(script)
    assert len(mix) == len(joined)
    # the same audio, sample for sample in place: as close to the mix as the session is
    assert snr(mix, joined) > snr(mix, whole) - 1.0 > 10


def test_a_second_split_removes_the_stage_files_of_the_first(tmp_path: Path,
                                                              private_cache: Path) -> None:
    script = tmp_path / "split.yaml"
    script.write_text(PLAIN, encoding="utf-8")
    args = ["build", str(script), "-o", str(tmp_path / "s.mp3"), "--split", "--engine",
            "espeak-ng"]
    assert CliRunner().invoke(main, args).exit_code == 0
    script.write_text(PLAIN.replace("Fast", "Quick"), encoding="utf-8")
    (tmp_path / "s" / "notes.txt").write_text("mine")
    assert CliRunner().invoke(main, args).exit_code == 0
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert "notes.txt" in names and not any("Fast" in n for n in names)
    assert sum(1 for n in names if n.endswith(".mp3")) == 5


@pytest.mark.parametrize(("title", "name"), [
    ("Stage 1: Warm up", "Stage 1 - Warm up"),
    ("../../etc/passwd", "-..-etc-passwd"),
    ("a\u202eevil\u200b\u2066x", "aevilx"),
    ("  .hidden  ", "hidden"),
    ('q"<>|?*\\', "q-------"),
    ("\n\t", "stage"),
    ("x" * 200, "x" * 80),
])
def test_stage_file_names_are_safe(title: str, name: str) -> None:
    made = safe_name(title)
    assert made == name and "/" not in made and not made.startswith(".")


def test_each_stage_file_lasts_its_chapter_as_ffprobe_reads_it(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """Against what another program reads, not voiceguide's own layout: each stage file
    decodes to its chapter's span in the session as ffprobe gives it, sample for sample,
    and the playlist's #EXTINF gives each its chapter's seconds and title."""
    import json

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    script = tmp_path / "split.yaml"
    script.write_text(PLAIN.replace("duration: 5", "duration: 5.6"), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(script), "-o", str(tmp_path / "s.mp3"),
                                       "--split", "--engine", "espeak-ng"])
    assert result.exit_code == 0, result.stderr
    probed = subprocess.run(["ffprobe", "-v", "error", "-show_chapters", "-of", "json",
                             str(tmp_path / "s.mp3")], check=True, capture_output=True,
                            timeout=60)
    chapters = json.loads(probed.stdout)["chapters"]
    listing = (tmp_path / "s" / "s.m3u8").read_text(encoding="utf-8").splitlines()
    infos = [line for line in listing if line.startswith("#EXTINF:")]
    names = [unquote(line) for line in listing if line and not line.startswith("#")]
    assert len(chapters) == len(infos) == len(names) == 5
    for chapter, info, name in zip(chapters, infos, names, strict=True):
        start, end = float(chapter["start_time"]), float(chapter["end_time"])
        samples = len(decoded(tmp_path / "s" / name, "ffmpeg"))
        assert samples == round(end * RATE) - round(start * RATE), name
        seconds, _, title = info.removeprefix("#EXTINF:").partition(",")
        assert int(seconds) == round(end - start)
        assert title == safe_name(chapter["tags"]["title"])
        assert name.endswith(f" {title}.mp3")
