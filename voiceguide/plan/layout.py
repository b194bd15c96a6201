"""Script + settings + clip lengths → Plan: the exact timeline of a session.

Pure: no audio, no engines. Whoever calls ``make_plan`` supplies the length
of every speech clip and sound (``ClipLengths``). ``speech_requests`` lays
the session out once with silent clips to learn every clip the plan will ask
for, so they can be synthesised in one batch first. The timing rules are
those of the drill-script format, section 3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from voiceguide.durations import (
    clock,
    duration_in_words,
    needs_and_has,
    number_in_words,
    seconds_text,
)
from voiceguide.errors import Problem, ScriptError
from voiceguide.plan.model import Bed, Chapter, ClipLengths, Event, Plan, StageTiming
from voiceguide.plan.pacing import check_session_length, pace_for_length, stage_lengths, stage_paces
from voiceguide.plan.voices import Settings, Voice, resolve_voice
from voiceguide.script import (
    MAX_SPEECH_CHARS,
    PLACEHOLDER_RE,
    Cue,
    Loc,
    Pause,
    Script,
    Speech,
    Stage,
    Text,
)
from voiceguide.speech.request import SpeechRequest
from voiceguide.words import target_in_words, words

INTRO_LEAD_MS = 500
AFTER_INTRO_MS = 1000
AFTER_SOUND_MS = 300
BETWEEN_SPEECH_MS = 400
CUE_WAIT_MS = 500
TAIL_MS = 1000
MAX_OCCURRENCES = 10_000
MAX_EVENTS = 20_000  # in a whole session: more than anyone can hear, and bounded work


def fill(text: str, values: dict[str, str]) -> str | None:
    """*text* with its placeholders filled in; None when one has no value ({next} at the end).

    ``{{`` and ``}}`` are literal braces.
    """
    missing = []

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        if name not in values:
            missing.append(name)
            return ""
        said = values[name]
        before = text[: match.start()].rstrip()
        if not before or before[-1] in ".!?":  # it begins a sentence: "Six minutes left."
            return said[:1].upper() + said[1:]
        return said

    filled = PLACEHOLDER_RE.sub(value, text)
    return None if missing else filled


def _whole(ms: int) -> int:
    """*ms* rounded to whole seconds, as placeholders speak them."""
    return (ms + 500) // 1000 * 1000


def countdown_word(n: int, language: str) -> str:
    return number_in_words(n) if language.split("-")[0] == "en" else str(n)


@dataclass
class _Timeline:
    """Events, chapters and findings, gathered while a plan is laid out."""

    script: Script
    settings: Settings
    clips: ClipLengths
    total_ms: int = 0  # every stage together, for {total}
    events: list[Event] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    found: list[_Found] = field(default_factory=list)  # the problems, before merging rounds
    warned: set[int] = field(default_factory=set)  # the stages the warnings are about
    spoken: set[str] = field(default_factory=set)  # every text as placeholders made it
    spoken_chars: int = 0

    def values(self, stage: Stage | None, length: int, at: int) -> dict[str, str]:
        """The placeholders' values for a text scheduled *at* ms into *stage*."""
        script, words = self.script, self.words
        values = {"stages": str(len(script.stages)), "total": words(self.total_ms)}
        if script.place is not None:
            values |= script.place.values()
        if stage is not None:
            values |= {"number": str(stage.number), "name": stage.name,
                       "duration": words(length), "round": str(stage.round),
                       "rounds": str(stage.rounds), "elapsed": words(_whole(at)),
                       "remaining": words(_whole(length - at))}
            if stage.number < len(script.stages):
                values["next"] = script.stages[stage.number].name
            if stage.target is not None:
                values["target"] = target_in_words(stage.target, script.language)
        return values

    def words(self, ms: int) -> str:
        return duration_in_words(ms, self.script.language)

    def problem(self, loc: Loc, stage: Stage, kind: str, detail: str, over: int = 0) -> None:
        """A problem of *kind* at *loc* in *stage*: *detail* is what follows the stage's
        label; *over* how far past its room (ms), to show a block's worst round."""
        self.found.append(_Found(loc, stage.number, stage.name, kind, detail, over))

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

    def warn(self, stage: int, text: str) -> None:
        """A warning about stage number *stage*: the text for people, the number for tools."""
        self.warnings.append(text)
        self.warned.add(stage)

    def count(self, text: str, item: Text) -> None:
        """Bounds what will be spoken, placeholders filled in (the reader bounds what is
        written): a ScriptError at the text that takes it over ``MAX_SPEECH_CHARS``."""
        if text in self.spoken:
            return
        self.spoken.add(text)
        self.spoken_chars += len(text)
        if self.spoken_chars > MAX_SPEECH_CHARS:
            raise ScriptError([Problem(
                self.script.filename, item.loc.line, item.loc.column,
                f"with its placeholders filled in, the script's texts add up to more than "
                f"{MAX_SPEECH_CHARS:,} different characters here (hours of speech); repeat "
                "it less often, or split the script")])

    def scratch(self) -> _Timeline:
        """An empty timeline for the same session, to try a layout without keeping it."""
        return _Timeline(self.script, self.settings, self.clips, self.total_ms)

    def speech(self, voice: Voice, speech: Speech, start: int, stage: Stage | None,
               length: int = 0, at: int = 0) -> int:
        """Lay out a speech list from ``start`` (scheduled *at* ms into the stage); return
        when it falls silent."""
        cursor, end, first = start, start, True
        values: dict[str, str] | None = None  # made when a text has a placeholder
        for item in speech:
            if isinstance(item, Pause):
                cursor = end + item.ms
                first = True
                continue
            if values is None and ("{" in item.text or "}" in item.text):
                values = self.values(stage, length, at)
            text = fill(item.text, values) if values is not None else item.text
            if text is None:
                assert stage is not None  # only {next} can be missing, and only in the last stage
                self.warn(stage.number, f"stage {stage.number} '{stage.name}': the last stage has "
                                     f"no next stage; left out: {item.text!r}")
                continue
            self.count(text, item)
            if not first:
                cursor = end + BETWEEN_SPEECH_MS
            end = self.say(voice, text, cursor, stage.number if stage else None)
            cursor, first = end, False
        return end


def make_plan(script: Script, settings: Settings, clips: ClipLengths) -> Plan:
    """Lay out the whole session; raise ``ScriptError`` for anything that cannot fit."""
    pace, notes = choose_pace(script, settings, clips)
    paces = stage_paces(script, settings, pace)
    lengths = stage_lengths(script, paces)
    line, duration = _lay_out(script, settings, clips, lengths)
    if line.found:
        raise ScriptError(merge_rounds(line.script.filename, line.found))
    timings = tuple(
        StageTiming(s.number, s.title(script.language), s.duration[0], s.duration[1], p, n,
                    (s.block_loc.line, s.block_loc.column) if s.block_loc else None)
        for s, p, n in zip(script.stages, paces, lengths, strict=True)
    )
    events = sorted(line.events, key=lambda e: e.start_ms)  # stable: ties keep their order
    return Plan(script.title, duration, tuple(line.chapters), tuple(events),
                tuple(line.warnings), timings, tuple(notes), beds(script, line.chapters),
                script.description or "", script.language,
                str(script.cover) if script.cover is not None else "", tuple(sorted(line.warned)),
                script.sport)


def beds(script: Script, chapters: list[Chapter]) -> tuple[Bed, ...]:
    """The music under every run of stages that have it, and each stage's cadence ticks
    (from its start until its countdown)."""
    spans = [c for c in chapters if c.stage is not None]
    found: list[Bed] = []
    if script.music is not None:
        names = tuple(f.name for f in script.music.files)
        run: list[Chapter] = []
        for stage, span in zip(script.stages, spans, strict=True):
            if stage.music:
                run.append(span)
            if run and (not stage.music or stage is script.stages[-1]):
                found.append(Bed("music", run[0].start_ms, run[-1].end_ms, files=names))
                run = []
    for stage, span in zip(script.stages, spans, strict=True):
        spm = script.cadence if stage.cadence is None else stage.cadence
        if spm:
            end = span.end_ms - stage.countdown * 1000
            found.append(Bed("cadence", span.start_ms, end, stage=stage.number, spm=int(spm)))
    return tuple(sorted(found, key=lambda b: (b.start_ms, b.type)))


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
    check_event_count(script, lengths)
    line = _Timeline(script, settings, clips, sum(lengths))
    default = resolve_voice(script, settings, None)
    cursor = _lay_out_intro(line, default)
    for stage, length in zip(script.stages, lengths, strict=True):
        before = len(line.events)
        _lay_out_stage(line, stage, cursor, length)
        line.chapters.append(Chapter(stage.title(line.script.language), cursor, cursor + length,
                                     stage.number, stage.open, stage.target, stage.intensity,
                                     stage.name, _notes(line, stage, line.events[before:]),
                                     _repeat(stage)))
        cursor += length
    return line, _lay_out_finish(line, default, cursor)


def _notes(line: _Timeline, stage: Stage, events: list[Event]) -> str:
    """The stage's first spoken text after its announcement (the announcement when it
    says nothing else): the watch step's notes."""
    spoken = [e.text or "" for e in events if e.type == "speech"]
    skip = 1 if line.script.announce_template(stage) and len(spoken) > 1 else 0
    return spoken[skip] if spoken else ""


def _repeat(stage: Stage) -> tuple[int, int, int, int] | None:
    where = stage.repeat_loc
    return None if where is None else (where.line, where.column, stage.round, stage.rounds)


def _lay_out_intro(line: _Timeline, voice: Voice) -> int:
    """The intro and its chapter; returns when the first stage starts."""
    if not line.script.intro:
        return 0
    start = line.speech(voice, line.script.intro, INTRO_LEAD_MS, None) + AFTER_INTRO_MS
    line.chapters.append(Chapter(words(line.script.language).intro, 0, start))
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
        cursor = line.speech(voice, script.outro, cursor, None)
    duration = cursor + TAIL_MS
    line.chapters.append(Chapter(words(script.language).outro, end_of_stages, duration))
    return duration


def _lay_out_stage(line: _Timeline, stage: Stage, start: int, length: int) -> None:
    script = line.script
    end = start + length
    limit = end - stage.countdown * 1000
    voice = resolve_voice(script, line.settings, stage.voice)
    if limit <= start:
        line.problem(stage.duration_loc, stage, "countdown", f": a countdown of "
                     f"{stage.countdown} needs a stage longer than {stage.countdown} s, the "
                     f"stage has {seconds_text(length)}", stage.countdown * 1000 - length)
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
        needs, has = needs_and_has(busy - start, limit - start)
        line.problem(stage.loc, stage, "start", f": the start (sound, announcement and say) "
                     f"needs {needs} but the stage has {has} before {before}", busy - limit)
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
        where = f", {cue.describe()}"
        if cue.kind == "at":
            assert cue.at is not None
            offsets = [cue.at.resolve(length)]
        elif cue.kind == "before_end":
            assert cue.before_end_ms is not None
            offsets = [length - cue.before_end_ms]
        else:
            offsets = _every_offsets(line, stage, cue, length, where)
        for i, offset in enumerate(offsets):
            if offset < 0 or offset >= length:
                line.problem(cue.loc, stage, "outside", f"{where}: falls at {clock(offset)}, "
                             f"outside the stage (0:00 to {clock(length)})")
                continue
            following = offsets[i + 1] + start if i + 1 < len(offsets) else None
            found.append(_Occurrence(start + offset, cue, following))
    order = {cue: i for i, cue in enumerate(stage.cues)}
    return sorted(found, key=lambda o: (o.due, order[o.cue]))


def _every_span(cue: Cue, length: int) -> tuple[int, int, int]:
    """An ``every`` cue's first and last offsets in a stage of *length* ms, and its count."""
    assert cue.every_ms is not None
    first = cue.start.resolve(length) if cue.start else cue.every_ms
    last = cue.until.resolve(length) if cue.until else length
    return first, last, max(0, (last - first) // cue.every_ms + 1)


def check_event_count(script: Script, lengths: list[int]) -> None:
    """ScriptError at the cue whose repeats take the session over ``MAX_EVENTS``: found
    from the stage lengths alone, before anything is laid out."""
    total = 0
    for stage, length in zip(script.stages, lengths, strict=True):
        total += len(stage.cues) + len(stage.say) + 3  # the start, a countdown's first words
        for cue in stage.cues:
            if cue.kind == "every":
                total += min(_every_span(cue, length)[2], MAX_OCCURRENCES)
            if total > MAX_EVENTS:
                raise ScriptError([Problem(
                    script.filename, cue.loc.line, cue.loc.column,
                    f"stage {stage.number} '{stage.name}', {cue.describe()}: the session would "
                    f"have more than {MAX_EVENTS:,} cues and texts here; a session has at most "
                    "that many: repeat less often, or fewer rounds?")])


def _every_offsets(line: _Timeline, stage: Stage, cue: Cue, length: int,
                   where: str) -> list[int]:
    assert cue.every_ms is not None
    first, last, count = _every_span(cue, length)
    if first > last:
        line.problem(cue.loc, stage, "order",
                     f"{where}: 'from' {clock(first)} is after 'until' {clock(last)}")
        return []
    if count > MAX_OCCURRENCES:
        line.problem(cue.loc, stage, "repeats", f"{where}: repeats {count:,} times; at most "
                     f"{MAX_OCCURRENCES:,} per cue", count)
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
        at = occurrence.due - start
        finish = _lay_out_cue(line.scratch(), stage, cue, voice, begin, length, at)
        label = f"stage {stage.number} '{stage.name}'"
        where = f"{label}, {cue.describe()} due at {clock(occurrence.due - start)}"
        if cue.kind == "every":
            if occurrence.next_due is not None and begin >= occurrence.next_due:
                line.warn(stage.number, f"{where}: dropped, speech runs until the next "
                          "repeat is due")
                continue
            if finish > limit:
                needs, has = needs_and_has(finish - begin, max(0, limit - begin))
                line.warn(stage.number, f"{where}: dropped, it needs {needs} but only {has} "
                          f"remain before {before}")
                continue
        elif finish > limit:
            needs, has = needs_and_has(finish - begin, max(0, limit - begin))
            line.problem(cue.loc, stage, "cue", f"{where[len(label):]}: needs {needs} but has "
                         f"{has} before {before}", finish - limit)
            continue
        if begin != occurrence.due:
            line.warn(stage.number, f"{where}: waits {seconds_text(begin - occurrence.due)} "
                      f"for speech to finish, starts at {clock(begin - start)}")
        busy = _lay_out_cue(line, stage, cue, voice, begin, length, at)


def _lay_out_cue(line: _Timeline, stage: Stage, cue: Cue, voice: Voice, begin: int,
                 length: int, at: int) -> int:
    cursor = end = begin
    if cue.sound is not None:
        end = line.sound(cue.sound, begin, stage.number)
        cursor = end + AFTER_SOUND_MS
    if cue.say:
        end = line.speech(voice, cue.say, cursor, stage, length, at)
    return end


def _lay_out_countdown(line: _Timeline, stage: Stage, voice: Voice, end: int) -> None:
    sound = stage.countdown_sound
    if sound is not None:
        clip = line.clips.sound_ms(sound) if stage.countdown else 0
        if clip > 1000:
            line.problem(stage.loc, stage, "countdown sound", ": countdown sound "
                         f"'{sound}' lasts {seconds_text(clip)} but has 1.0 s between counts")
            return
        for n in range(stage.countdown, 0, -1):
            line.sound(sound, end - n * 1000, stage.number)
        return
    for n in range(stage.countdown, 0, -1):
        word = countdown_word(n, line.script.language)
        clip = line.clips.speech_ms(voice.request(word))
        if clip > 1000:
            line.problem(stage.loc, stage, "countdown word", ": countdown number "
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


@dataclass(frozen=True)
class _Found:
    """A problem found while laying out one stage, before the rounds are merged."""

    loc: Loc
    stage: int  # its number after expansion
    name: str
    kind: str  # what went wrong, whatever the numbers: one line per kind and place
    detail: str  # what follows "stage N 'NAME'"
    over: int  # how far past its room, in ms (the worst round's detail is shown)


def merge_rounds(filename: str, found: list[_Found]) -> list[Problem]:
    """A problem that recurs in several rounds of a block, once (spec 7.5): at its line,
    naming every stage it happens in (``stages 2, 4 and 6 'Walk back': ...``), with the
    detail of the round it is worst in."""
    groups: dict[tuple[int, int, str], list[_Found]] = {}
    for one in found:
        groups.setdefault((one.loc.line, one.loc.column, one.kind), []).append(one)
    merged = []
    for (line, column, _), same in groups.items():
        numbers = sorted({one.stage for one in same})
        worst = max(same, key=lambda one: one.over)  # the first of the worst
        listed = f"stage {numbers[0]}" if len(numbers) == 1 else \
            "stages " + ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"
        merged.append(Problem(filename, line, column, f"{listed} '{worst.name}'{worst.detail}"))
    return merged
