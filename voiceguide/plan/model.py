"""The plan: the exact timeline of a session, its JSON (format ``voiceguide.plan/1``) and
its readable table. Pure data: no audio, no engines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

from voiceguide.durations import clock
from voiceguide.script.model import Target
from voiceguide.speech.request import SpeechRequest
from voiceguide.words import MILE_M

PLAN_FORMAT = "voiceguide.plan/1"


class ClipLengths(Protocol):
    """Lengths, in ms, of prepared (trimmed) clips as the render will place them."""

    def speech_ms(self, request: SpeechRequest) -> int: ...

    def sound_ms(self, name: str) -> int: ...


@dataclass(frozen=True)
class Event:
    type: Literal["speech", "sound"]
    start_ms: int
    end_ms: int
    stage: int | None
    text: str | None = None
    voice: str | None = None
    request: SpeechRequest | None = None
    volume: float = 1.0
    sound: str | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "type": self.type,
            "start_s": _seconds(self.start_ms),
            "end_s": _seconds(self.end_ms),
            "stage": self.stage,
        }
        if self.type == "speech":
            data["text"] = self.text
            data["voice"] = self.voice
        else:
            data["sound"] = self.sound
        return data


@dataclass(frozen=True)
class Chapter:
    title: str
    start_ms: int
    end_ms: int
    stage: int | None = None  # the stage's number; None for the intro and the outro
    open: bool = False  # the runner ends the stage (spec 18); it lasts at most its length
    target: Target | None = None
    intensity: str | None = None  # a stage's, for the watch; not in the JSON
    name: str = ""  # a stage's own name (its title says "Stage N: NAME"); not in the JSON
    notes: str = ""  # a stage's first spoken text after its announcement; not in the JSON
    # a stage in a repeat block: (line, column) of the innermost block's `repeat`, and this
    # round of its rounds; not in the JSON
    repeat: tuple[int, int, int, int] | None = None

    def to_json(self) -> dict[str, object]:
        return {"title": self.title, "start_s": _seconds(self.start_ms),
                "end_s": _seconds(self.end_ms), "stage": self.stage, "open": self.open,
                "target": self.target.to_json() if self.target is not None else None}


@dataclass(frozen=True)
class Bed:
    """Sound that runs under the session: the music, or a stage's cadence ticks."""

    type: Literal["music", "cadence"]
    start_ms: int
    end_ms: int
    files: tuple[str, ...] = ()  # music: as the script names them
    stage: int | None = None  # cadence: the stage's number
    spm: int | None = None  # cadence: steps per minute

    def to_json(self) -> dict[str, object]:
        if self.type == "music":
            return {"type": "music", "start_s": _seconds(self.start_ms),
                    "end_s": _seconds(self.end_ms), "files": list(self.files)}
        return {"type": "cadence", "stage": self.stage, "start_s": _seconds(self.start_ms),
                "end_s": _seconds(self.end_ms), "spm": self.spm}


@dataclass(frozen=True)
class StageTiming:
    """How a stage's length was chosen, for the plan's pacing summary."""

    number: int
    title: str  # as its chapter: "Stage 3: Stride (2/6)"
    min_ms: int
    max_ms: int
    pace: float
    duration_ms: int
    block: tuple[int, int] | None = None  # where its outermost repeat block stands


@dataclass(frozen=True)
class Plan:
    title: str
    duration_ms: int
    chapters: tuple[Chapter, ...]
    events: tuple[Event, ...]
    warnings: tuple[str, ...] = ()
    stages: tuple[StageTiming, ...] = ()
    notes: tuple[str, ...] = ()  # how --length was met; not part of the plan format
    beds: tuple[Bed, ...] = ()
    description: str = ""  # the script's, for the MP3's comment and a feed; not in the JSON
    language: str = "en"  # the script's: the words of its page and feed
    cover: str = ""  # the script's own cover file, if it names one; not in the JSON
    warned: tuple[int, ...] = ()  # the numbers of the stages the warnings are about
    sport: str = "running"  # the script's: the watch workout's sport; not in the JSON

    def to_json(self) -> dict[str, object]:
        return {
            "format": PLAN_FORMAT,
            "title": self.title,
            "duration_s": _seconds(self.duration_ms),
            "chapters": [c.to_json() for c in self.chapters],
            "events": [e.to_json() for e in self.events],
            "warnings": list(self.warnings),
            **({"beds": [b.to_json() for b in self.beds]} if self.beds else {}),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)


def _seconds(ms: int) -> float:
    return round(ms / 1000, 3)


def describe(plan: Plan) -> Iterator[str]:
    """The plan as a readable table, one line per event, chapters as headings."""
    chapters = iter(plan.chapters)
    chapter = next(chapters, None)
    yield f"{plan.title} — {clock(plan.duration_ms)}"
    block = None
    for timing in plan.stages:
        if timing.block != block and timing.block is not None:
            members = [t for t in plan.stages if t.block == timing.block]
            yield (f"  repeat block (line {timing.block[0]}): stages {members[0].number}–"
                   f"{members[-1].number}, {clock(sum(t.duration_ms for t in members))}")
        block = timing.block
        span = (clock(timing.min_ms) if timing.min_ms == timing.max_ms
                else f"{clock(timing.min_ms)}..{clock(timing.max_ms)} at pace {timing.pace:g}")
        indent = "    " if block else "  "
        chapter_of = next((c for c in plan.chapters if c.stage == timing.number), None)
        marks = "".join(
            ([", open: ends when the runner moves on, at most this long"]
             if chapter_of is not None and chapter_of.open else [])
            + ([f", target {target_text(chapter_of.target)}"]
               if chapter_of is not None and chapter_of.target is not None else []))
        yield f"{indent}{timing.title}: {clock(timing.duration_ms)}  ({span}){marks}"
    for bed in plan.beds:
        what = (f"music ({', '.join(bed.files)})" if bed.type == "music"
                else f"cadence {bed.spm} steps per minute, stage {bed.stage}")
        yield f"  {clock(bed.start_ms)}–{clock(bed.end_ms)}  {what}"
    for event in plan.events:
        while chapter is not None and event.start_ms >= chapter.start_ms:
            yield ""
            yield f"[{clock(chapter.start_ms)} – {clock(chapter.end_ms)}] {chapter.title}"
            chapter = next(chapters, None)
        what = (f"{event.voice}: {event.text}" if event.type == "speech"
                else f"♪ {event.sound}")
        yield f"  {_stamp(event.start_ms)}  {what}"
    while chapter is not None:
        yield ""
        yield f"[{clock(chapter.start_ms)} – {clock(chapter.end_ms)}] {chapter.title}"
        chapter = next(chapters, None)


def target_text(target: Target) -> str:
    """A target as the table and the page show it: ``4:30–4:50 /km``, ``140–155 bpm``."""
    if target.kind == "pace":
        scale = MILE_M / 1000 if target.per_mile else 1.0
        low, high = (clock(round(v * scale) * 1000) for v in (target.low, target.high))
        unit = "/mi" if target.per_mile else "/km"
    else:
        low, high = str(int(target.low)), str(int(target.high))
        unit = {"heart_rate": " bpm", "zone": "", "cadence": " spm"}[target.kind]
        if target.kind == "zone":
            return f"zone {low}"
    return f"{low}{'' if low == high else '–' + high}{unit}"


def _stamp(ms: int) -> str:
    minutes, rest = divmod(ms, 60_000)
    return f"{minutes:3d}:{rest / 1000:06.3f}"
