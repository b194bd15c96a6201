"""MP3 writing: gapless timing, chapters in order, parameters, errors, and the atomic write."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from voiceguide.errors import OutputError
from voiceguide.mp3.frames import FrameError
from voiceguide.mp3.islands import PcmFrames
from voiceguide.mp3.writer import write_mp3
from voiceguide.plan import Chapter

RATE = 44100


def _burst_at(seconds: float, total_s: float, rate: int = RATE) -> bytes:
    """Digital silence with one 0.3 s tone burst starting at *seconds*."""
    samples = np.zeros(round(total_s * rate))
    start = round(seconds * rate)
    t = np.arange(round(0.3 * rate)) / rate
    samples[start : start + len(t)] = 0.5 * np.sin(2 * np.pi * 660 * t)
    return np.round(samples * 32767).astype("<i2").tobytes()


def _chunks(pcm: bytes, size: int = 8192) -> Iterator[bytes]:
    for pos in range(0, len(pcm), size):
        yield pcm[pos : pos + size]


def _write(target: Path, pcm: bytes, **options: object) -> None:
    settings: dict[str, object] = {"sample_rate": RATE, "bitrate": "96k",
                                   "tags": {"title": "t"}, "chapters": ()}  # fmt: skip
    settings.update(options)
    write_mp3(PcmFrames(_chunks(pcm)), target, **settings)  # type: ignore[arg-type]


def _decode(path: Path) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-"],
                         check=True, capture_output=True).stdout  # fmt: skip
    return np.frombuffer(raw, dtype="<i2")


def _probe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-show_streams", "-show_format",
         "-of", "json", str(path)], check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def test_decoders_trim_the_encoder_delay(tmp_path: Path) -> None:
    target = tmp_path / "burst.mp3"
    _write(target, _burst_at(1.0, 3.0))
    decoded = _decode(target)
    assert abs(len(decoded) - 3 * RATE) <= 0.005 * RATE
    onset = np.flatnonzero(np.abs(decoded) > 300)[0]
    assert abs(onset - RATE) <= 0.005 * RATE


def test_many_chapters_stay_in_order(tmp_path: Path) -> None:
    titles = [f"Stage {n}: {'x' * (40 - n)}" for n in range(1, 31)]
    chapters = [Chapter(title, 1000 * n, 1000 * (n + 1)) for n, title in enumerate(titles)]
    target = tmp_path / "chapters.mp3"
    _write(target, _burst_at(1.0, 30.0), chapters=chapters)
    got = _probe(target)["chapters"]
    assert [c["tags"]["title"] for c in got] == titles
    assert [float(c["start_time"]) for c in got] == [n for n in range(30)]


def test_sample_rate_and_bitrate_are_honoured(tmp_path: Path) -> None:
    target = tmp_path / "low.mp3"
    _write(target, _burst_at(0.5, 2.0, 22050), sample_rate=22050, bitrate="64k")
    stream = _probe(target)["streams"][0]
    assert (stream["sample_rate"], stream["channels"], stream["bit_rate"]) == ("22050", 1, "64000")


def test_metadata_special_characters_survive(tmp_path: Path) -> None:
    title = "Core; hips = stable #1 \\ end"
    target = tmp_path / "tags.mp3"
    _write(target, _burst_at(0.5, 2.0), tags={"title": title, "comment": "a\nb"},
           chapters=[Chapter(title, 0, 2000)])  # fmt: skip
    probe = _probe(target)
    assert probe["format"]["tags"]["title"] == title
    assert probe["chapters"][0]["tags"]["title"] == title


def test_the_description_is_a_comment_players_read(tmp_path: Path) -> None:
    """A COMM frame (mutagen, ffprobe and mpg123 show it), chapters still in file order."""
    from mutagen.id3 import ID3

    target = tmp_path / "comment.mp3"
    chapters = [Chapter(f"Stage {n}: {'x' * (9 - n)}", n * 500, n * 500 + 500) for n in range(4)]
    text = "Engage the back; ünïcode — and a second line\nstays."
    _write(target, _burst_at(0.5, 2.0), tags={"title": "T", "comment": text}, chapters=chapters)
    tag = ID3(target)
    assert [c.text for c in tag.getall("COMM")] == [[text]] and not tag.getall("TXXX")
    probe = _probe(target)
    assert probe["format"]["tags"]["comment"] == text
    assert [c["tags"]["title"] for c in probe["chapters"]] == [c.title for c in chapters]
    shown = subprocess.run(["mpg123", "-t", str(target)], capture_output=True, text=True).stderr
    assert "Comment: Engage the back" in shown


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("failure", [RuntimeError("render broke"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temp(
    tmp_path: Path, failure: BaseException
) -> None:
    target = tmp_path / "session.mp3"
    target.write_bytes(b"the earlier build")

    def failing() -> Iterator[bytes]:
        yield bytes(RATE * 2)
        raise failure

    with pytest.raises(type(failure)):
        write_mp3(PcmFrames(failing()), target, sample_rate=RATE, bitrate="96k", tags={}, chapters=())
    assert target.read_bytes() == b"the earlier build"
    assert _leftovers(tmp_path) == []


def test_a_successful_write_replaces_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out" / "session.mp3"
    _write(target, _burst_at(0.5, 1.0))
    _write(target, _burst_at(0.5, 2.0))
    assert abs(len(_decode(target)) - 2 * RATE) <= 0.005 * RATE
    assert _leftovers(target.parent) == []


def test_a_bit_rate_the_sample_rate_cannot_carry_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "bad.mp3"
    with pytest.raises(FrameError, match="192 kbit/s is not a bit rate of MPEG-2 .* 22050 Hz"):
        _write(target, _burst_at(0.5, 1.0, 22050), sample_rate=22050, bitrate="192k")
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_an_unwritable_folder_is_an_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="cannot write to"):
        _write(blocker / "x.mp3", _burst_at(0.5, 1.0))


def test_more_than_255_chapters_are_all_in_nested_tables_of_contents(tmp_path: Path) -> None:
    from mutagen.id3 import ID3

    from voiceguide.plan import Chapter

    chapters = [Chapter(f"Stage {n + 1}: S", n * 10, n * 10 + 10, n + 1) for n in range(600)]
    target = tmp_path / "many.mp3"
    write_mp3(PcmFrames([bytes(2 * 6000)]), target, tags={"title": "Many"}, chapters=chapters)
    probed = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(target)],
        capture_output=True, text=True, check=True).stdout)["chapters"]
    assert [c["tags"]["title"] for c in probed] == [c.title for c in chapters]
    tables = {t.element_id: t for t in ID3(target).getall("CTOC")}
    top = tables["toc"]
    assert top.flags & 1 and [len(tables[c].child_element_ids) for c in top.child_element_ids] \
        == [255, 255, 90]
    listed = [e for c in top.child_element_ids for e in tables[c].child_element_ids]
    assert listed == [f"ch{n}" for n in range(600)]


def test_a_long_file_goes_to_the_disk_as_it_is_written_and_comes_out_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer asks the system to start writing each stretch as it is written (so the
    sync at the end waits less): stretches end to end, up to the last frames, and the
    file the same to the byte as one written in one go."""
    from voiceguide import files
    from voiceguide.mp3 import writer

    rng = np.random.default_rng(7)
    samples = np.zeros(60 * RATE)
    for second in range(0, 60, 2):  # a burst of noise every other second: many islands
        samples[second * RATE : second * RATE + RATE // 2] = rng.uniform(-0.3, 0.3, RATE // 2)
    pcm = np.round(samples * 32767).astype("<i2").tobytes()
    monkeypatch.setattr(writer, "WRITEBACK_BYTES", 1 << 40)
    _write(tmp_path / "whole.mp3", pcm)
    handed: list[tuple[int, int]] = []

    def start_writeback(fd: int, start: int, end: int) -> int:
        handed.append((start, end))
        return files.start_writeback(fd, start, end)

    monkeypatch.setattr(writer, "WRITEBACK_BYTES", 16 * 1024)
    monkeypatch.setattr(writer, "start_writeback", start_writeback)
    _write(tmp_path / "stretches.mp3", pcm)
    size = (tmp_path / "whole.mp3").stat().st_size
    assert (tmp_path / "stretches.mp3").read_bytes() == (tmp_path / "whole.mp3").read_bytes()
    assert len(handed) >= 8
    assert all(a[1] == b[0] for a, b in zip(handed, handed[1:], strict=False))
    assert size - 16 * 1024 - 1500 < handed[-1][1] <= size
