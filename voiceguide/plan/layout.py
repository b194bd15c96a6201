"""Script + settings + clip lengths → Plan: the exact timeline of a session.

Pure: no audio, no engines. Whoever calls ``make_plan`` supplies the length
of every speech clip and sound (``ClipLengths``). ``speech_requests`` lays
the session out once with silent clips to learn every clip the plan will ask
for, so they can be synthesised in one batch first. The timing rules are
those of the drill-script format, section 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voiceguide.durations import clock, duration_in_words, number_in_words, seconds_text
from voiceguide.errors import Problem, ScriptError
from voiceguide.plan.model import Chapter, ClipLengths, Event, Plan, StageTiming
from voiceguide.plan.pacing import check_session_length, pace_for_length, stage_lengths, stage_paces
from voiceguide.plan.voices import Settings, Voice, resolve_voice
from voiceguide.script import Cue, Loc, Pause, Script, Speech, Stage, Text
from voiceguide.speech.request import SpeechRequest

INTRO_LEAD_MS = 500
AFTER_INTRO_MS = 1000
AFTER_SOUND_MS = 300
BETWEEN_SPEECH_MS = 400
CUE_WAIT_MS = 500
TAIL_MS = 1000
MAX_OCCURRENCES = 10_000


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
    line, duration = _lay_out(script, settings, clips, lengths)
    if line.problems:
        raise ScriptError(line.problems)
    timings = tuple(
        StageTiming(s.number, s.name, s.duration[0], s.duration[1], p, n)
        for s, p, n in zip(script.stages, paces, lengths, strict=True)
    )
    events = sorted(line.events, key=lambda e: e.start_ms)  # stable: ties keep their order
    return Plan(script.title, duration, tuple(line.chapters), tuple(events),
                tuple(line.warnings), timings, tuple(notes))


def speech_requests(script: Script, settings: Settings,
                    pace: float | None = None) -> list[SpeechRequest]:
    """Every clip ``make_plan`` will ask the length of, for batch synthesis.

    The session is laid out once with clips of no length, which asks for every
    text the real layout asks for (nothing waits, so nothing is dropped).
    ``pace`` is the one ``choose_pace`` picked for ``--length``, if any: it
    decides the stage lengths that ``{duration}`` speaks.
    """
    recorder = _Requests()
    lengths = stage_lengths(script, stage_paces(script, settings, pace))
    _lay_out(script, settings, recorder, lengths)
    return list(recorder.asked)


class _Requests:
    """Clip lengths of zero that remember every speech request they were asked about."""

    def __init__(self) -> None:
        self.asked: dict[SpeechRequest, None] = {}

    def speech_ms(self, request: SpeechRequest) -> int:
        self.asked[request] = None
        return 0

    def sound_ms(self, name: str) -> int:
        return 0


def _lay_out(script: Script, settings: Settings, clips: ClipLengths,
             lengths: list[int]) -> tuple[_Timeline, int]:
    """The session's timeline with these stage lengths, and its duration."""
    check_session_length(script, lengths)  # before any work for an absurd session
    line = _Timeline(script, settings, clips)
    default = resolve_voice(script, settings, None)
    cursor = _lay_out_intro(line, default)
    for stage, length in zip(script.stages, lengths, strict=True):
        _lay_out_stage(line, stage, cursor, length)
        line.chapters.append(Chapter(f"Stage {stage.number}: {stage.name}", cursor,
                                     cursor + length))
        cursor += length
    return line, _lay_out_finish(line, default, cursor)


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
    return pace_for_length(script, settings.length_ms, _fixed_ms(script, settings, clips))


def _fixed_ms(script: Script, settings: Settings, clips: ClipLengths) -> int:
    """Everything in the session that does not depend on the pace."""
    scratch = _Timeline(script, settings, clips)
    default = resolve_voice(script, settings, None)
    return _lay_out_intro(scratch, default) + _lay_out_finish(scratch, default, 0)
