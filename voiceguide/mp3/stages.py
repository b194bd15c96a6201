"""A file per stage (spec 14): ``NAME/NN TITLE.mp3`` for every chapter and ``NAME/NAME.m3u8``.

Each stage file is its chapter's samples of the session, at the session's
levels, encoded as a stream of its own by the same writer as the session
(``mp3.write_mp3``: silence spliced, islands cached by content, an Info frame
with the encoder delay and the end padding). So each file decodes to exactly
its chapter's sample count, and played gaplessly in order the files give the
whole session; any player's next-track button, and so an earbud's, moves to
the next stage.

File names are made safe: no folder separators, control, format (zero-width,
direction) or reserved characters, no leading dot, at most ``MAX_NAME`` characters;
every file lands inside the stage folder.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from voiceguide.files import Folder, digest, record, unchanged, write_atomically, written_here

if TYPE_CHECKING:
    from voiceguide.plan import Chapter, Plan
    from voiceguide.store import Entries

MAX_NAME = 80
MAX_BYTES = 200
_RESERVED = re.compile(r'[<>:"/\\|?*]')


@dataclass(frozen=True)
class StageFile:
    name: str  # the file's name inside the stage folder
    chapter: Chapter
    samples: int


def entry(name: str) -> str:
    """A stage file's name as its playlist lists it: a URI reference (RFC 8216), every
    character that a URI cannot hold as it is percent-encoded (a player fetching it over
    HTTP would read "#" as a fragment, "?" as a query, "%" as an escape)."""
    return quote(name, safe="!$&'()*+,;=:@-._~")


def safe_name(text: str) -> str:
    """*text* as a file name on any phone or computer: one line, no separators."""
    kept = "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c
                   for c in unicodedata.normalize("NFC", text)
                   if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Cn"))
    kept = _RESERVED.sub("-", kept.replace(": ", " - "))
    kept = " ".join(kept.split()).lstrip(".").strip()[:MAX_NAME]
    # at most MAX_BYTES in UTF-8 too (file systems count bytes: 255 with the number and
    # .mp3), cut between characters
    kept = kept.encode()[:MAX_BYTES].decode(errors="ignore")
    return kept.rstrip(". ") or "stage"


def layout(plan: Plan, rate: int) -> list[StageFile]:
    """One file per chapter, numbered from 01, with its sample count."""
    width = max(2, len(str(len(plan.chapters))))
    spans = [(round(c.start_ms * rate / 1000), round(c.end_ms * rate / 1000))
             for c in plan.chapters]
    return [StageFile(f"{n:0{width}d} {safe_name(c.title)}.mp3", c, hi - lo)
            for n, (c, (lo, hi)) in enumerate(zip(plan.chapters, spans, strict=True), start=1)]


class StageFolder(Folder):
    """``NAME/``: the stage files and the playlist are the names a build writes there."""

    writes = re.compile(r"\d{2,4} .+\.mp3|.+\.m3u8", re.DOTALL)


def folder_for(target: Path) -> StageFolder:
    """``NAME/`` beside ``NAME.mp3``."""
    return StageFolder(target.with_suffix(""))


def playlist(name: str, stages: Sequence[StageFile]) -> str:
    """The extended M3U (UTF-8) of the stage files, with their titles and lengths."""
    lines = ["#EXTM3U", f"#PLAYLIST:{safe_name(name)}"]
    for stage in stages:
        seconds = round((stage.chapter.end_ms - stage.chapter.start_ms) / 1000)
        lines += [f"#EXTINF:{seconds},{safe_name(stage.chapter.title)}", entry(stage.name)]
    return "\n".join(lines) + "\n"


def write_stage_files(pcm: Iterable[bytes], plan: Plan, target: Path, *, sample_rate: int,
                      bitrate: str, tags: Mapping[str, str], language: str,
                      cover: bytes | None, cache: Entries | None) -> list[str]:
    """Write the stage files of the session in *target* from its PCM *pcm*; returns their
    names, the playlist last. Stage files an earlier build wrote that are not made again
    go, where they are as it wrote them; nothing else in the folder is touched (the
    build's checks refused a folder holding anything else)."""
    from voiceguide.mp3.islands import PcmFrames
    from voiceguide.mp3.writer import write_mp3

    stages = layout(plan, sample_rate)
    folder = folder_for(target)
    folder.mkdir(exist_ok=True)
    earlier = written_here(folder)
    listing = f"{target.stem}.m3u8"
    made = [*(s.name for s in stages), listing]
    # first what is about to be written ("": voiceguide's, not yet whole), so a build cut
    # short leaves nothing the next one takes for the user's
    record(folder, {**earlier, **dict.fromkeys(made, "")})
    source = _Spans(iter(pcm))
    total = len(stages)
    for number, stage in enumerate(stages, start=1):
        stage_tags = {**tags, "title": stage.chapter.title, "track": f"{number}/{total}",
                      "album": tags.get("album") or tags.get("title", "")}
        write_mp3(PcmFrames(source.take(stage.samples)), folder / stage.name,
                  sample_rate=sample_rate, bitrate=bitrate, tags=stage_tags, chapters=(),
                  cache=cache, language=language, cover=cover)
    write_atomically(folder / listing, playlist(tags.get("title", target.stem), stages).encode())
    for old, kept in earlier.items():
        if old not in made and (not kept or unchanged(folder / old, kept)):
            with contextlib.suppress(OSError):
                (folder / old).unlink()
    record(folder, {name: digest(folder / name) or "" for name in made})
    return made


class _Spans:
    """Consecutive spans of a stream of s16le chunks, each as chunks of its own."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.rest = b""

    def take(self, samples: int) -> Iterator[bytes]:
        wanted = 2 * samples
        while wanted > 0:
            if not self.rest:
                self.rest = next(self.chunks, b"")
                if not self.rest:
                    self.rest = bytes(min(wanted, 1 << 20))  # past the end: silence
            part, self.rest = self.rest[:wanted], self.rest[wanted:]
            wanted -= len(part)
            yield part
