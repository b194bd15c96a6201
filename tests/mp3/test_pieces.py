"""Sessions made piece by piece from their plans (``pieces.py``), on real builds.

The joined pieces are decoded by ffmpeg and mpg123 and compared with the mix
that went in and with one long encode of it; warm builds are checked to mix
and encode nothing, and builds after edits to give the bytes a cold build gives.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from measure import write_wav

from voiceguide.audio import render
from voiceguide.audio.clips import PreparedClips
from voiceguide.errors import AudioError
from voiceguide.mp3.frames import FrameFormat
from voiceguide.mp3.islands import Encoding, PcmFrames
from voiceguide.mp3.pieces import Piece, PieceFrames, Recipe, join, pieces, reach
from voiceguide.mp3.writer import write_mp3
from voiceguide.session import Options, build, open_session

pytestmark = pytest.mark.slow

RATE = 44100
SCRIPT = """\
title: Pieces
voices: {coach: {engine: hibari, voice: heart, rate: 170}}
voice: coach
music: {files: [MUSIC], level: -14, duck: 12}
intro: Warm up with the music.
stages:
  - name: Steady
    duration: 40
    say: Easy pace, shoulders low.
    cues: [{at: 15, say: Breathe out slowly.}, {at: 30, say: Ten more seconds.}]
  - name: Cadence
    duration: 35
    cadence: 170
    say: Quick light steps.
    cues: [{at: 20, say: Stay tall.}]
    countdown: 3
outro: That is the session.
"""


def music_file(path: Path, pitch: float, seconds: int = 6) -> Path:
    """Six seconds (or *seconds*) of soft chords as a WAV file: the user's own music."""
    t = np.arange(seconds * RATE) / RATE
    tone = sum(np.sin(2 * np.pi * pitch * ratio * t) for ratio in (1.0, 1.25, 1.5)) / 3
    return write_wav(path, 0.3 * tone * (0.8 + 0.2 * np.sin(2 * np.pi * 0.5 * t)), RATE)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    music_file(tmp_path / "chords.wav", 220.0)
    (tmp_path / "drill.yaml").write_text(SCRIPT.replace("MUSIC", "chords.wav"), encoding="utf-8")
    return tmp_path


def forget_made(folder: Path) -> None:
    """Leave the speech and music levels cached, but no encoded pieces or session levels."""
    for kind in ("islands", "levels"):
        shutil.rmtree(folder / "cache" / "voiceguide" / kind, ignore_errors=True)


class Counts:
    """How many pieces were encoded, chunks mixed and stretches' levels measured."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.encoded = self.mixed = self.measured = 0
        self.gains: list[tuple[float, float]] = []  # each build's (events, beds), kept
        encode, chunk, measure = Encoding.encode, render.Mixdown._chunk, render.Mixdown.measure
        levels = PieceFrames.levels

        def counted_levels(frames: PieceFrames, *args: Any) -> tuple[float, float]:
            self.gains.append(levels(frames, *args))
            return self.gains[-1]

        def counted_encode(encoding: Encoding, *args: object) -> bytes:
            self.encoded += 1
            return encode(encoding, *args)  # type: ignore[arg-type]

        def counted_chunk(mixdown: render.Mixdown, begin: int, end: int) -> bytes:
            self.mixed += 1
            return chunk(mixdown, begin, end)

        def counted_measure(mixdown: render.Mixdown, begin: int, end: int) -> render.Measured:
            self.measured += 1
            return measure(mixdown, begin, end)

        monkeypatch.setattr(Encoding, "encode", counted_encode)
        monkeypatch.setattr(render.Mixdown, "_chunk", counted_chunk)
        monkeypatch.setattr(render.Mixdown, "measure", counted_measure)
        monkeypatch.setattr(PieceFrames, "levels", counted_levels)

    def reset(self) -> None:
        self.encoded = self.mixed = self.measured = 0


def built(folder: Path, name: str, options: Options | None = None) -> bytes:
    target = folder / name
    build(folder / "drill.yaml", target, options or Options())
    return target.read_bytes()


def the_mix(script: Path, rate: int) -> np.ndarray:
    """The session's samples as they went to the encoder."""
    session = open_session(script, Options(sample_rate=rate))
    plan = session.plan()
    made = PieceFrames(plan, session.clips, rate, lambda: session.beds(plan),
                       session.levels_cache())
    mixer = session.beds(plan)
    gain, bed_gain = made.levels(Recipe(plan, session.clips, rate, mixer, made.samples), mixer)
    mixer.scale(bed_gain)
    mixdown = render.Mixdown(plan, session.clips, rate, gain, mixer)
    try:
        pcm = mixdown.pcm(0, made.samples)
    finally:
        mixdown.close()
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def decoded(path: Path, tool: str) -> np.ndarray:
    command = (["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"]
               if tool == "ffmpeg" else ["mpg123", "-q", "-m", "-s", str(path)])
    done = subprocess.run(command, check=True, capture_output=True)
    assert not done.stderr.strip(), done.stderr.decode()
    return np.frombuffer(done.stdout, dtype="<i2").astype(np.float64)


def window_snr(reference: np.ndarray, heard: np.ndarray, size: int) -> np.ndarray:
    """SNR in dB per window of *size* samples of the reference where it sounds."""
    count = len(reference) // size
    ref = reference[: count * size].reshape(count, size)
    err = (heard[: count * size] - reference[: count * size]).reshape(count, size)
    power, noise = (ref**2).sum(axis=1), (err**2).sum(axis=1)
    sounding = power > 0
    return np.asarray(10 * np.log10(power[sounding] / np.maximum(noise[sounding], 1e-9)))


@pytest.mark.parametrize(("rate", "bitrate"), [(44100, "96k"), (22050, "48k"), (32000, "32k")])
def test_joined_pieces_decode_as_one_long_encode(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                 rate: int, bitrate: str) -> None:
    """MPEG-1 and MPEG-2 frames; at 32 kbit/s a frame cannot hold all a frame may borrow."""
    counts = Counts(monkeypatch)
    built(folder, "session.mp3", Options(sample_rate=rate, bitrate=bitrate))
    assert counts.encoded >= 3  # the bed makes one island of four pieces or so
    mix = the_mix(folder / "drill.yaml", rate)
    chunks: Iterator[bytes] = iter([mix.astype("<i2").tobytes()])
    write_mp3(PcmFrames(chunks), folder / "whole.mp3", sample_rate=rate, bitrate=bitrate, tags={},
              chapters=(), cache=None)  # one encode
    tools = ["ffmpeg"] + (["mpg123"] if shutil.which("mpg123") else [])
    for tool in tools:
        spliced, whole = decoded(folder / "session.mp3", tool), decoded(folder / "whole.mp3", tool)
        assert len(spliced) == len(whole) == len(mix)
        ours, theirs = window_snr(mix, spliced, rate // 4), window_snr(mix, whole, rate // 4)
        assert ours.mean() >= theirs.mean() - 0.5
        assert (theirs - ours).max() <= 3.0  # no window, a join's included, much worse
    if shutil.which("mp3val"):
        said = subprocess.run(["mp3val", str(folder / "session.mp3")], capture_output=True,
                              text=True, check=True).stdout
        assert "WARNING" not in said and "ERROR" not in said


def test_warm_builds_make_nothing_again_and_edits_give_a_cold_builds_bytes(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = Counts(monkeypatch)
    first = built(folder, "a.mp3")
    pieces_made, stretches = counts.encoded, counts.measured
    counts.reset()
    assert built(folder, "b.mp3") == first
    assert (counts.encoded, counts.mixed, counts.measured) == (0, 0, 0)

    script = folder / "drill.yaml"
    # the cue moved: the same clip, so the gains stay (new words may move them a grid
    # step, and then every piece is rightly made again)
    script.write_text(script.read_text().replace("{at: 20, say: Stay tall.}",
                                                 "{at: 22, say: Stay tall.}"))
    counts.reset()
    edited = built(folder, "c.mp3")
    assert counts.gains[0] == counts.gains[-1], "the edit moved the gains: pick another"
    assert 0 < counts.encoded < pieces_made  # only the pieces the edit reaches
    assert 0 < counts.measured < stretches  # only the stretches it reaches
    forget_made(folder)
    assert built(folder, "d.mp3") == edited

    music_file(folder / "chords.wav", 247.0)  # the same file name, other music
    counts.reset()
    retuned = built(folder, "e.mp3")
    assert retuned != edited and counts.measured == stretches
    forget_made(folder)
    assert built(folder, "f.mp3") == retuned



def test_kept_levels_not_of_their_shape_are_measured_again(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stretch's kept levels, whole under their checksum but cut short or grown, are
    measured again: the same gains and bytes."""
    from voiceguide.store import SUFFIX, Store

    counts = Counts(monkeypatch)
    first = built(folder, "a.mp3")
    stretches = counts.measured
    levels = Store(folder / "cache" / "voiceguide").entries("levels")
    for n, entry in enumerate(levels.entries()):
        key = entry.name.removesuffix(SUFFIX)
        data = levels.get(key)
        assert data is not None
        levels.put(key, data[:-8] if n % 2 else data + bytes(8))
    counts.reset()
    assert built(folder, "b.mp3") == first
    assert counts.measured == stretches and counts.encoded == 0

def test_an_edited_build_decodes_the_music_once(folder: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The stretches an edit reaches are measured, then the pieces it reaches mixed, from
    one pass of the decoder: the music under those pieces is kept as it goes by."""
    from voiceguide.audio import beds

    decodes: list[str] = []
    decode = beds.decode_stream

    def counted(path: Path, label: str, rate: int) -> Iterator[np.ndarray]:
        decodes.append(label)
        return decode(path, label, rate)

    monkeypatch.setattr(beds, "decode_stream", counted)
    music_file(folder / "long.wav", 196.0, seconds=120)  # longer than the session: no loop
    script = folder / "drill.yaml"
    script.write_text(SCRIPT.replace("MUSIC", "long.wav"), encoding="utf-8")
    built(folder, "a.mp3")
    counts = Counts(monkeypatch)
    script.write_text(script.read_text().replace("{at: 20, say: Stay tall.}",
                                                 "{at: 22, say: Stay tall.}"))
    decodes.clear()
    edited = built(folder, "b.mp3")
    assert counts.gains[0] == counts.gains[-1], "the edit moved the gains: pick another"
    assert counts.measured > 0 and counts.encoded > 0
    assert decodes == ["long.wav"]
    forget_made(folder)
    assert built(folder, "c.mp3") == edited


def test_a_session_without_beds_is_made_from_its_plan_too(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No PCM scan for a session: its islands come from the plan, a warm build mixes and
    encodes nothing (nor reads a clip's samples), and an edit gives the bytes a cold
    build gives."""
    from voiceguide.mp3.islands import Splicer

    script = folder / "drill.yaml"
    script.write_text(SCRIPT.replace("music: {files: [MUSIC], level: -14, duck: 12}\n", "")
                      .replace("    cadence: 170\n", ""), encoding="utf-8")

    def scanned(*args: object) -> object:
        raise AssertionError("a session's PCM was scanned for its islands")

    monkeypatch.setattr(Splicer, "frames", scanned)
    counts = Counts(monkeypatch)
    first = built(folder, "a.mp3")
    assert counts.encoded >= 3  # the intro, the stages' speech, the outro: islands apart
    counts.reset()
    read: list[str] = []
    get = PreparedClips.get

    def counted_get(prepared: PreparedClips, key: str) -> np.ndarray | None:
        read.append(key)
        return get(prepared, key)

    monkeypatch.setattr(PreparedClips, "get", counted_get)
    assert built(folder, "b.mp3") == first
    assert (counts.encoded, counts.mixed, counts.measured) == (0, 0, 0)
    assert read == []  # the plan and the recipe read the clips' headers, not their samples
    script.write_text(script.read_text().replace("{at: 20, say: Stay tall.}",
                                                 "{at: 22, say: Stay tall.}"))
    counts.reset()
    edited = built(folder, "c.mp3")
    assert 0 < counts.encoded <= 2 and edited != first
    assert read  # the edit mixes its islands from the clips
    forget_made(folder)
    assert built(folder, "d.mp3") == edited



@pytest.mark.parametrize("runs", [2, 3])
def test_the_stretches_levels_are_shared_out_as_runs_ask_and_the_same(
        folder: Path, monkeypatch: pytest.MonkeyPatch, runs: int) -> None:
    """Without music, each run of the levels takes the next stretch as it is done with
    its last: every stretch is measured once, and the levels and bytes are those of one
    run measuring them all."""
    import threading

    from voiceguide.mp3 import pieces as made

    script = folder / "drill.yaml"
    script.write_text(SCRIPT.replace("music: {files: [MUSIC], level: -14, duck: 12}\n", "")
                      .replace("    cadence: 170\n", ""), encoding="utf-8")
    counts = Counts(monkeypatch)
    on: list[str] = []
    measure = render.Mixdown.measure

    def measured_on(mixdown: render.Mixdown, begin: int, end: int) -> render.Measured:
        on.append(threading.current_thread().name)
        return measure(mixdown, begin, end)

    monkeypatch.setattr(render.Mixdown, "measure", measured_on)
    monkeypatch.setattr(made, "cores_per_build", lambda: 1)
    alone = built(folder, "one.mp3")
    stretches, on_one = len(on), set(on)
    assert stretches >= runs and len(on_one) == 1
    forget_made(folder)
    on.clear()
    monkeypatch.setattr(made, "cores_per_build", lambda: runs)
    assert built(folder, "many.mp3") == alone
    assert len(on) == stretches  # each once, whichever run took it
    assert counts.gains[0] == counts.gains[1]

def synthetic(fmt: FrameFormat, index: int, borrows: int, fill: int,
              blocks: tuple[int, int] = (0, 0)) -> bytes:
    """Frame *index* of a stream: its main data begins *borrows* bytes back; its granules'
    block types are *blocks*; every payload byte is *fill*."""
    width = 8 * fmt.side_info
    side = borrows << (width - 9)
    for switch, kind in zip((51, 110), blocks, strict=True):
        if kind:
            side |= 1 << (width - 1 - switch) | kind << (width - 3 - switch)
    frame = fmt.header(fmt.padded(index)) + side.to_bytes(fmt.side_info, "big")
    return frame + bytes([fill]) * (fmt.frame_size(index) - len(frame))


def test_join_takes_the_first_frame_that_fits_and_copies_what_it_borrows() -> None:
    fmt = FrameFormat(RATE, 96)
    left_piece, right_piece = Piece(0, 98, tail=4), Piece(98, 196, lead=49)
    left = [synthetic(fmt, i, 400, 0xAA) for i in range(left_piece.start, left_piece.stop)]
    right = [synthetic(fmt, i, 450 if i < 60 else 10, 0xBB)  # more than the left leaves free
             for i in range(right_piece.start, right_piece.stop)]
    left[59 - left_piece.start] = synthetic(fmt, 59, 400, 0xAA, blocks=(0, 1))  # ends on a start
    untouched = list(left)
    at = join(fmt, left, left_piece, right, right_piece)
    assert at == 61  # from 60 the borrowing fits, but at 60 the left side ends on a start block
    assert fmt.main_data_begin(right[at - right_piece.start]) == 10
    before = left[at - 1 - left_piece.start]
    assert before[-10:] == bytes([0xBB]) * 10 and before[-11] == 0xAA  # exactly what it borrows
    assert left[: at - 1 - left_piece.start] == untouched[: at - 1 - left_piece.start]


def test_pieces_that_cannot_join_are_an_error_not_a_broken_file() -> None:
    fmt = FrameFormat(RATE, 96)
    left_piece, right_piece = Piece(0, 98, tail=4), Piece(98, 196, lead=49)
    left = [synthetic(fmt, i, 100, 0xAA) for i in range(left_piece.start, left_piece.stop)]
    right = [synthetic(fmt, i, 300, 0xBB) for i in range(right_piece.start, right_piece.stop)]
    with pytest.raises(AudioError, match="cannot be joined near frame 98"):
        join(fmt, left, left_piece, right, right_piece)


def test_what_a_join_borrows_may_reach_back_over_two_frames() -> None:
    fmt = FrameFormat(RATE, 96)
    left_piece, right_piece = Piece(0, 98, tail=4), Piece(98, 196, lead=49)
    left = [synthetic(fmt, i, 480, 0xAA) for i in range(left_piece.start, left_piece.stop)]
    right = [synthetic(fmt, i, 300, 0xBB) for i in range(right_piece.start, right_piece.stop)]
    at = join(fmt, left, left_piece, right, right_piece)
    payload = fmt.payload(left[at - 1 - left_piece.start])
    assert at == right_piece.start + 2 and payload < 300
    last, before = left[at - 1 - left_piece.start], left[at - 2 - left_piece.start]
    assert last[-payload:] == bytes([0xBB]) * payload
    assert before[-(300 - payload) :] == bytes([0xBB]) * (300 - payload)
    assert before[-(301 - payload)] == 0xAA


def test_a_piece_reaches_back_over_the_tail_before_it_and_its_own_lead() -> None:
    fmt = FrameFormat(RATE, 96)
    two = pieces(0, 1300, fmt)  # an island of about 33 s: two pieces
    assert len(two) == 2 and two[0].lead == 0 and two[1].tail == 0
    assert reach([two]) == two[0].tail + two[1].lead
    assert reach([two]) * fmt.samples >= (two[0].stop - two[1].start) * fmt.samples
    assert reach([pieces(0, 200, fmt)]) == 0  # one piece reaches back over nothing


@pytest.mark.parametrize("seconds", [33, 44])
def test_short_sessions_with_music_build_on_a_cold_cache(tmp_path: Path, seconds: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An island of 31-45 s is two pieces: the second's encode reaches back over the
    first's tail and its own lead, which the mixdown must still hold."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    music_file(tmp_path / "chords.wav", 220.0)
    script = tmp_path / "short.yaml"
    script.write_text("title: Short\nmusic: {files: [chords.wav]}\ncadence: 170\nstages:\n"
                      f"  - {{name: Go, duration: {seconds}, say: Easy.}}\n", encoding="utf-8")
    options = Options()
    cold = build(script, tmp_path / "cold.mp3", options)
    build(script, tmp_path / "warm.mp3", options)
    assert (tmp_path / "cold.mp3").read_bytes() == (tmp_path / "warm.mp3").read_bytes()
    for tool in ("ffmpeg", "mpg123"):
        assert len(decoded(tmp_path / "cold.mp3", tool)) == render.to_sample(cold.duration_ms, RATE)


@pytest.mark.parametrize("change", ["lameenc", "numpy", "voiceguide"])
def test_a_new_version_of_what_makes_the_audio_uses_nothing_kept_by_the_old(
        folder: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """Kept pieces and levels are made again after an upgrade of the encoder (lameenc), of
    numpy (the levels' FFTs) or of voiceguide (the mix), never spliced from the old cache."""
    from voiceguide.mp3 import islands
    from voiceguide.mp3 import pieces as pieces_module

    counts = Counts(monkeypatch)
    first = built(folder, "a.mp3")
    made, stretches = counts.encoded, counts.measured
    counts.reset()
    if change == "lameenc":
        newer = f"{islands.encoder_version()}.post1"
        monkeypatch.setattr(islands, "encoder_version", lambda: newer)
        monkeypatch.setattr(pieces_module, "encoder_version", lambda: newer)
    elif change == "numpy":
        monkeypatch.setattr(np, "__version__", f"{np.__version__}.post1")
    else:
        monkeypatch.setattr(pieces_module, "__version__", f"{pieces_module.__version__}.post1")
    assert built(folder, "b.mp3") == first  # the same bytes, made again
    assert counts.encoded == made
    if change != "lameenc":  # the encoder does not change the levels
        assert counts.measured == stretches
