"""Script + settings + clip lengths → Plan: the exact timeline of a session.

Pure: no audio, no engines. Whoever calls ``make_plan`` supplies the length
of every speech clip and sound (``ClipLengths``); ``speech_requests`` lists
the clips a plan will ask for, so they can be synthesised in one batch first.
The timing rules are those of the drill-script format, section 3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from voiceguide import engines
from voiceguide.durations import (
    clock,
    duration_in_words,
    number_in_words,
    resolve_range,
    seconds_text,
)
from voiceguide.errors import Problem, ScriptError
from voiceguide.script import Cue, Loc, Pause, Script, Speech, Stage, Text, VoiceRef
from voiceguide.speech.request import SpeechRequest

PLAN_FORMAT = "voiceguide.plan/1"
DEFAULT_RATE = 175.0  # espeak-ng's own default, used when a speed factor needs a base

INTRO_LEAD_MS = 500
AFTER_INTRO_MS = 1000
AFTER_SOUND_MS = 300
BETWEEN_SPEECH_MS = 400
CUE_WAIT_MS = 500
TAIL_MS = 1000
MAX_OCCURRENCES = 10_000
MAX_SESSION_MS = 12 * 3600 * 1000  # longer is surely a mistake, and would take ages to build


class ClipLengths(Protocol):
    """Lengths, in ms, of prepared (trimmed) clips as the render will place them."""

    def speech_ms(self, request: SpeechRequest) -> int: ...

    def sound_ms(self, name: str) -> int: ...


@dataclass(frozen=True)
class Settings:
    """Choices made at build time, on top of the script (the command line's options)."""

    pace: float | None = None
    length_ms: int | None = None
    voice: str | None = None  # the default voice: an engine voice id or a profile name
    rate: float | None = None  # the default voice's rate
    engine: str | None = None  # the default voice's engine
    profile_voices: tuple[tuple[str, str], ...] = ()  # --voice NAME=ID
    profile_engines: tuple[tuple[str, str], ...] = ()  # the engine that has that ID
    profile_rates: tuple[tuple[str, float], ...] = ()  # --rate NAME=WPM
    speed: float = 1.0  # multiplies every rate
    language_engine: str = engines.DEFAULT  # the engine of the default voice when none is picked
    language_voice: str | None = None  # that engine's voice for the script's language


@dataclass(frozen=True)
class Voice:
    """A voice fully resolved: what to ask the engine for, and how loud to mix it."""

    label: str  # the profile name, or the voice id: what the plan shows
    engine: str = engines.DEFAULT
    voice: str | None = None
    rate: float | None = None
    volume: float = 1.0
    command: tuple[str, ...] = ()

    def request(self, text: str) -> SpeechRequest:
        return SpeechRequest(self.engine, self.voice, self.rate, text, self.command)


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

    def to_json(self) -> dict[str, object]:
        return {"title": self.title, "start_s": _seconds(self.start_ms),
                "end_s": _seconds(self.end_ms)}


@dataclass(frozen=True)
class StageTiming:
    """How a stage's length was chosen, for the plan's pacing summary."""

    number: int
    name: str
    min_ms: int
    max_ms: int
    pace: float
    duration_ms: int


@dataclass(frozen=True)
class Plan:
    title: str
    duration_ms: int
    chapters: tuple[Chapter, ...]
    events: tuple[Event, ...]
    warnings: tuple[str, ...] = ()
    stages: tuple[StageTiming, ...] = ()
    notes: tuple[str, ...] = ()  # how --length was met; not part of the plan format

    def to_json(self) -> dict[str, object]:
        return {
            "format": PLAN_FORMAT,
            "title": self.title,
            "duration_s": _seconds(self.duration_ms),
            "chapters": [c.to_json() for c in self.chapters],
            "events": [e.to_json() for e in self.events],
            "warnings": list(self.warnings),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)


def _seconds(ms: int) -> float:
    return round(ms / 1000, 3)


# ---------------------------------------------------------------------------
# Voices


def resolve_voice(script: Script, settings: Settings, ref: VoiceRef | None) -> Voice:
    """The voice a `voice:` value names, or the session's default voice for None."""
    if ref is None or _is_default(script, settings, ref.name):
        return _default_voice(script, settings)
    return _named_voice(script, settings, ref.name)


def _is_default(script: Script, settings: Settings, name: str) -> bool:
    default = settings.voice if settings.voice in script.voices else (
        script.voice.name if script.voice else None
    )
    return name == default


def _default_voice(script: Script, settings: Settings) -> Voice:
    name = script.voice.name if script.voice else None
    override_id = settings.voice
    if override_id in script.voices:  # --voice PROFILE makes that profile the default
        name, override_id = override_id, None
    if name is not None and name in script.voices:
        voice = _named_voice(script, settings, name)
    elif name is not None:  # a voice id: format version 1 gives it the default engine
        voice = _speed(Voice(label=name, voice=name), settings)
    else:
        voice = _speed(Voice(label=settings.language_voice or "default",
                             engine=settings.language_engine, voice=settings.language_voice),
                       settings)
    if override_id is not None:
        voice = replace(voice, voice=override_id, label=voice.label if name in script.voices
                        else override_id)
    if settings.engine is not None and voice.engine != settings.engine:
        # --engine alone: that engine's own voice for the script's language
        voice = replace(voice, engine=settings.engine, command=(),
                        voice=override_id or settings.language_voice,
                        label=voice.label if name in script.voices
                        else override_id or settings.language_voice or "default")
    if settings.rate is not None:
        voice = replace(voice, rate=settings.rate * settings.speed)
    return voice


def _named_voice(script: Script, settings: Settings, name: str) -> Voice:
    profile = script.voices.get(name)
    if profile is None:  # an engine voice id
        return _speed(Voice(label=name, voice=name), settings)
    voice_id = dict(settings.profile_voices).get(name, profile.voice)
    rate = dict(settings.profile_rates).get(name, profile.rate)
    engine = dict(settings.profile_engines).get(name, profile.engine)
    command = profile.command if engine == profile.engine else ()
    return _speed(Voice(label=name, engine=engine, voice=voice_id, rate=rate,
                        volume=profile.volume, command=command), settings)


def _speed(voice: Voice, settings: Settings) -> Voice:
    if settings.speed == 1.0:
        return voice
    return replace(voice, rate=(voice.rate or DEFAULT_RATE) * settings.speed)


def voice_refs(script: Script) -> Iterator[tuple[VoiceRef | None, Loc | None]]:
    """Every voice the script uses, with where it is named (None: the default)."""
    yield script.voice, script.voice.loc if script.voice else None
    for stage in script.stages:
        if stage.voice:
            yield stage.voice, stage.voice.loc
        for cue in stage.cues:
            if cue.voice:
                yield cue.voice, cue.voice.loc


# ---------------------------------------------------------------------------
# Pace and stage lengths


def stage_paces(script: Script, settings: Settings, pace: float | None = None) -> list[float]:
    """Each stage's pace: the command line's, else the stage's own, else the script's."""
    chosen = pace if pace is not None else settings.pace
    return [chosen if chosen is not None else (s.pace if s.pace is not None else script.pace)
            for s in script.stages]


def stage_lengths(script: Script, paces: list[float]) -> list[int]:
    return [resolve_range(*stage.duration, pace)
            for stage, pace in zip(script.stages, paces, strict=True)]


def check_session_length(script: Script, lengths: list[int]) -> None:
    """ScriptError at the first stage that ends after ``MAX_SESSION_MS``."""
    end = 0
    for stage, length in zip(script.stages, lengths, strict=True):
        end += length
        if end > MAX_SESSION_MS:
            loc = stage.duration_loc
            raise ScriptError([Problem(
                script.filename, loc.line, loc.column,
                f"stage {stage.number} '{stage.name}' would end at {clock(end)}; a session "
                f"lasts at most {clock(MAX_SESSION_MS)}: shorten the stages or lower the pace",
            )])


# ---------------------------------------------------------------------------
# Texts


def fill(text: str, script: Script, stage: Stage | None, duration_ms: int | None) -> str:
    """Fill in {number}, {name}, {stages} and {duration}."""
    values = {"stages": str(len(script.stages))}
    if stage is not None:
        values["number"] = str(stage.number)
        values["name"] = stage.name
        values["duration"] = duration_in_words(duration_ms or 0, script.language)
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def countdown_word(n: int, language: str) -> str:
    return number_in_words(n) if language.split("-")[0] == "en" else str(n)


def speech_requests(script: Script, settings: Settings,
                    pace: float | None = None) -> list[SpeechRequest]:
    """Every clip ``make_plan`` will ask the length of, for batch synthesis.

    ``pace`` is the one ``choose_pace`` picked for ``--length``, if any: it
    decides the stage lengths that ``{duration}`` speaks.
    """
    requests: dict[SpeechRequest, None] = {}
    default = resolve_voice(script, settings, None)
    for item in script.intro + script.outro:
        if isinstance(item, Text):
            requests[default.request(fill(item.text, script, None, None))] = None
    lengths = stage_lengths(script, stage_paces(script, settings, pace))
    check_session_length(script, lengths)  # before synthesising speech for an absurd session
    for stage, length in zip(script.stages, lengths, strict=True):
        for request in _stage_requests(script, settings, stage, length):
            requests[request] = None
    return list(requests)


def _stage_requests(script: Script, settings: Settings, stage: Stage,
                    length: int) -> Iterator[SpeechRequest]:
    stage_voice = resolve_voice(script, settings, stage.voice)
    template = script.announce_template(stage)
    if template:
        yield stage_voice.request(fill(template, script, stage, length))
    for item in stage.say:
        if isinstance(item, Text):
            yield stage_voice.request(fill(item.text, script, stage, length))
    for cue in stage.cues:
        voice = resolve_voice(script, settings, cue.voice) if cue.voice else stage_voice
        for item in cue.say:
            if isinstance(item, Text):
                yield voice.request(fill(item.text, script, stage, length))
    for n in range(stage.countdown, 0, -1):
        yield stage_voice.request(countdown_word(n, script.language))


# ---------------------------------------------------------------------------
# The timeline


@dataclass
class _Timeline:
    """Events, chapters and findings, gathered while a plan is laid out."""

    script: Script
    settings: Settings
    clips: ClipLengths
    events: list[Event] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(self.script.filename, loc.line, loc.column, message))

    def sound(self, name: str, start: int, stage: int | None) -> int:
        end = start + self.clips.sound_ms(name)
        self.events.append(Event("sound", start, end, stage, sound=name))
        return end

    def say(self, voice: Voice, text: str, start: int, stage: int | None) -> int:
        request = voice.request(text)
        end = start + self.clips.speech_ms(request)
        self.events.append(Event("speech", start, end, stage, text=text, voice=voice.label,
                                 request=request, volume=voice.volume))
        return end

    def scratch(self) -> _Timeline:
        """An empty timeline for the same session, to try a layout without keeping it."""
        return _Timeline(self.script, self.settings, self.clips)

    def speech(self, voice: Voice, speech: Speech, start: int, stage: Stage | None,
               length: int | None) -> int:
        """Lay out a speech list from ``start``; return when it falls silent."""
        cursor, end, first = start, start, True
        for item in speech:
            if isinstance(item, Pause):
                cursor = end + item.ms
                first = True
                continue
            if not first:
                cursor = end + BETWEEN_SPEECH_MS
            text = fill(item.text, self.script, stage, length)
            end = self.say(voice, text, cursor, stage.number if stage else None)
            cursor, first = end, False
        return end


def make_plan(script: Script, settings: Settings, clips: ClipLengths) -> Plan:
    """Lay out the whole session; raise ``ScriptError`` for anything that cannot fit."""
    pace, notes = choose_pace(script, settings, clips)
    paces = stage_paces(script, settings, pace)
    lengths = stage_lengths(script, paces)
    check_session_length(script, lengths)
    line = _Timeline(script, settings, clips)
    default = resolve_voice(script, settings, None)

    cursor = _lay_out_intro(line, default)
    for stage, length in zip(script.stages, lengths, strict=True):
        _lay_out_stage(line, stage, cursor, length)
        line.chapters.append(Chapter(f"Stage {stage.number}: {stage.name}", cursor,
                                     cursor + length))
        cursor += length
    duration = _lay_out_finish(line, default, cursor)
    if line.problems:
        raise ScriptError(line.problems)
    timings = tuple(
        StageTiming(s.number, s.name, s.duration[0], s.duration[1], p, n)
        for s, p, n in zip(script.stages, paces, lengths, strict=True)
    )
    events = sorted(line.events, key=lambda e: e.start_ms)  # stable: ties keep their order
    return Plan(script.title, duration, tuple(line.chapters), tuple(events),
                tuple(line.warnings), timings, tuple(notes))


def _lay_out_intro(line: _Timeline, voice: Voice) -> int:
    """The intro and its chapter; returns when the first stage starts."""
    if not line.script.intro:
        return 0
    start = line.speech(voice, line.script.intro, INTRO_LEAD_MS, None, None) + AFTER_INTRO_MS
    line.chapters.append(Chapter("Intro", 0, start))
    return start


def _lay_out_finish(line: _Timeline, voice: Voice, end_of_stages: int) -> int:
    """The finish sound, the outro and their chapter; returns the session's length."""
    script = line.script
    if script.finish_sound is None and not script.outro:
        return end_of_stages
    cursor = end_of_stages
    if script.finish_sound is not None:
        cursor = line.sound(script.finish_sound, end_of_stages, None) + AFTER_SOUND_MS
    if script.outro:
        cursor = line.speech(voice, script.outro, cursor, None, None)
    duration = cursor + TAIL_MS
    line.chapters.append(Chapter("Outro", end_of_stages, duration))
    return duration


def _lay_out_stage(line: _Timeline, stage: Stage, start: int, length: int) -> None:
    script = line.script
    end = start + length
    limit = end - stage.countdown * 1000
    voice = resolve_voice(script, line.settings, stage.voice)
    label = f"stage {stage.number} '{stage.name}'"
    if limit <= start:
        line.problem(stage.duration_loc, f"{label}: a countdown of {stage.countdown} needs a "
                     f"stage longer than {stage.countdown} s, the stage has {seconds_text(length)}")
        return

    busy = start
    sound = script.stage_start_sound(stage)
    cursor = start
    if sound is not None:
        busy = line.sound(sound, start, stage.number)
        cursor = busy + AFTER_SOUND_MS
    opening: Speech = ()
    template = script.announce_template(stage)
    if template:
        opening = (Text(template, stage.announce_loc or stage.loc),)
    opening += stage.say
    if opening:
        busy = line.speech(voice, opening, cursor, stage, length)
    if busy > limit:
        before = "its countdown" if stage.countdown else "its end"
        line.problem(stage.loc, f"{label}: the start (sound, announcement and say) needs "
                     f"{seconds_text(busy - start)} but the stage has {seconds_text(limit - start)}"
                     f" before {before}")
        return
    _lay_out_cues(line, stage, voice, start, length, busy, limit)
    _lay_out_countdown(line, stage, voice, end)


@dataclass(frozen=True)
class _Occurrence:
    due: int  # absolute ms
    cue: Cue
    next_due: int | None  # the next occurrence of the same `every` cue


def _occurrences(line: _Timeline, stage: Stage, start: int, length: int) -> list[_Occurrence]:
    found: list[_Occurrence] = []
    for cue in stage.cues:
        where = f"stage {stage.number} '{stage.name}', {cue.describe()}"
        if cue.kind == "at":
            assert cue.at is not None
            offsets = [cue.at.resolve(length)]
        elif cue.kind == "before_end":
            assert cue.before_end_ms is not None
            offsets = [length - cue.before_end_ms]
        else:
            offsets = _every_offsets(line, cue, length, where)
        for i, offset in enumerate(offsets):
            if offset < 0 or offset >= length:
                line.problem(cue.loc, f"{where}: falls at {clock(offset)}, outside the stage "
                             f"(0:00 to {clock(length)})")
                continue
            following = offsets[i + 1] + start if i + 1 < len(offsets) else None
            found.append(_Occurrence(start + offset, cue, following))
    order = {cue: i for i, cue in enumerate(stage.cues)}
    return sorted(found, key=lambda o: (o.due, order[o.cue]))


def _every_offsets(line: _Timeline, cue: Cue, length: int, where: str) -> list[int]:
    assert cue.every_ms is not None
    first = cue.start.resolve(length) if cue.start else cue.every_ms
    last = cue.until.resolve(length) if cue.until else length
    if first > last:
        line.problem(cue.loc, f"{where}: 'from' {clock(first)} is after 'until' {clock(last)}")
        return []
    count = (last - first) // cue.every_ms + 1
    if count > MAX_OCCURRENCES:
        line.problem(cue.loc, f"{where}: repeats {count:,} times; at most "
                     f"{MAX_OCCURRENCES:,} per cue")
        return []
    return [first + i * cue.every_ms for i in range(count) if first + i * cue.every_ms < length]


def _lay_out_cues(line: _Timeline, stage: Stage, stage_voice: Voice, start: int, length: int,
                  busy: int, limit: int) -> None:
    before = "its countdown" if stage.countdown else "its end"
    for occurrence in _occurrences(line, stage, start, length):
        cue = occurrence.cue
        voice = resolve_voice(line.script, line.settings, cue.voice) if cue.voice \
            else stage_voice
        begin = occurrence.due if busy <= occurrence.due else busy + CUE_WAIT_MS
        finish = _lay_out_cue(line.scratch(), stage, cue, voice, begin, length)
        where = (f"stage {stage.number} '{stage.name}', {cue.describe()} due at "
                 f"{clock(occurrence.due - start)}")
        if cue.kind == "every":
            if occurrence.next_due is not None and begin >= occurrence.next_due:
                line.warnings.append(f"{where}: dropped, speech runs until the next repeat "
                                     "is due")
                continue
            if finish > limit:
                line.warnings.append(f"{where}: dropped, it needs {seconds_text(finish - begin)}"
                                     f" but only {seconds_text(max(0, limit - begin))} remain "
                                     f"before {before}")
                continue
        elif finish > limit:
            line.problem(cue.loc, f"{where}: needs {seconds_text(finish - begin)} but has "
                         f"{seconds_text(max(0, limit - begin))} before {before}")
            continue
        if begin != occurrence.due:
            line.warnings.append(f"{where}: waits {seconds_text(begin - occurrence.due)} for "
                                 f"speech to finish, starts at {clock(begin - start)}")
        busy = _lay_out_cue(line, stage, cue, voice, begin, length)


def _lay_out_cue(line: _Timeline, stage: Stage, cue: Cue, voice: Voice, begin: int,
                 length: int) -> int:
    cursor = end = begin
    if cue.sound is not None:
        end = line.sound(cue.sound, begin, stage.number)
        cursor = end + AFTER_SOUND_MS
    if cue.say:
        end = line.speech(voice, cue.say, cursor, stage, length)
    return end


def _lay_out_countdown(line: _Timeline, stage: Stage, voice: Voice, end: int) -> None:
    for n in range(stage.countdown, 0, -1):
        word = countdown_word(n, line.script.language)
        clip = line.clips.speech_ms(voice.request(word))
        if clip > 1000:
            line.problem(stage.loc, f"stage {stage.number} '{stage.name}': countdown number "
                         f"'{word}' needs {seconds_text(clip)} but has 1.0 s; use a faster rate")
            return
    for n in range(stage.countdown, 0, -1):
        line.say(voice, countdown_word(n, line.script.language), end - n * 1000, stage.number)


# ---------------------------------------------------------------------------
# --length


def choose_pace(script: Script, settings: Settings,
                clips: ClipLengths) -> tuple[float | None, list[str]]:
    """The pace that brings the session closest to ``--length``, and what was done."""
    if settings.length_ms is None:
        return None, []
    target = settings.length_ms
    fixed = _fixed_ms(script, settings, clips)
    lows = sum(s.duration[0] for s in script.stages)
    highs = sum(s.duration[1] for s in script.stages)
    shortest, longest = fixed + lows, fixed + highs
    if highs == lows:
        pace = 0.5
    else:
        pace = min(1.0, max(0.0, (target - shortest) / (highs - lows)))
        pace = _closest_pace(script, pace, target - fixed)
    total = fixed + sum(stage_lengths(script, [pace] * len(script.stages)))
    if shortest <= target <= longest:
        note = f"--length {clock(target)}: pace {pace:.3f} gives {clock(total)}"
    else:
        note = (f"--length {clock(target)} is out of reach: this script lasts "
                f"{clock(shortest)} at pace 0 to {clock(longest)} at pace 1; "
                f"using pace {pace:g} ({clock(total)})")
    return pace, [note]


def _closest_pace(script: Script, pace: float, stages_target: int) -> float:
    # Rounding each stage to 0.1 s makes the total a step function of the
    # pace; look at a few nearby paces for the step closest to the target.
    span = sum(s.duration[1] - s.duration[0] for s in script.stages)
    step = 100 / span if span else 0
    candidates = {min(1.0, max(0.0, round(pace + k * step / 4, 6))) for k in range(-8, 9)}

    def miss(p: float) -> tuple[int, float]:
        total = sum(stage_lengths(script, [p] * len(script.stages)))
        return abs(total - stages_target), abs(p - pace)

    return min(sorted(candidates), key=miss)


def _fixed_ms(script: Script, settings: Settings, clips: ClipLengths) -> int:
    """Everything in the session that does not depend on the pace."""
    scratch = _Timeline(script, settings, clips)
    default = resolve_voice(script, settings, None)
    return _lay_out_intro(scratch, default) + _lay_out_finish(scratch, default, 0)


def describe(plan: Plan) -> Iterator[str]:
    """The plan as a readable table, one line per event, chapters as headings."""
    chapters = iter(plan.chapters)
    chapter = next(chapters, None)
    yield f"{plan.title} — {clock(plan.duration_ms)}"
    for timing in plan.stages:
        span = (clock(timing.min_ms) if timing.min_ms == timing.max_ms
                else f"{clock(timing.min_ms)}..{clock(timing.max_ms)} at pace {timing.pace:g}")
        yield f"  stage {timing.number}: {clock(timing.duration_ms)}  ({span})"
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


def _stamp(ms: int) -> str:
    minutes, rest = divmod(ms, 60_000)
    return f"{minutes:3d}:{rest / 1000:06.3f}"


__all__ = [
    "ClipLengths", "Settings", "Voice", "Event", "Chapter", "Plan", "make_plan",
    "speech_requests", "resolve_voice", "voice_refs", "describe", "choose_pace",
    "check_session_length",
]
