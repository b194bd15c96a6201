"""The pipeline's steps glued together: what ``check``, ``plan`` and ``build`` do.

The CLI calls exactly one function here per command. Everything a user can
get wrong comes back as a ``VoiceguideError``: located ``ScriptError``s for
the script (exit 2), one-line errors for the machine (exit 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide import engines
from voiceguide.errors import Problem, ScriptError, UsageError
from voiceguide.plan import (
    Plan,
    Settings,
    Voice,
    choose_pace,
    make_plan,
    resolve_voice,
    speech_requests,
    voice_refs,
)
from voiceguide.script import Loc, Script, load_script

if TYPE_CHECKING:  # the audio modules pull in numpy; import them only when used
    from voiceguide.clips import ClipStore
    from voiceguide.speech import SpeechLibrary

Progress = Callable[[str, int, int], None]  # (what, done, total)

DEFAULT_SAMPLE_RATE = 44100
DEFAULT_BITRATE = "96k"


@dataclass
class Options:
    """Everything the command line can choose, besides the script itself."""

    settings: Settings = field(default_factory=Settings)
    sample_rate: int = DEFAULT_SAMPLE_RATE
    bitrate: str = DEFAULT_BITRATE
    progress: Progress | None = None
    allow_commands: bool = False  # the user's opt-in: a script alone never runs programs


@dataclass
class Session:
    """A loaded, checked script with the libraries that give it sound."""

    script: Script
    options: Options
    speech: SpeechLibrary
    clips: ClipStore
    notes: list[str] = field(default_factory=list)  # how the voice was chosen, for stderr

    def plan(self) -> Plan:
        settings = self.options.settings
        pace, _ = choose_pace(self.script, settings, self.clips)
        progress = self.options.progress
        announce = (lambda n: progress(f"speaking {n} new clips", 0, n)) if progress else None
        self.speech.prefetch(speech_requests(self.script, settings, pace), announce)
        plan = make_plan(self.script, settings, self.clips)
        return replace(plan, notes=(*self.notes, *plan.notes))


def open_session(path: str | Path, options: Options) -> Session:
    """Load a script and check everything but timing; raise ``ScriptError`` with all problems."""
    from voiceguide.clips import ClipStore, PreparedClips
    from voiceguide.sounds import SoundLibrary
    from voiceguide.speech import SpeechLibrary

    script = load_script(path)
    if not options.allow_commands:
        _refuse_commands(script)
    speech = SpeechLibrary()
    settings, notes = _choose_voices(script, options.settings, speech)
    options = replace(options, settings=settings)
    _require_engines(script, options.settings, speech)
    problems = _voice_problems(script, options.settings, speech)
    problems += _sound_problems(script)
    if problems:
        raise ScriptError(problems)
    sounds = SoundLibrary(script.sounds)
    clips = ClipStore(speech, sounds, options.sample_rate, prepared=PreparedClips(speech))
    return Session(script, options, speech, clips, notes)


def check(path: str | Path, options: Options) -> Plan:
    """Everything ``build`` would refuse, found without making the MP3."""
    return open_session(path, options).plan()


def plan(path: str | Path, options: Options) -> Plan:
    return open_session(path, options).plan()


def build(path: str | Path, target: Path, options: Options) -> Plan:
    """Plan, render and write one session; the target appears whole or not at all."""
    from voiceguide.mp3 import write_mp3
    from voiceguide.render import render
    from voiceguide.sounds import ffmpeg_path

    ffmpeg_path()  # a missing ffmpeg is found before any work, not after the render
    session = open_session(path, options)
    the_plan = session.plan()
    script = session.script
    tags = {"title": script.title, "artist": script.artist or "voiceguide",
            "album": script.album or script.title, "comment": script.description or ""}
    chunks = render(the_plan, session.clips, options.sample_rate)
    if options.progress is not None:
        chunks = _reporting(chunks, the_plan, options)
    write_mp3(chunks, target, sample_rate=options.sample_rate, bitrate=options.bitrate,
              tags=tags, chapters=the_plan.chapters)
    return the_plan


def _reporting(chunks: Iterator[bytes], the_plan: Plan, options: Options) -> Iterator[bytes]:
    total = round(the_plan.duration_ms * options.sample_rate / 1000)
    done = 0
    for chunk in chunks:
        done += len(chunk) // 2
        assert options.progress is not None
        options.progress("rendering", done, total)
        yield chunk


# ---------------------------------------------------------------------------
# The default voice


def _choose_voices(script: Script, settings: Settings,
                   speech: SpeechLibrary) -> tuple[Settings, list[str]]:
    """Settings with the default voice for the script's language chosen, and notes on it.

    ``--engine E`` picks E and its voice for the language. ``--voice ID`` alone
    (or ``--voice NAME=ID``) picks the first engine that has ID when the voice's
    own engine has not. Otherwise English speaks with the natural engine when
    it is installed, and every other language (or English without it) with the
    default engine and its voice for the language.
    """
    if settings.language_voice is not None:
        return settings, []  # chosen already (by a caller that knows better)
    moved = []
    for name, voice_id in settings.profile_voices:
        profile = script.voices.get(name)
        if profile is not None and speech.problem(profile.engine, voice_id, profile.command):
            found = speech.engine_for_voice(voice_id)
            if found is not None:
                moved.append((name, found))
    settings = replace(settings, profile_engines=tuple(moved))
    engine, notes = settings.engine, []
    if engine is None and settings.voice is not None and settings.voice not in script.voices:
        engine = speech.engine_for_voice(settings.voice)
        settings = replace(settings, engine=engine)
    if engine is None:
        engine = engines.DEFAULT
        if script.language.split("-")[0].lower() == "en":
            missing = speech.engine(engines.NATURAL).problem()
            if missing is None:
                engine = engines.NATURAL
            elif script.voice is None:
                notes.append(f"speaking with espeak-ng; for a natural voice, {missing}")
    voice = speech.default_voice(engine, script.language)
    if voice is None and settings.engine is not None and settings.voice is None \
            and speech.engine(engine).problem() is None:  # a missing engine: exit 1, below
        raise UsageError(f"--engine {engine}: the {engine} engine has no voice for language "
                         f"'{script.language}' (see voiceguide voices --engine {engine})")
    return replace(settings, language_engine=engine, language_voice=voice), notes


# ---------------------------------------------------------------------------
# Checks that need an engine or the disk


def _require_engines(script: Script, settings: Settings, speech: SpeechLibrary) -> None:
    """The default engine, or one chosen on the command line, missing: EngineError (exit 1).

    That is the machine's problem, not the script's, and so is espeak-ng
    missing whoever asks for it. An optional engine that a voice profile of
    the script chooses (``engine: festival``) is reported as a located script
    error instead, naming the profile and how to install it.
    """
    from voiceguide.errors import EngineError
    from voiceguide.speech import is_command

    voices = [resolve_voice(script, settings, ref) for ref, _ in voice_refs(script)]
    for voice in voices:
        if is_command(voice.engine) or voice.engine not in speech.engine_names():
            continue  # a command's program is named in the script: reported there
        profile = script.voices.get(voice.label)
        if profile is not None and profile.engine == voice.engine not in engines.CORE:
            continue  # an optional engine the script chose: _voice_problems locates it
        reason = speech.engine(voice.engine).problem()
        if reason is not None:
            raise EngineError(reason)


def _voice_problems(script: Script, settings: Settings, speech: SpeechLibrary) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str | None]] = set()

    def report(loc: Loc | None, message: str) -> None:
        loc = loc or Loc(1, 1)
        problems.append(Problem(script.filename, loc.line, loc.column, message))

    default = resolve_voice(script, settings, None)
    for ref, loc in voice_refs(script):
        voice = resolve_voice(script, settings, ref)
        key = (voice.engine, voice.voice)
        if key in seen:
            continue
        seen.add(key)
        reason = speech.problem(voice.engine, voice.voice, voice.command)
        if reason is None:
            continue
        option = _option_behind(settings, voice, voice == default)
        if option is not None:
            raise UsageError(f"{option}: {reason}")
        profile = script.voices.get(voice.label)
        if profile is not None and profile.voice == voice.voice:
            report(profile.voice_loc or profile.loc, f"voice profile '{profile.name}': {reason}")
        elif ref is not None and ref.name not in script.voices and script.voices:
            names = ", ".join(sorted(script.voices))
            report(loc, f"'{ref.name}' is not a voice profile ({names}); as a voice id: {reason}")
        else:
            report(loc, reason)
    for profile in script.voices.values():
        if (profile.engine, profile.voice) in seen:
            continue
        seen.add((profile.engine, profile.voice))
        reason = speech.problem(profile.engine, profile.voice, profile.command)
        if reason is not None:
            report(profile.voice_loc or profile.loc, f"voice profile '{profile.name}': {reason}")
    return problems


def _refuse_commands(script: Script) -> None:
    """Profiles that would run a program: located errors, unless the user allowed them."""
    problems = [
        Problem(script.filename, p.loc.line, p.loc.column,
                f"voice profile '{p.name}' would run the program {p.command[0]!r}; a script "
                "runs programs only when you allow it: add --allow-commands (or set "
                "VOICEGUIDE_ALLOW_COMMANDS=1) if you trust this script")
        for p in script.voices.values() if p.engine == engines.COMMAND and p.command
    ]
    if problems:
        raise ScriptError(problems)


def _option_behind(settings: Settings, voice: Voice, is_default: bool) -> str | None:
    """The command-line option that chose ``voice``, if one did: its errors are the option's."""
    if (voice.label, voice.voice) in settings.profile_voices:
        return f"--voice {voice.label}={voice.voice}"
    if is_default and settings.voice is not None and settings.voice == voice.voice:
        return f"--voice {settings.voice}"
    if is_default and settings.engine is not None:
        return f"--engine {settings.engine}"
    return None


def _sound_problems(script: Script) -> list[Problem]:
    from voiceguide.sounds import ffmpeg_path, validate_sound_file

    if script.sounds:
        ffmpeg_path()  # decoding them needs it; missing, it is exit 1, not the script's fault
    problems = []
    for name, path in script.sounds.items():
        if not path.is_file():
            continue  # script.py reported it already
        reason = validate_sound_file(path)
        if reason is not None:
            loc = script.sound_locs[name]
            problems.append(Problem(script.filename, loc.line, loc.column,
                                    f"sound '{name}': {reason}"))
    return problems
