"""What a sound file or a playlist contributes is cut and bounded before it is prepared
(issue: a four-minute cadence sound, a playlist of thousands): a long input costs what is
played of it. Real builds, real ffmpeg."""

from __future__ import annotations

import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voiceguide.audio import sounds
from voiceguide.audio.clips import CADENCE_FADE_MS
from voiceguide.cli import main
from voiceguide.speech import wav

RATE = 44100
SPM = 150
BEAT_MS = 60_000 // SPM


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def float_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    """A 32-bit float WAV (ffmpeg decodes it to the very same floats)."""
    import struct

    data = samples.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
                     + b"fmt " + struct.pack("<I", len(fmt)) + fmt
                     + b"data" + struct.pack("<I", len(data)) + data)


def tone(seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * 880 * t) * np.exp(-t / 60)).astype(np.float32)


def cadence_script(folder: Path, sound: str, name: str = "drill.yaml") -> Path:
    script = folder / name
    script.write_text(f"title: Cadence\nsounds: {{long: {sound}}}\ncadence: {SPM}\n"
                      "cadence_sound: long\nstages:\n  - {name: Run, duration: 20, "
                      "say: Keep this step.}\n", encoding="utf-8")
    return script


def test_a_cadence_sound_longer_than_a_beat_gives_only_its_first_beat(
        tmp_path: Path, private_cache: Path) -> None:
    """Four minutes of sound as the tick: the same MP3 as its first beat alone (faded out
    where it is cut), so the rest is neither heard nor prepared."""
    long = tone(240)
    float_wav(tmp_path / "long.wav", long)
    keep = BEAT_MS * RATE // 1000
    first = long[:keep].copy()
    fade = CADENCE_FADE_MS * RATE // 1000
    first[keep - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    float_wav(tmp_path / "beat.wav", first)
    made = []
    for sound in ("long.wav", "beat.wav"):
        target = tmp_path / f"{sound}.mp3"
        code, _, err = run("build", str(cadence_script(tmp_path, sound)), "-o", str(target),
                           "--engine", "espeak-ng", "-q")
        assert code == 0, err
        made.append(target.read_bytes())
    assert made[0] == made[1]
    float_wav(tmp_path / "other.wav", np.concatenate([long[:keep], -long[keep:]]))  # a control:
    target = tmp_path / "other.mp3"  # what is past the beat is not heard at all
    code, _, err = run("build", str(cadence_script(tmp_path, "other.wav")), "-o", str(target),
                       "--engine", "espeak-ng", "-q")
    assert code == 0, err
    assert target.read_bytes() == made[0]
    float_wav(tmp_path / "loud.wav", -first)  # and the comparison can tell sounds apart
    code, _, err = run("build", str(cadence_script(tmp_path, "loud.wav")), "-o", str(target),
                       "--engine", "espeak-ng", "-q")
    assert code == 0 and target.read_bytes() != made[0]


def test_decoding_only_the_start_of_a_sound_stops_the_decoder_there(tmp_path: Path) -> None:
    long = tone(240)
    float_wav(tmp_path / "long.wav", long)
    samples, rate = sounds.decode_file(tmp_path / "long.wav", keep_ms=400)
    assert rate == RATE and np.array_equal(samples, long[: 400 * RATE // 1000])
    whole, _ = sounds.decode_file(tmp_path / "long.wav")
    assert np.array_equal(whole, long)


def test_judging_a_sound_holds_none_of_its_samples(tmp_path: Path) -> None:
    """A sound is judged (decoded whole, bounded) a block at a time: the memory it takes is
    the file's bytes, not four bytes a sample on top of several copies."""
    path = tmp_path / "long.wav"
    with wave.open(str(path), "wb") as w:  # 16-bit: its samples as floats are twice the file
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(wav.encode(tone(240), RATE)[44:])
    size = path.stat().st_size
    tracemalloc.start()
    try:
        assert sounds.validate_sound_file(path) is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * size, f"{peak / 1e6:.0f} MB to judge a {size / 1e6:.0f} MB sound"
    silent = tmp_path / "silent.wav"
    silent.write_bytes(wav.encode(np.zeros(RATE, dtype=np.float32), RATE))
    assert sounds.validate_sound_file(silent) == "silent.wav is silent"


def playlist(folder: Path, stage_s: int, broken: int) -> Path:
    """One good 30 s file, then *broken* files with an MP3's first bytes and no audio."""
    import subprocess

    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=30", "-ac", "1", str(folder / "good.wav")],
                   check=True, timeout=60)
    (folder / "broken.mp3").write_bytes(b"\xff\xfb\x90\x00" + bytes(4000))
    names = ["good.wav", *["broken.mp3"] * broken]
    script = folder / "music.yaml"
    script.write_text(f"title: Music\nmusic:\n  files: [{', '.join(names)}]\nstages:\n"
                      f"  - {{name: Run, duration: {stage_s}, say: Run easy.}}\n",
                      encoding="utf-8")
    return script


def test_a_long_playlist_costs_what_is_played_of_it(tmp_path: Path,
                                                     private_cache: Path) -> None:
    """2,000 entries, the first 30 s long: a 20 s session plays the first alone, and never
    decodes the rest (each would be refused if it were)."""
    script = playlist(tmp_path, 20, 2000)
    target = tmp_path / "music.mp3"
    code, _, err = run("build", str(script), "-o", str(target), "--engine", "espeak-ng", "-q")
    assert code == 0, err
    code, _, err = run("check", str(script), "--engine", "espeak-ng")
    assert code == 0, err


@pytest.mark.parametrize("stage_s", [40, 100])
def test_the_files_a_session_reaches_are_judged_whole(tmp_path: Path, private_cache: Path,
                                                      stage_s: int) -> None:
    """The control: a session long enough to play past the first file reaches a broken
    one, which is refused at its place in the list."""
    script = playlist(tmp_path, stage_s, 3)
    code, out, err = run("check", str(script), "--engine", "espeak-ng")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines and all(": music file 'broken.mp3': " in line for line in lines)
    assert lines[0].startswith(f"{script}:3:21: ")


def test_a_file_past_the_longest_session_is_still_told_by_its_first_bytes(
        tmp_path: Path, private_cache: Path) -> None:
    script = playlist(tmp_path, 20, 0)
    (tmp_path / "notes.mp3").write_text("not audio at all\n", encoding="utf-8")
    script.write_text(script.read_text().replace("[good.wav]", "[good.wav, notes.mp3]"))
    code, _, err = run("check", str(script), "--engine", "espeak-ng")
    assert code == 2
    assert err.strip() == (f"{script}:3:21: music file 'notes.mp3': notes.mp3 is not a WAV, "
                           "FLAC, OGG or MP3 file")
