"""The pipeline's steps glued together: what ``check``, ``plan`` and ``build`` do, for
one script or several at once (``built``, in worker processes).

The CLI calls exactly one function here per command. Everything a user can
get wrong comes back as a ``VoiceguideError``: located ``ScriptError``s for
the script (exit 2), one-line errors for the machine (exit 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceguide import defaults
from voiceguide.errors import Problem, ScriptError
from voiceguide.plan import Plan, Settings, choose_pace, make_plan, speech_requests
from voiceguide.plan.voices import (
    VoiceChoiceError,
    choose_voices,
    refuse_commands,
    require_engines,
    voice_problems,
)
from voiceguide.script import Script, load_script
from voiceguide.script.model import Loc, Place
from voiceguide.words import words

if TYPE_CHECKING:  # the audio modules pull in numpy; import them only when used
    from voiceguide.audio.beds import BedMixer, MusicLevels
    from voiceguide.audio.clips import ClipStore
    from voiceguide.script.programme import Entry, Programme
    from voiceguide.speech import SpeechLibrary
    from voiceguide.store import Entries

Progress = Callable[[str, int, int], None]  # (what, done, total)



@dataclass
class Options:
    """Everything the command line can choose, besides the script itself."""

    settings: Settings = field(default_factory=Settings)
    sample_rate: int = defaults.SAMPLE_RATE
    bitrate: str = defaults.BITRATE
    progress: Progress | None = None
    allow_commands: bool = False  # the user's opt-in: a script alone never runs programs
    place: Place | None = None  # a session of a programme: its week and session there
    title: str | None = None  # the programme's title for the session, if it gives one
    album: str | None = None  # a programme's sessions: the programme's title


@dataclass
class Session:
    """A loaded, checked script with the libraries that give it sound."""

    script: Script
    options: Options
    speech: SpeechLibrary
    clips: ClipStore
    notes: list[str] = field(default_factory=list)  # how the voice was chosen, for stderr

    def beds(self, plan: Plan) -> BedMixer:
        """The music and cadence of *plan*, at their levels below the speech."""
        from voiceguide.audio.beds import BedMixer
        from voiceguide.audio.render import TARGET_MONO_LUFS

        return BedMixer(plan, self.script, self.clips, self.options.sample_rate,
                        TARGET_MONO_LUFS, self.music_levels())

    def island_cache(self) -> Entries:
        """Where encoded islands are kept, beside the speech (see ``islands.py``)."""
        return self.speech.store.entries("islands")

    def levels_cache(self) -> Entries:
        """Where the levels of sessions with beds are kept (see ``pieces.py``)."""
        return self.speech.store.entries("levels")

    def music_levels(self) -> MusicLevels:
        from voiceguide.audio.beds import MusicLevels

        return MusicLevels(self.speech.store.entries("music"), self.options.sample_rate)

    def plan(self) -> Plan:
        settings = self.options.settings
        pace, _ = choose_pace(self.script, settings, self.clips)
        progress = self.options.progress
        spoken = (lambda done, total: progress("speaking clips", done, total)) if progress else None
        # each clip is prepared as soon as it is spoken, on the cores the engine leaves free
        self.clips.warm_up()
        self.speech.prefetch(speech_requests(self.script, settings, pace), spoken,
                             self.clips.prepare_ahead)
        try:
            plan = make_plan(self.script, settings, self.clips)
        finally:
            self.clips.close()
        return replace(plan, notes=(*self.notes, *plan.notes))


def open_session(path: str | Path, options: Options, shared: Shared | None = None) -> Session:
    """Load a script and check everything but timing; raise ``ScriptError`` with all problems.
    *shared*: what the sessions of a programme share (see ``Shared``)."""
    from voiceguide.audio.clips import ClipStore, PreparedClips
    from voiceguide.audio.sounds import SoundLibrary
    from voiceguide.speech import SpeechLibrary

    script = shared.script(Path(path), options.place) if shared else load_script(
        path, options.place)
    if options.title is not None:
        script = replace(script, title=options.title)
    if not options.allow_commands:
        refuse_commands(script)
    speech = shared.speech if shared else SpeechLibrary()
    settings, notes = choose_voices(script, options.settings, speech)
    options = replace(options, settings=settings)
    require_engines(script, options.settings, speech)
    problems = voice_problems(script, options.settings, speech)
    problems += _sound_problems(script)
    problems += _cover_problems(script)
    problems += _music_problems(script, speech.store.entries("music"), options.sample_rate)
    if problems:
        raise ScriptError(problems)
    sounds = SoundLibrary(script.sounds)
    clips = ClipStore(speech, sounds, options.sample_rate, prepared=PreparedClips(speech),
                      lengths=shared.lengths if shared else None)
    return Session(script, options, speech, clips, notes)


def check(path: str | Path, options: Options) -> Plan:
    """Everything ``build`` would refuse, found without making the MP3."""
    return _trimmed(open_session(path, options).plan())


def plan(path: str | Path, options: Options) -> Plan:
    return _trimmed(open_session(path, options).plan())


class Shared:
    """What the sessions of a programme share: one speech library (its engines probed
    once), the clip lengths, and each script read once (then placed, session by session)."""

    def __init__(self) -> None:
        from voiceguide.speech import SpeechLibrary

        self.speech = SpeechLibrary()
        self.lengths: dict[Any, int] = {}
        self.read: dict[Path, Script | ScriptError] = {}

    def script(self, path: Path, place: Place | None) -> Script:
        if place is None:
            return load_script(path)
        key = path.resolve()
        if key not in self.read:
            try:
                self.read[key] = load_script(path, place)
            except ScriptError as exc:
                self.read[key] = exc
        read = self.read[key]
        if isinstance(read, ScriptError):
            raise read
        return replace(read, place=place)


def entry_options(options: Options, entry: Entry) -> Options:
    """*options* for one session of a programme: its entry's choices over the command
    line's, as if they had been given there."""
    settings = options.settings
    changes: dict[str, Any] = {}
    if entry.pace is not None:
        changes |= {"pace": entry.pace, "length_ms": None}
    if entry.length_ms is not None:
        changes |= {"length_ms": entry.length_ms, "pace": None}
    if entry.voice is not None:
        name, voice = entry.voice
        changes |= {"voice": voice} if name is None else {
            "profile_voices": (*settings.profile_voices, (name, voice))}
    if entry.rate is not None:
        name, rate = entry.rate
        changes |= {"rate": rate} if name is None else {
            "profile_rates": (*settings.profile_rates, (name, rate))}
    if entry.speed is not None:
        changes["speed"] = entry.speed
    return replace(options, settings=replace(settings, **changes), place=entry.place,
                   title=entry.title)


def programme_plans(programme: Programme, options: Options) -> list[tuple[Entry, Plan]]:
    """The plan of every session of *programme*, checked as ``check`` checks a script;
    a ``ScriptError`` names, with each problem in a script, the entry that led to it."""
    shared = Shared()
    plans, problems, seen = [], [], set()
    for entry in programme.entries:
        try:
            plans.append((entry, open_session(entry.script, entry_options(options, entry),
                                              shared).plan()))
        except VoiceChoiceError as exc:
            if entry.voice is None or entry.voice[1] != exc.voice:
                raise  # the command line's own --voice or --engine
            problems.append(Problem(str(programme.path), entry.loc.line, entry.loc.column,
                                    f"voice '{exc.voice}': {exc.reason}"))
        except ScriptError as exc:
            for problem in exc.problems:  # a script used twice: its own problems once
                if (key := (problem.file, problem.line, problem.column, problem.message)) \
                        not in seen:
                    seen.add(key)
                    problems.append(replace(problem, via=programme.where(entry)))
    if problems:
        raise ScriptError(problems)
    from voiceguide.store import trim

    trim()
    return plans


def _trimmed(result: Plan) -> Plan:
    """*result*, once the cache is back within its size limit (least recently used out)."""
    from voiceguide.store import trim

    trim()
    return result


def build(path: str | Path, target: Path, options: Options, cover: bytes | None = None,
          split: bool = False) -> Plan:
    """Plan, render and write one session; the target appears whole or not at all.
    *cover* (JPEG or PNG bytes) is embedded unless the script names its own; *split*
    also writes a file per stage (``mp3/stages.py``)."""
    from voiceguide.audio.decode import ffmpeg_path
    from voiceguide.mp3.pieces import PieceFrames
    from voiceguide.mp3.writer import write_mp3

    ffmpeg_path()  # a missing ffmpeg is found before any work, not after the render
    session = open_session(path, options)
    the_plan = session.plan()
    script = session.script
    tags = {"title": script.title, "artist": script.artist or "voiceguide",
            "album": script.album or options.album or script.title,
            "comment": script.description or ""}
    if script.cover is not None:
        from voiceguide.phone.cover import judged

        image: bytes | None = judged(script.cover)[0]  # 8-bit RGB, as checked
    else:
        image = cover
    language = words(script.language).code
    progress = options.progress
    # Made piece by piece from the plan, which says where every sound is: a warm build
    # finds every island in the cache by its recipe and renders nothing.
    pieces = PieceFrames(
        the_plan, session.clips, options.sample_rate, lambda: session.beds(the_plan),
        session.levels_cache(), (lambda done, total: progress("rendering", done, total))
        if progress is not None else None)
    write_mp3(pieces, target, sample_rate=options.sample_rate, bitrate=options.bitrate,
              tags=tags, chapters=the_plan.chapters, cache=session.island_cache(),
              language=language, cover=image)
    if split:
        from voiceguide.mp3.stages import write_stage_files

        write_stage_files(pieces.pcm(), the_plan, target, sample_rate=options.sample_rate,
                          bitrate=options.bitrate, tags=tags, language=language,
                          cover=image, cache=session.island_cache())
    if pieces.bed_gain < 1.0 and the_plan.beds:  # no beds: nothing was lowered
        lowered = -20 * math.log10(pieces.bed_gain)
        the_plan = replace(the_plan, notes=(*the_plan.notes, (
            f"music and cadence play {lowered:.1f} dB below their levels: at the levels asked "
            "for, the stretches without speech would take the whole file off -16 LUFS")))
    return _trimmed(the_plan)


# ---------------------------------------------------------------------------
# Checks that need the disk


def _music_problems(script: Script, kept: Entries, rate: int) -> list[Problem]:
    """Music files that cannot be played: located, before any speech is made."""
    from voiceguide.audio.beds import MusicLevels
    from voiceguide.audio.sounds import sniff_format
    from voiceguide.errors import AudioError
    from voiceguide.script.model import MusicFile

    if script.music is None:
        return []
    # at most every stage with music at its longest: the files past that never play here,
    # so they are only told by their first bytes (a long list costs what is played of it)
    need_s = sum(s.duration[1] for s in script.stages if s.music) / 1000
    files = [m for m in script.music.files if m.path.is_file()]  # else the reader told it
    failed: list[tuple[MusicFile, AudioError]] = []
    reached = MusicLevels(kept, rate).playing(files, need_s, failed)
    tried = {id(m) for m, _ in failed} | {id(m) for m, _, _ in reached}
    failed += [(m, AudioError(f"{m.name} is not a WAV, FLAC, OGG or MP3 file")) for m in files
               if id(m) not in tried and sniff_format(m.path) is None]
    return [Problem(script.filename, m.loc.line, m.loc.column, f"music file '{m.name}': {exc}")
            for m, exc in sorted(failed, key=lambda f: (f[0].loc.line, f[0].loc.column))]


def _cover_problems(script: Script) -> list[Problem]:
    """The script's cover decoded whole before any work (``phone/cover.py``): located."""
    from voiceguide.phone.cover import CoverProblem, judged

    if script.cover is None or not script.cover.is_file():
        return []  # none, or the reader reported it already
    try:
        judged(script.cover)
    except CoverProblem as problem:
        loc = script.cover_loc or Loc(1, 1)
        return [Problem(script.filename, loc.line, loc.column, f"cover: {problem}")]
    return []


def _sound_problems(script: Script) -> list[Problem]:
    from voiceguide.audio.decode import ffmpeg_path
    from voiceguide.audio.sounds import validate_sound_file

    if script.sounds:
        ffmpeg_path()  # decoding them needs it; missing, it is exit 1, not the script's fault
    problems = []
    for name, path in script.sounds.items():
        if not path.is_file():
            continue  # the reader reported it already
        reason = validate_sound_file(path)
        if reason is not None:
            loc = script.sound_locs[name]
            problems.append(Problem(script.filename, loc.line, loc.column,
                                    f"sound '{name}': {reason}"))
    return problems


def build_outputs(target: Path, vtt: bool, split: bool, fit: bool = False) -> list[Path]:
    """Every file (and the stage folder) a build of one script writes."""
    from voiceguide.mp3.stages import folder_for
    from voiceguide.watch.fit import SUFFIX

    return [target, *([target.with_suffix(".vtt")] if vtt else []),
            *([target.with_suffix(SUFFIX)] if fit else []),
            *([folder_for(target)] if split else [])]
