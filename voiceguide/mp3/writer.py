"""PCM chunks → MP3 with tags and ID3 chapters, written atomically.

voiceguide writes the file itself: the ID3v2.3 tag (``id3.py``), then the
Xing/LAME Info frame (``frames.py``: frame and byte counts, the seek table, the
encoder delay and padding that keep decoders sample-exact), then the audio
frames, which ``islands.py`` makes by encoding only the stretches that sound.
Everything goes through ``files.replacing``: a reader sees the old file or the
new one, never a part.

The format's defaults are ``defaults.py``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.defaults import BITRATE, SAMPLE_RATE
from voiceguide.files import replacing, start_writeback
from voiceguide.mp3 import id3
from voiceguide.mp3.frames import FrameFormat
from voiceguide.mp3.id3 import ChapterLike
from voiceguide.mp3.islands import Encoding, FrameSource

if TYPE_CHECKING:
    from voiceguide.store import Entries

WRITEBACK_BYTES = 4 << 20  # the disk starts on each 4 MB written: the final sync waits less



def write_mp3(
    source: FrameSource,
    target: Path,
    *,
    sample_rate: int = SAMPLE_RATE,
    bitrate: str = BITRATE,
    tags: Mapping[str, str],
    chapters: Sequence[ChapterLike],
    cache: Entries | None = None,
    threads: int | None = None,
    language: str = "eng",
    cover: bytes | None = None,
) -> Encoding:
    """Write *source*'s frames into *target* behind the tag and the Info frame; the file
    appears whole or not at all. The caller chooses the source: ``islands.PcmFrames`` for
    PCM chunks, ``pieces.PieceFrames`` for a session with beds made piece by piece.

    Encoded islands are kept in *cache* (none: every island is encoded). *language* is the
    comment's (ISO 639-2); *cover* (JPEG or PNG bytes) is embedded as the front cover."""
    encoding = Encoding(FrameFormat(sample_rate, int(bitrate.rstrip("k"))), cache)
    if threads is not None:
        encoding.threads = threads
    target = Path(target)
    with replacing(target) as temp, open(temp, "r+b") as out:
        out.write(id3.tag(tags, chapters, language, cover))
        info_at = out.tell()
        out.write(bytes(encoding.fmt.info_size))
        flushed = out.tell()
        for data in source.frames(encoding):
            out.write(data)
            if out.tell() - flushed >= WRITEBACK_BYTES:
                out.flush()
                flushed = start_writeback(out.fileno(), flushed, out.tell())
        out.seek(info_at)
        out.write(encoding.fmt.info_frame(source.total, source.samples))
    return encoding
