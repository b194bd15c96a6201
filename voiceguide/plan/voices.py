"""Which voice speaks what: resolving a script's ``voice:`` values and the command line's
choices into ``Voice``s, and choosing and checking them against the installed engines.

Resolving is pure; choosing and checking take the speech library as an argument,
so the planner still imports no engine and no audio library.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from voiceguide import engines
from voiceguide.errors import EngineError, Problem, ScriptError, UsageError
from voiceguide.script import Loc, Script, VoiceRef
from voiceguide.speech.request import SpeechRequest

if TYPE_CHECKING:  # passed in by the session; never imported by the planner
    from voiceguide.speech import SpeechLibrary

DEFAULT_RATE = 175.0  # espeak-ng's own default, used when a speed factor needs a base


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
# Choosing and checking voices against the engines


def choose_voices(script: Script, settings: Settings,
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
        engine, note = _clearest(script.language, speech)
        if note is not None and script.voice is None:
            notes.append(note)
    voice = speech.default_voice(engine, script.language)
    if voice is None and settings.engine is not None and settings.voice is None \
            and speech.engine(engine).problem() is None:  # a missing engine: exit 1, below
        raise UsageError(f"--engine {engine}: the {engine} engine has no voice for language "
                         f"'{script.language}' (see voiceguide voices --engine {engine})")
    return replace(settings, language_engine=engine, language_voice=voice), notes


def _clearest(language: str, speech: SpeechLibrary) -> tuple[str, str | None]:
    """The clearest installed engine with a voice for *language* (spec 22), and, when that
    is not the natural voice, one line saying which engine speaks and how to install a
    clearer one where there is one."""
    base = language.split("-")[0].lower()
    wanted = [name for name in engines.CLEARER if base in engines.SPEAKS[name]]
    chosen = next((name for name in wanted if speech.engine(name).problem() is None
                   and speech.default_voice(name, language) is not None), engines.DEFAULT)
    if chosen == engines.NATURAL:
        return chosen, None
    said = "espeak-ng" if chosen == engines.DEFAULT else chosen
    speaking = f"speaking with {said}" if base == "en" else \
        f"speaking language '{language}' with {said}"
    clearer = wanted[: wanted.index(chosen)] if chosen in wanted else wanted
    if clearer:
        kind = "natural" if clearer[0] == engines.NATURAL else "clearer"
        missing = speech.engine(clearer[0]).problem() or \
            f"the {clearer[0]} engine has no voice for '{language}' here"
        return chosen, f"{speaking}; for a {kind} voice, {missing}"
    return chosen, f"{speaking}: {engines.NATURAL} speaks English only"


# ---------------------------------------------------------------------------
# Checks that need an engine or the disk


def require_engines(script: Script, settings: Settings, speech: SpeechLibrary) -> None:
    """The default engine, or one chosen on the command line, missing: EngineError (exit 1).

    That is the machine's problem, not the script's, and so is espeak-ng
    missing whoever asks for it. An optional engine that a voice profile of
    the script chooses (``engine: festival``) is reported as a located script
    error instead, naming the profile and how to install it.
    """
    voices = [resolve_voice(script, settings, ref) for ref, _ in voice_refs(script)]
    for voice in voices:
        if engines.is_command(voice.engine) or voice.engine not in speech.engine_names():
            continue  # a command's program is named in the script: reported there
        profile = script.voices.get(voice.label)
        if profile is not None and profile.engine == voice.engine not in engines.CORE:
            continue  # an optional engine the script chose: voice_problems locates it
        reason = speech.engine(voice.engine).problem()
        if reason is not None:
            raise EngineError(reason)


def voice_problems(script: Script, settings: Settings, speech: SpeechLibrary) -> list[Problem]:
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
            raise VoiceChoiceError(option, reason, voice.voice)
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


class VoiceChoiceError(UsageError):
    """A voice chosen at build time (by *option*, for *voice*) cannot speak: *reason*."""

    def __init__(self, option: str, reason: str, voice: str | None) -> None:
        super().__init__(f"{option}: {reason}")
        self.reason, self.voice = reason, voice


def refuse_commands(script: Script) -> None:
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
