"""Encoding only what sounds: spliced islands decode as a whole-file encode does.

Checked with decoders voiceguide does not contain (ffmpeg, mpg123) and mp3val,
against the PCM that went in and against ffmpeg's own whole-file encode.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from voiceguide.mp3.frames import ENCODER_DELAY, FrameFormat
from voiceguide.mp3.islands import LONGEST_CACHED_S, Encoding, PcmFrames, Splicer
from voiceguide.mp3.writer import write_mp3
from voiceguide.store import SUFFIX, Entries

RATE = 44100
ONSETS_S = (0.4, 3.0, 3.9, 11.0, 20.05)  # close ones share an island, far ones do not


def session(rate: int = RATE, seconds: float = 24.0, onsets: tuple[float, ...] = ONSETS_S,
            burst_s: float = 0.5) -> bytes:
    """Digital silence with tone bursts, each with a sharp onset."""
    pcm = np.zeros(round(seconds * rate))
    t = np.arange(round(burst_s * rate)) / rate
    for number, onset in enumerate(onsets):
        start = round(onset * rate)
        tone = 0.4 * np.sin(2 * np.pi * (440 + 110 * number) * t) * np.exp(-3 * t)
        pcm[start : start + len(t)] += tone[: len(pcm) - start]
    return np.round(pcm * 32767).astype("<i2").tobytes()


def chunks(pcm: bytes, size: int = 2 * 44100 * 2) -> Iterator[bytes]:
    for pos in range(0, len(pcm), size):
        yield pcm[pos : pos + size]


def write(target: Path, pcm: bytes, *, rate: int = RATE, bitrate: str = "96k",
          cache: Entries | None = None, threads: int | None = None) -> Encoding:
    return write_mp3(PcmFrames(chunks(pcm)), target, sample_rate=rate, bitrate=bitrate, tags={"title": "t"},
                     chapters=(), cache=cache, threads=threads)


def ffmpeg_decode(path: Path) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
                         check=True, capture_output=True).stdout  # fmt: skip
    return np.frombuffer(raw, dtype="<i2").astype(np.int32)


def mpg123_decode(path: Path) -> np.ndarray:
    raw = subprocess.run(["mpg123", "-q", "-m", "-s", str(path)], check=True,
                         capture_output=True).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.int32)


def whole_file_encode(pcm: bytes, folder: Path, rate: int = RATE) -> Path:
    """ffmpeg's own encode of the same PCM in one piece: the reference."""
    target = folder / "whole.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "s16le", "-ar", str(rate), "-ac", "1",
                    "-i", "pipe:0", "-c:a", "libmp3lame", "-b:a", "96k", str(target)],
                   input=pcm, check=True)  # fmt: skip
    return target


def onsets(decoded: np.ndarray, rate: int) -> list[int]:
    """First sample of each sounding stretch (above -40 dBFS after 50 ms of quiet)."""
    loud = np.flatnonzero(np.abs(decoded) > 327)
    starts = [int(loud[0])] if len(loud) else []
    starts += [int(b) for a, b in zip(loud[:-1], loud[1:], strict=True) if b - a > 0.05 * rate]
    return starts


needs_mpg123 = pytest.mark.skipif(shutil.which("mpg123") is None, reason="needs mpg123")


@needs_mpg123
@pytest.mark.parametrize("decode", [ffmpeg_decode, mpg123_decode])
def test_spliced_islands_decode_like_a_whole_file_encode(tmp_path: Path, decode) -> None:  # type: ignore[no-untyped-def]
    pcm = session()
    target = tmp_path / "spliced.mp3"
    encoding = write(target, pcm)
    assert encoding.encoded == 4  # the two close bursts share an island
    went_in = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    got, whole = decode(target), decode(whole_file_encode(pcm, tmp_path))
    assert len(got) == len(went_in)  # gapless: encoder delay and padding trimmed exactly
    expected = onsets(went_in, RATE)
    assert len(expected) == len(ONSETS_S)
    for mine, reference, truth in zip(onsets(got, RATE), onsets(whole, RATE), expected,
                                      strict=True):
        assert abs(mine - reference) <= RATE // 1000 and abs(mine - truth) <= RATE // 1000
    far = np.convolve(went_in != 0, np.ones(4 * 1152), "same") == 0  # well away from any sound
    assert far.sum() > 10 * RATE and not got[far].any()  # digital silence stays exactly zero

    def snr(decoded: np.ndarray) -> float:
        error = (decoded - went_in).astype(float)
        return float(10 * np.log10((went_in.astype(float) ** 2).sum() / (error**2).sum()))

    assert snr(got) >= snr(whole) - 0.5  # as faithful as one encode of the whole


@pytest.mark.parametrize(("rate", "bitrate"), [(22050, "64k"), (24000, "48k"), (32000, "96k"),
                                               (44100, "128k"), (48000, "96k"), (44100, "320k")])
def test_every_format_keeps_the_sample_count_and_the_timing(tmp_path: Path, rate: int,
                                                            bitrate: str) -> None:
    pcm = session(rate, seconds=12.0, onsets=(0.5, 6.0))
    target = tmp_path / "s.mp3"
    write(target, pcm, rate=rate, bitrate=bitrate)
    decoded = ffmpeg_decode(target)
    assert len(decoded) == len(pcm) // 2
    got = onsets(decoded, rate)
    assert len(got) == 2
    assert all(abs(g - round(s * rate)) <= rate // 1000 for g, s in zip(got, (0.5, 6.0),
                                                                          strict=True))


def test_the_info_frame_counts_what_follows(tmp_path: Path) -> None:
    pcm = session()
    target = tmp_path / "s.mp3"
    write(target, pcm)
    data = target.read_bytes()
    size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
    audio = data[10 + size :]
    fmt = FrameFormat(RATE, 96)
    info, frames = audio[: fmt.info_size], fmt.split(audio[fmt.info_size :], 0)
    tag = info.index(b"Info")
    assert int.from_bytes(info[tag + 8 : tag + 12], "big") == len(frames)
    assert int.from_bytes(info[tag + 12 : tag + 16], "big") == len(audio)
    toc = info[tag + 16 : tag + 116]
    assert toc[0] == 0 and list(toc) == sorted(toc) and toc[99] > 240
    delay_padding = int.from_bytes(info[tag + 141 : tag + 144], "big")
    assert delay_padding >> 12 == ENCODER_DELAY
    assert len(frames) * 1152 - ENCODER_DELAY - (delay_padding & 0xFFF) == len(pcm) // 2
    assert info[tag + 120 : tag + 129] == b"LAME3.100"
    if shutil.which("mp3val"):
        report = subprocess.run(["mp3val", str(target)], capture_output=True, text=True).stdout
        assert "WARNING" not in report.replace("No supported tags", "") and "ERROR" not in report
        assert f"{len(frames) + 1} MPEG frames" in report and "CBR" in report


def test_cache_state_and_threads_never_change_the_bytes(tmp_path: Path) -> None:
    pcm = session()
    cache = Entries(tmp_path / "cache" / "islands")
    cold, warm, single = (tmp_path / name for name in ("cold.mp3", "warm.mp3", "single.mp3"))
    assert write(cold, pcm, cache=cache, threads=2).encoded == 4
    again = write(warm, pcm, cache=cache, threads=2)
    assert (again.encoded, again.reused) == (0, 4)
    write(single, pcm, threads=1)
    assert cold.read_bytes() == warm.read_bytes() == single.read_bytes()


def test_a_new_encoder_version_encodes_every_island_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Islands kept by another lameenc are never spliced into a file this one writes."""
    import voiceguide.mp3.islands as islands

    cache = Entries(tmp_path / "cache" / "islands")
    pcm = session()
    write(tmp_path / "old.mp3", pcm, cache=cache)
    newer = f"{islands.encoder_version()}.post1"
    monkeypatch.setattr(islands, "encoder_version", lambda: newer)
    again = write(tmp_path / "new.mp3", pcm, cache=cache)
    assert (again.encoded, again.reused) == (4, 0)


def test_an_edit_encodes_only_the_island_it_touched(tmp_path: Path) -> None:
    cache = Entries(tmp_path / "cache" / "islands")
    write(tmp_path / "a.mp3", session(), cache=cache)
    moved = (*ONSETS_S[:-1], 20.3)
    assert write(tmp_path / "b.mp3", session(onsets=moved), cache=cache).encoded == 1


def last_frame_bytes(fmt: FrameFormat, data: bytes) -> int:
    """The size of the last of the frames *data* holds, by their headers' padding bits."""
    at = 0
    while at + (size := fmt.size(bool(data[at + 2] & 0x02))) < len(data):
        at += size
    return size


@pytest.mark.parametrize("damage", ["truncate", "flip", "mid-frame", "a frame short"])
def test_a_damaged_island_is_encoded_again_never_spliced(tmp_path: Path, damage: str) -> None:
    """Damage the checksum sees, and entries kept whole under their checksums that are not
    the frames their key names (cut within a frame, or a frame short)."""
    cache = Entries(tmp_path / "cache" / "islands")
    pcm = session()
    write(tmp_path / "first.mp3", pcm, cache=cache)
    entries = cache.entries()
    assert len(entries) == 4
    for entry in entries:
        blob = entry.read_bytes()
        if damage == "truncate":
            entry.write_bytes(blob[: len(blob) // 2])
        elif damage == "flip":
            entry.write_bytes(blob[:-100] + bytes(b ^ 0xFF for b in blob[-100:]))
        else:
            key = entry.name.removesuffix(SUFFIX)
            data = cache.get(key)
            assert data is not None
            cut = 100 if damage == "mid-frame" else last_frame_bytes(FrameFormat(RATE, 96), data)
            cache.put(key, data[:-cut])
    again = write(tmp_path / "again.mp3", pcm, cache=cache)
    assert again.encoded == 4
    assert (tmp_path / "again.mp3").read_bytes() == (tmp_path / "first.mp3").read_bytes()


def test_a_long_island_streams_through_one_encoder(tmp_path: Path) -> None:
    """Sound with no gap for longer than an island is held (a music bed): streamed,
    decoded to the same length and timing, the same bytes every time."""
    seconds = LONGEST_CACHED_S + 15
    t = np.arange(seconds * RATE) / RATE
    hum = 0.05 * np.sin(2 * np.pi * 220 * t)
    pcm = np.round(hum * 32767).astype("<i2")
    pcm[round(40.0 * RATE) : round(40.2 * RATE)] = 20000  # a click to time
    target, again = tmp_path / "long.mp3", tmp_path / "again.mp3"
    cache = Entries(tmp_path / "cache" / "islands")
    encoding = write(target, pcm.tobytes(), cache=cache)
    assert encoding.encoded == 0 and cache.entries() == []  # streamed, not cached
    write(again, pcm.tobytes(), threads=1)
    assert target.read_bytes() == again.read_bytes()
    decoded = ffmpeg_decode(target)
    assert len(decoded) == len(pcm)
    assert abs(int(np.flatnonzero(decoded > 15000)[0]) - round(40.0 * RATE)) <= RATE // 1000


def test_two_builds_share_the_island_cache_at_once(tmp_path: Path) -> None:
    cache_folder = tmp_path / "cache"
    pcm = session()
    results: dict[str, bytes] = {}

    def build(name: str) -> None:
        target = tmp_path / f"{name}.mp3"
        write(target, pcm, cache=Entries(cache_folder / "islands"))
        results[name] = target.read_bytes()

    workers = [threading.Thread(target=build, args=(name,)) for name in ("a", "b", "c")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    reference = tmp_path / "reference.mp3"
    write(reference, pcm)
    assert set(results.values()) == {reference.read_bytes()}


def test_the_splicer_holds_no_more_than_an_island(tmp_path: Path) -> None:
    """A session's frames come out as its PCM goes in: a long session is never held whole."""
    encoding = Encoding(FrameFormat(RATE, 96), threads=2)
    splicer = Splicer(encoding)
    pcm = session(seconds=600.0, onsets=tuple(float(s) for s in range(5, 600, 20)))
    taken = 0
    for frames in splicer.frames(chunks(pcm)):
        taken += len(frames)
        assert len(splicer.held) <= (LONGEST_CACHED_S + 5) * RATE
    assert taken == FrameFormat(RATE, 96).stream_bytes(splicer.total)



def test_a_bit_rate_the_sample_rate_cannot_carry_is_a_usage_error(tmp_path: Path) -> None:
    import sys

    script = tmp_path / "d.yaml"
    script.write_text("title: T\nstages:\n  - name: A\n    duration: 5\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "voiceguide", "build", str(script), "-o",
                           str(tmp_path / "d.mp3"), "--sample-rate", "22050", "--bitrate", "192k"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == ("voiceguide: --bitrate 192k: 192 kbit/s is not a bit rate of "
                                   "MPEG-2 layer III at 22050 Hz")
    assert not (tmp_path / "d.mp3").exists()


@pytest.mark.parametrize("seconds", [0.001, 0.05, 3.0])
def test_sound_to_the_last_sample_is_kept(tmp_path: Path, seconds: float) -> None:
    """An island reaching the end of the session (and sessions shorter than a frame)."""
    count = round(seconds * RATE)
    t = np.arange(count) / RATE
    pcm = np.round(0.3 * np.sin(2 * np.pi * 500 * t) * 32767).astype("<i2")
    target = tmp_path / "end.mp3"
    write(target, pcm.tobytes())
    decoded = ffmpeg_decode(target)
    assert len(decoded) == count
    if count > RATE // 10:
        assert np.abs(decoded[-RATE // 20 :]).max() > 5000  # still sounding at the end


def test_the_encoder_is_fed_a_little_at_a_time_and_gives_one_calls_frames(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 20-second piece in one call costs the encoder 7 MB of working copies; fed in
    ``ENCODE_BYTES`` it gives the very same frames."""
    from voiceguide.mp3 import islands

    fmt = FrameFormat(RATE, 96)
    pcm = session(seconds=20.3, onsets=tuple(float(s) for s in range(20)))
    reference = islands._new_encoder(fmt)
    whole = bytes(reference.encode(pcm)) + bytes(reference.flush())
    sizes: list[int] = []
    new_encoder = islands._new_encoder

    class Recorded:
        def __init__(self, fmt: FrameFormat) -> None:
            self.inner = new_encoder(fmt)

        def encode(self, data: bytes) -> bytes:
            sizes.append(len(data))
            return bytes(self.inner.encode(data))

        def flush(self) -> bytes:
            return bytes(self.inner.flush())

    monkeypatch.setattr(islands, "_new_encoder", Recorded)
    count = len(fmt.split(whole, 0))
    made = Encoding(fmt).encode("key", pcm, 0, count)
    assert made == b"".join(fmt.split(whole, 0)[:count])
    assert max(sizes) <= islands.ENCODE_BYTES and sum(sizes) == len(pcm) and len(sizes) > 1


@pytest.mark.parametrize("rate,kbps", [(44100, 96), (22050, 64), (48000, 128)])
def test_silence_from_one_block_is_the_frames_each_stream_position_needs(
        rate: int, kbps: int) -> None:
    """``FrameFormat.silent`` cuts views of one block, whatever frame of the padding
    period a run starts at and however long it is (longer than the block too); each run
    is the silent frames padded as frames first .. first+count-1 are, and nothing more."""
    from voiceguide.mp3.frames import SILENCE_FRAMES

    fmt = FrameFormat(rate, kbps)
    for first in (0, 1, fmt.period - 1, fmt.period + 3, 12_345):
        for count in (0, 1, fmt.period, SILENCE_FRAMES, 2 * SILENCE_FRAMES + 7):
            one_by_one = b"".join(fmt.silent_frame(fmt.padded(i))
                                  for i in range(first, first + count))
            assert b"".join(fmt.silent(first, count)) == one_by_one == fmt.silence(first, count)
    assert fmt.silence(1, 1) != fmt.silence(0, 1) or fmt.period == 1  # a control: padding


@pytest.mark.parametrize(("rate", "kbps"), [(44100, 96), (48000, 128), (32000, 64),
                                            (22050, 48), (16000, 8)])
def test_frames_checked_a_period_at_a_time_are_those_read_one_by_one(rate: int,
                                                                     kbps: int) -> None:
    """The headers checked a slice per place in the padding pattern (``cut_some``) pass
    and fail exactly where reading the frames one by one does, with the same words for
    the frame that is wrong; a control of damage in every header byte is among them."""
    from voiceguide.mp3.frames import FrameError

    fmt = FrameFormat(rate, kbps)
    rng = np.random.default_rng(rate + kbps)

    def outcome(read: object, data: bytes, first: int) -> object:
        try:
            frames, rest = read(data, first)  # type: ignore[operator]
            return [bytes(f) for f in frames], rest
        except FrameError as exc:
            return str(exc)

    failed = 0
    for trial in range(400):
        first, count = int(rng.integers(0, 3 * fmt.period)), int(rng.integers(0, 3 * fmt.period))
        data = bytearray(b"".join(fmt.silent_frame(fmt.padded(first + i)) for i in range(count)))
        data += bytes(int(rng.integers(0, fmt.size(True) + 1)) * int(rng.integers(0, 2)))
        if data and trial % 2:
            start = sum(fmt.frame_size(first + i) for i in range(int(rng.integers(0, count + 1))))
            at = min(len(data) - 1, start + trial % 4)  # one of a header's four bytes
            data[at] ^= int(rng.integers(1, 256))
        data = bytes(data)
        fast, slow = outcome(fmt.cut_some, data, first), outcome(fmt._split_reading, data, first)
        assert fast == slow
        failed += isinstance(fast, str)
    assert failed > 50 and 400 - failed > 50  # frames that failed the check, and frames that passed


def test_frames_cut_from_one_blob_join_as_their_bytes_do() -> None:
    fmt = FrameFormat(44100, 96)
    data = b"".join(fmt.silent_frame(fmt.padded(5 + i)) for i in range(12))
    frames = fmt.cut(data, 5)
    listed = fmt.split(data, 5)
    assert len(frames) == len(listed) == 12 and list(frames) == listed
    assert frames.joined() == data and frames.joined(3, 7) == b"".join(listed[3:7])
    frames[4] = listed[4][:-3] + b"abc"  # a splice moves bytes between frames
    listed[4] = listed[4][:-3] + b"abc"
    assert frames[4] == listed[4] and frames.joined(2, 9) == b"".join(listed[2:9])
    assert frames.joined(5, 40) == b"".join(listed[5:]) and frames.joined(8, 8) == b""
    with pytest.raises(IndexError):
        frames[12]  # noqa: B018
    with pytest.raises(IndexError):
        frames[-1]  # noqa: B018 -- a splice never counts from the end
