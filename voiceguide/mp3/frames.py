"""MPEG audio layer III frames: what voiceguide writes itself around the encoder's output.

A session is written as frames on a fixed grid: frame *k* carries samples
``k * samples`` onwards (after the encoder delay), so runs of digital silence
can be written as ready-made silent frames and only the sounding stretches
need the encoder (see ``islands.py``). This module knows the frame layout:

- the padding pattern of a constant-bitrate stream, exactly as LAME decides
  it from the first frame of an encode (one extra byte now and then, so the
  average byte rate is the bit rate);
- a silent frame: header, side information all zero (no bits reach back into
  earlier frames), no spectral data — it decodes to exact zeros;
- the Xing/LAME "Info" frame at the front: frame and byte counts, the seek
  table, and the encoder delay and padding that let decoders trim to the
  exact sample count (gapless) and players seek exactly.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate, islice

ENCODER_DELAY = 576  # samples LAME puts before the first input sample
DECODER_DELAY = 529  # samples a layer III decoder lags behind (528 + 1)
MPEG1_RATES = (44100, 48000, 32000)
MPEG2_RATES = (22050, 24000, 16000)
MPEG1_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MPEG2_KBPS = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
VENDOR = b"LAME3.100"  # the encoder voiceguide's frames come from (lameenc ships LAME 3.100)
TOC_SIZE = 100
SILENCE_FRAMES = 2048  # silent frames in one view of ``FrameFormat.silent`` (0.6 MB at 96 kbit/s)


_MODE_BITS = bytes(int(b & 0xC0 == 0xC0) for b in range(256))  # a header's fourth byte: mono


class FrameError(ValueError):
    """Bytes that are not the frames this format expects."""


class Frames:
    """Frames that lie end to end in one blob, by where each starts: a frame is cut out of
    it only when asked for, and a run of them is one slice (``joined``), so a session's
    frames read from the cache are not copied one by one. A frame may be replaced (a
    splice moves bytes between the frames either side of it)."""

    def __init__(self, data: bytes, starts: list[int]) -> None:
        self.data, self.starts = data, starts  # starts: each frame's, then the end of the last
        self._replaced: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, index: int) -> bytes:
        if not 0 <= index < len(self):
            raise IndexError(index)
        replaced = self._replaced.get(index)
        return replaced if replaced is not None else \
            self.data[self.starts[index] : self.starts[index + 1]]

    def __setitem__(self, index: int, frame: bytes) -> None:
        if not 0 <= index < len(self):
            raise IndexError(index)
        self._replaced[index] = frame

    def __iter__(self) -> Iterator[bytes]:
        return (self[index] for index in range(len(self)))

    def joined(self, lo: int = 0, hi: int | None = None) -> bytes:
        """The bytes of frames *lo* .. *hi*-1 (all from *lo*, without *hi*)."""
        hi = len(self) if hi is None else min(hi, len(self))
        if lo >= hi:
            return b""
        changed = sorted(i for i in self._replaced if lo <= i < hi)
        if not changed:
            return self.data[self.starts[lo] : self.starts[hi]]
        parts, at = [], lo
        for index in changed:
            parts += [self.data[self.starts[at] : self.starts[index]], self._replaced[index]]
            at = index + 1
        parts.append(self.data[self.starts[at] : self.starts[hi]])
        return b"".join(parts)


@dataclass(frozen=True)
class FrameFormat:
    """Mono layer III frames at one sample rate and constant bit rate."""

    sample_rate: int
    kbps: int

    def __post_init__(self) -> None:
        if self.sample_rate not in MPEG1_RATES + MPEG2_RATES:
            raise FrameError(f"{self.sample_rate} Hz is not an MPEG-1 or MPEG-2 sample rate")
        if self.kbps not in self._kbps_table[1:]:
            raise FrameError(f"{self.kbps} kbit/s is not a bit rate of MPEG-"
                             f"{1 if self.mpeg1 else 2} layer III at {self.sample_rate} Hz")

    @property
    def mpeg1(self) -> bool:
        return self.sample_rate in MPEG1_RATES

    @property
    def _kbps_table(self) -> tuple[int, ...]:
        return MPEG1_KBPS if self.mpeg1 else MPEG2_KBPS

    @property
    def samples(self) -> int:
        """Samples per frame."""
        return 1152 if self.mpeg1 else 576

    @property
    def side_info(self) -> int:
        """Bytes of side information after the header (mono)."""
        return 17 if self.mpeg1 else 9

    @property
    def _slot_bytes(self) -> int:
        return 144 if self.mpeg1 else 72

    def size(self, padded: bool, kbps: int | None = None) -> int:
        return self._slot_bytes * 1000 * (kbps or self.kbps) // self.sample_rate + int(padded)

    @cached_property
    def _lag_step(self) -> int:
        # LAME's frac_SpF: how far each frame's ideal size is past a whole byte
        return self._slot_bytes * 1000 * self.kbps % self.sample_rate

    @cached_property
    def period(self) -> int:
        """Frames after which the padding pattern repeats."""
        step = self._lag_step
        return self.sample_rate // math.gcd(step, self.sample_rate) if step else 1

    @cached_property
    def _pattern(self) -> tuple[bool, ...]:
        """LAME's choice for frames 0 .. period-1 of an encode (never the first frame)."""
        lag, padded = self._lag_step, []
        for _ in range(self.period):
            lag -= self._lag_step
            padded.append(lag < 0)
            if lag < 0:
                lag += self.sample_rate
        return tuple(padded)

    def padded(self, index: int) -> bool:
        return self._pattern[index % self.period]

    def frame_size(self, index: int) -> int:
        return self.size(self.padded(index))

    def header(self, padded: bool, kbps: int | None = None) -> bytes:
        version = 0b11 if self.mpeg1 else 0b10
        rates = MPEG1_RATES if self.mpeg1 else MPEG2_RATES
        return bytes([
            0xFF,
            0xE0 | version << 3 | 0b01 << 1 | 1,  # layer III, no CRC
            self._kbps_table.index(kbps or self.kbps) << 4 | rates.index(self.sample_rate) << 2
            | int(padded) << 1,
            0b11 << 6 | 1 << 2,  # mono, original
        ])  # fmt: skip

    def silent_frame(self, padded: bool) -> bytes:
        """A frame that decodes to exact zeros and takes no bits from the frames before it."""
        return self.header(padded) + bytes(self.size(padded) - 4)

    def main_data_begin(self, frame: bytes) -> int:
        """How many bytes before its own the frame's main data starts: what it takes from
        the bit reservoir, the unused end of the frames before it."""
        return frame[4] << 1 | frame[5] >> 7 if self.mpeg1 else frame[4]

    def payload(self, frame: bytes) -> int:
        """Bytes of the frame after its header and side information."""
        return len(frame) - 4 - self.side_info

    def edge_blocks(self, frame: bytes) -> tuple[int, int]:
        """The block types of the frame's first and last granule: 0 normal, 1 start,
        2 short, 3 stop (side information of mono layer III, no CRC)."""
        width = 8 * self.side_info
        bits = int.from_bytes(frame[4 : 4 + self.side_info], "big")
        types = []
        for switch in (51, 110) if self.mpeg1 else (47,):  # window_switching_flag's bit
            if bits >> (width - 1 - switch) & 1:
                types.append(bits >> (width - 3 - switch) & 0b11)
            else:
                types.append(0)
        return types[0], types[-1]

    def frames_for(self, samples: int) -> int:
        """Frames that carry *samples* samples whole, past both delays; at least two, as
        LAME writes, since ffmpeg will not read a stream of one frame after its Info frame."""
        return max(2, math.ceil((samples + ENCODER_DELAY + DECODER_DELAY) / self.samples))

    def split(self, data: bytes, first: int) -> list[bytes]:
        """*data* cut into frames, checked against this format and the padding pattern
        of a stream whose frame number *first* is data's first frame."""
        return list(self.cut(data, first))

    def split_some(self, data: bytes, first: int) -> tuple[list[bytes], bytes]:
        """The whole frames at the start of *data*, checked as by ``split``, and the rest."""
        frames, rest = self.cut_some(data, first)
        return list(frames), rest

    def cut(self, data: bytes, first: int) -> Frames:
        """``split``'s frames, each cut out of *data* only when asked for (``Frames``)."""
        frames, rest = self.cut_some(data, first)
        if rest:
            raise FrameError(f"frame {first + len(frames)} is cut short")
        return frames

    def tiled(self, data: bytes, first: int) -> Frames:
        """*data* as ``Frames`` where each starts by the padding pattern, its headers not
        read again: for frames ``cut`` checked before they were kept under a checksum.
        FrameError when they do not end where *data* does."""
        starts = self._starts(first, len(data))
        if starts[-1] != len(data):
            raise FrameError(f"frame {first + len(starts) - 1} is cut short")
        return Frames(data, starts)

    def cut_some(self, data: bytes, first: int) -> tuple[Frames, bytes]:
        """``split_some``'s frames as ``Frames``, and the rest.

        The frames' sizes follow the padding pattern, so where each starts is known before
        reading it; the headers are checked a period at a time (every ``period``-th frame
        starts the same number of bytes after the last: one slice of *data* per header
        byte and place in the period), not frame by frame. Any that is wrong: the frames
        are read one by one, to say which (``_split_reading``)."""
        starts = self._starts(first, len(data))
        whole = len(starts) - 1
        rest = len(data) - starts[-1]
        if not self._headers_match(data, first, starts[:whole] + starts[-1:] * (rest >= 4)):
            self._split_reading(data, first)  # raises, naming the frame
        return Frames(data, starts), data[starts[-1]:]

    def _starts(self, first: int, length: int) -> list[int]:
        """Where each whole frame of a stream from frame *first* starts in *length* bytes,
        and where the frame after the last whole one does."""
        sizes = (self.size(False), self.size(True))
        cycle = [sizes[self._pattern[(first + j) % self.period]] for j in range(self.period)]
        starts = list(accumulate(islice(itertools.cycle(cycle), length // sizes[0] + 1),
                                 initial=0))
        return starts[: bisect.bisect_right(starts, length)]

    def _headers_match(self, data: bytes, first: int, starts: list[int]) -> bool:
        """Whether a header of this format, padded as the pattern says, begins at every
        one of *starts* (frames first, first + 1, ... of the stream)."""
        if not starts:
            return True
        heads, period = self._heads, self.period
        step = starts[period] - starts[0] if len(starts) > period else len(data) + 1
        last = starts[-1] + 1
        for j, start in enumerate(starts[:period]):
            head = heads[self._pattern[(first + j) % period]]
            column = [data[start + b : last + b : step] for b in range(4)]
            if any(column[b].count(head[b]) != len(column[b]) for b in range(3)) or \
                    column[3].translate(_MODE_BITS).count(0):
                return False
        return True

    def _split_reading(self, data: bytes, first: int) -> tuple[list[bytes], bytes]:
        frames: list[bytes] = []
        heads, sizes = self._heads, (self.size(False), self.size(True))
        pattern, period = self._pattern, self.period
        offset, end = 0, len(data)
        while offset + 4 <= end:
            index = first + len(frames)
            padded = pattern[index % period]
            if data[offset : offset + 3] != heads[padded] or (data[offset + 3] & 0xC0) != 0xC0:
                raise FrameError(f"frame {index} is not a mono frame of "
                                 f"{self.kbps} kbit/s at {self.sample_rate} Hz as expected")
            size = sizes[padded]
            if offset + size > end:
                break
            frames.append(data[offset : offset + size])
            offset += size
        return frames, data[offset:]

    @cached_property
    def _heads(self) -> tuple[bytes, bytes]:
        """The first three bytes of an unpadded and a padded frame's header."""
        return self.header(False)[:3], self.header(True)[:3]

    def info_frame(self, frames: int, samples: int) -> bytes:
        """The Xing "Info" frame with its LAME extension for *frames* audio frames that
        carry *samples* samples: frame and byte counts, the seek table, and the encoder
        delay and end padding decoders trim, so they give *samples* samples exactly."""
        kbps = self._info_kbps
        size = self.info_size
        padding = frames * self.samples - samples - ENCODER_DELAY
        if not DECODER_DELAY <= padding < 1 << 12:
            raise FrameError(f"{frames} frames cannot carry {samples} samples")
        total = size + self.stream_bytes(frames)
        toc = bytes([0] + [min(255, 256 * (size + self.stream_bytes(frames * i // TOC_SIZE))
                                // total) for i in range(1, TOC_SIZE)])
        lame = (VENDOR + bytes(12)  # vendor; revision, lowpass, peak, gains, flags, bit rate
                + (ENCODER_DELAY << 12 | padding).to_bytes(3, "big")
                + bytes(4)  # misc, MP3 gain, preset
                + total.to_bytes(4, "big") + bytes(2))  # music length; music CRC not kept
        body = (self.header(False, kbps) + bytes(self.side_info) + b"Info"
                + (0x0F).to_bytes(4, "big") + frames.to_bytes(4, "big") + total.to_bytes(4, "big")
                + toc + bytes(4) + lame)
        crc = crc16(body.ljust(190, b"\0")[:190])
        return (body + crc.to_bytes(2, "big")).ljust(size, b"\0")

    @cached_property
    def _info_kbps(self) -> int:
        """The lowest bit rate, from the stream's up, whose frame holds the Info tag."""
        return next(k for k in self._kbps_table[1:]
                    if k >= self.kbps and self.size(False, k) >= 4 + self.side_info + 156)

    @property
    def info_size(self) -> int:
        return self.size(False, self._info_kbps)

    def stream_bytes(self, frames: int) -> int:
        """Bytes of audio frames 0 .. frames-1 (no Info frame)."""
        whole, rest = divmod(frames, self.period)
        per_period = sum(self.size(p) for p in self._pattern)
        return whole * per_period + sum(self.size(p) for p in self._pattern[:rest])

    def silence(self, first: int, count: int) -> bytes:
        """Silent frames numbered first .. first+count-1, padded as the stream needs."""
        return b"".join(self.silent(first, count))

    def silent(self, first: int, count: int) -> Iterator[memoryview]:
        """``silence``'s bytes as views of one block of silent frames made once: most of a
        session's bytes are silence, written without being made again each time."""
        block, offsets = self._silent_block
        while count > 0:
            phase, take = first % self.period, min(count, SILENCE_FRAMES)
            yield block[offsets[phase] : offsets[phase + take]]
            first, count = first + take, count - take

    @cached_property
    def _silent_block(self) -> tuple[memoryview, list[int]]:
        """A padding period and ``SILENCE_FRAMES`` more of silent frames, from frame 0 of a
        period, and the offset of each frame in it (and of its end): frames *phase* ..
        *phase* + n - 1 of it are any stream's n frames from one at *phase* of its period."""
        frames = [self.silent_frame(self.padded(index))
                  for index in range(self.period + SILENCE_FRAMES)]
        return memoryview(b"".join(frames)), list(accumulate((len(f) for f in frames), initial=0))


def crc16(data: bytes) -> int:
    """CRC-16 (polynomial 0x8005, reflected), the checksum of the LAME tag."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc
