"""A drill script: YAML → frozen dataclasses, every problem located.

``load_script`` reads the file, checks every key and value against the
drill-script format (version 1) and returns a ``Script``, or raises one
``ScriptError`` listing every problem found, each as ``FILE:LINE:COLUMN``.
Checks that need an engine or the disk beyond the script itself (voice ids,
sound files) live in ``session.py``; checks that need clip lengths ("does
this fit?") live in ``plan.py``.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from voiceguide import builtins, engines
from voiceguide.durations import (
    DurationError,
    Offset,
    clock,
    parse_duration,
    parse_offset,
    parse_range,
)
from voiceguide.errors import Problem, ScriptError
from voiceguide.words import is_language_code, stage_title

T = TypeVar("T")
D = TypeVar("D")

BUILTIN_SOUNDS = frozenset(builtins.SOUNDS)
BUILTIN_MUSIC = frozenset(builtins.MUSIC)
MIN_CADENCE, MAX_CADENCE = 100, 220  # steps per minute
PLACEHOLDERS = ("number", "name", "stages", "duration", "round", "rounds", "next", "remaining",
                "elapsed", "total")
STAGE_PLACEHOLDERS = frozenset(PLACEHOLDERS)
SESSION_PLACEHOLDERS = frozenset({"stages", "total"})
MAX_STAGES = 1000  # after repeat blocks are expanded
MAX_ROUNDS = 100
DEFAULT_ANNOUNCE = {
    "en": "Stage {number}. {name}.",
    "de": "Abschnitt {number}. {name}.",
    "es": "Etapa {number}. {name}.",
    "fr": "Étape {number}. {name}.",
    "it": "Fase {number}. {name}.",
    "nl": "Fase {number}. {name}.",
}
MAX_TEXT_CHARS = 2000
# All the different texts of a script together: about two and a half hours of speech,
# which bounds what a script can make voiceguide synthesise before any timing check.
MAX_SPEECH_CHARS = 150_000
MAX_RATE = 1000
ENGINES = engines.ALL
# The one placeholder grammar: {NAME}, with {{ and }} literal braces. The reader checks every
# name against the placeholders allowed where it stands; the planner fills them in.
PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


@dataclass(frozen=True)
class Loc:
    """Where a value stands in its script (1-based)."""

    line: int
    column: int


@dataclass(frozen=True)
class VoiceProfile:
    """A named voice: ``voices: {coach: {voice: gmw/en-us, rate: 160}}``."""

    name: str
    engine: str = engines.DEFAULT
    voice: str | None = None
    rate: float | None = None
    volume: float = 1.0
    command: tuple[str, ...] = ()  # the `command` engine's argv template
    loc: Loc = Loc(1, 1)
    voice_loc: Loc | None = None


@dataclass(frozen=True)
class Text:
    """A text to speak, as written (placeholders not yet filled in)."""

    text: str
    loc: Loc


@dataclass(frozen=True)
class Pause:
    """``{pause: 3}``: silence between spoken texts."""

    ms: int
    loc: Loc


SpeechItem = Text | Pause
Speech = tuple[SpeechItem, ...]


@dataclass(frozen=True)
class VoiceRef:
    """A `voice:` value: a profile name or an engine voice id, and where it stands."""

    name: str
    loc: Loc


@dataclass(frozen=True)
class Cue:
    """Something spoken or played during a stage."""

    kind: Literal["at", "every", "before_end"]
    loc: Loc
    number: int  # 1-based within its stage, for messages
    at: Offset | None = None
    every_ms: int | None = None
    start: Offset | None = None  # `from`
    until: Offset | None = None
    before_end_ms: int | None = None
    say: Speech = ()
    sound: str | None = None
    sound_loc: Loc | None = None
    voice: VoiceRef | None = None

    def describe(self) -> str:
        if self.kind == "at":
            return f"cue {self.number} (at {self.at})"
        if self.kind == "every":
            return f"cue {self.number} (every {clock(self.every_ms or 0)})"
        return f"cue {self.number} (before_end {clock(self.before_end_ms or 0)})"


@dataclass(frozen=True)
class Stage:
    number: int
    name: str
    duration: tuple[int, int]  # (min_ms, max_ms)
    loc: Loc
    duration_loc: Loc
    say: Speech = ()
    cues: tuple[Cue, ...] = ()
    countdown: int = 0
    voice: VoiceRef | None = None
    announce: str | bool | None = None  # None: the script's; False: off
    announce_loc: Loc | None = None
    start_sound: str | None = None
    start_sound_set: bool = False  # True when the stage sets start_sound (even to null)
    start_sound_loc: Loc | None = None
    pace: float | None = None
    countdown_sound: str | None = None  # played instead of spoken numbers
    cadence: int | None | bool = None  # None: the script's; False: none; else steps per minute
    music: bool = True  # False: no music bed under this stage
    skip_last: bool = False  # left out of its block's last round
    round: int = 1  # of the innermost repeat block; 1 outside any
    rounds: int = 1
    block: str | None = None  # the innermost block's name, if it has one
    in_block: bool = False
    block_loc: Loc | None = None  # the outermost block's `repeat`, for limits

    def title(self, language: str) -> str:
        """The chapter title: ``Stage N: NAME`` in *language*, with ``(R/T)`` in a block."""
        return stage_title(language, self.number, self.name,
                           (self.round, self.rounds) if self.in_block else None)


@dataclass(frozen=True)
class MusicFile:
    """A music file of the bed, as the script names it and where it is."""

    name: str  # as written in the script (or a built-in loop's name)
    path: Path
    loc: Loc


@dataclass(frozen=True)
class Music:
    """The music bed: files played in order and looped under the stages that have music."""

    files: tuple[MusicFile, ...]
    level: float = -14.0  # LU relative to the speech
    duck: float = 10.0  # dB lower while speech or a sound plays


@dataclass(frozen=True)
class Script:
    path: Path
    title: str
    stages: tuple[Stage, ...]
    version: int = 1
    description: str | None = None
    artist: str | None = None
    album: str | None = None
    language: str = "en"
    voices: dict[str, VoiceProfile] = field(default_factory=dict)
    voice: VoiceRef | None = None
    pace: float = 0.5
    sounds: dict[str, Path] = field(default_factory=dict)
    sound_locs: dict[str, Loc] = field(default_factory=dict)
    announce: str | bool = True  # True: the language's default template
    announce_loc: Loc | None = None
    start_sound: str | None = "chime"
    start_sound_loc: Loc | None = None
    finish_sound: str | None = "bell"
    finish_sound_loc: Loc | None = None
    intro: Speech = ()
    outro: Speech = ()
    music: Music | None = None
    cadence: int | None = None  # steps per minute under every stage
    cadence_level: float = -18.0  # LU relative to the speech
    cadence_sound: str = "tick"
    cover: Path | None = None  # a JPEG or PNG: the session's cover in feeds and its MP3

    @property
    def filename(self) -> str:
        return str(self.path)

    def announce_template(self, stage: Stage) -> str | None:
        """The announcement text template for a stage, or None when off."""
        value = stage.announce if stage.announce is not None else self.announce
        if value is False:
            return None
        if value is True:
            return DEFAULT_ANNOUNCE.get(self.language.split("-")[0].lower(), DEFAULT_ANNOUNCE["en"])
        assert isinstance(value, str)
        return value

    def stage_start_sound(self, stage: Stage) -> str | None:
        return stage.start_sound if stage.start_sound_set else self.start_sound


if TYPE_CHECKING:  # the YAML reader loads only when a script is read
    from voiceguide.yamlsource import Node


def load_script(path: str | Path) -> Script:
    """Read and validate a drill script file; raise ``ScriptError`` on any problem."""
    from voiceguide.yamlsource import MAX_BYTES

    path = Path(path)
    filename = str(path)
    try:
        with path.open("rb") as source:  # bounded: /dev/zero or a FIFO must not fill memory
            data = source.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ScriptError([Problem(filename, 1, 1, "no such file")]) from None
    except IsADirectoryError:
        raise ScriptError([Problem(filename, 1, 1, "is a folder, not a drill script")]) from None
    except OSError as exc:
        raise ScriptError([Problem(filename, 1, 1, f"cannot read: {exc.strerror}")]) from None
    return parse_script(data, path)


def parse_script(data: bytes, path: Path) -> Script:
    from voiceguide.yamlsource import load

    root = load(data, str(path))
    return _Reader(path).script(root)


# ---------------------------------------------------------------------------
# The reader: one method per part of the format, collecting every problem.


def _unprintable(char: str, lines: bool) -> bool:
    """Control characters and lone surrogates: they would reach terminals, tags and chapters."""
    if char == "\t" or (lines and char == "\n"):
        return False
    return unicodedata.category(char) in ("Cc", "Cs")

def _pronounceable(text: str) -> bool:
    """A letter or digit, or a placeholder (which speaks words): something an engine can say;
    zero-width characters, emoji or punctuation alone are not."""
    plain = text.replace("{{", "").replace("}}", "")
    return "{" in plain or any(unicodedata.category(c)[0] in "LN" for c in plain)


_TOP_KEYS = (
    "version", "title", "description", "artist", "album", "language", "voices", "voice",
    "pace", "sounds", "announce", "start_sound", "finish_sound", "intro", "outro", "stages",
    "music", "cadence", "cadence_level", "cadence_sound", "cover",
)
_MUSIC_KEYS = ("files", "level", "duck")
_PROFILE_KEYS = ("engine", "voice", "rate", "volume", "command")
_STAGE_KEYS = (
    "name", "duration", "say", "cues", "countdown", "voice", "announce", "start_sound", "pace",
    "skip_last", "cadence", "music",
)
_BLOCK_KEYS = ("repeat", "name", "stages")
_COUNTDOWN_KEYS = ("count", "sound")
_CUE_KEYS = ("at", "every", "from", "until", "before_end", "say", "sound", "voice")


class _Invalid(Exception):
    """A value was reported as a problem; the caller skips it."""


class _TooMany(Exception):
    """Repeat blocks expand past ``MAX_STAGES``; *node* is the outermost block's repeat."""

    def __init__(self, node: Node) -> None:
        self.node = node


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.filename = str(path)
        self.problems: list[Problem] = []
        self.sound_names: set[str] = set(BUILTIN_SOUNDS)
        self.spoken: set[str] = set()  # the different texts so far, for MAX_SPEECH_CHARS
        self.spoken_chars = 0

    # -- reporting ---------------------------------------------------------

    def problem(self, node: Node, message: str) -> None:
        self.problems.append(Problem(self.filename, node.line, node.column, message))

    def invalid(self, node: Node, message: str) -> _Invalid:
        self.problem(node, message)
        return _Invalid()

    def keys(self, node: Node, allowed: tuple[str, ...], what: str) -> None:
        for key, key_node in node.keys.items():
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; {what} keys are: " + ", ".join(
                allowed
            )
            self.problem(key_node, f"unknown key '{key}' in {_a(what)}{hint}")

    # -- the top level -----------------------------------------------------

    def script(self, root: Node) -> Script:
        if not root.is_mapping:
            kind = "a list" if root.is_list else f"the value {root.value!r}"
            raise ScriptError([Problem(self.filename, root.line, root.column,
                                       f"a drill script is a mapping of keys (title, stages, "
                                       f"...), not {kind}")])
        self.keys(root, _TOP_KEYS, "script")
        top = root.value
        version = self.optional(top, "version", self.version, 1)
        title = self.required(root, "title", self.text)
        language = self.optional(top, "language", self.language, "en")
        sounds, sound_locs = self.optional(top, "sounds", self.sounds, ({}, {}))
        voices = self.optional(top, "voices", self.voices, {})
        script = Script(
            path=self.path,
            version=version,
            title=title or "",
            description=self.optional(top, "description", self.lines, None),
            artist=self.optional(top, "artist", self.text, None),
            album=self.optional(top, "album", self.text, None),
            language=language,
            voices=voices,
            voice=self.optional(top, "voice", self.voice_ref, None),
            pace=self.optional(top, "pace", self.pace, 0.5),
            sounds=sounds,
            sound_locs=sound_locs,
            announce=self.optional(top, "announce", self.announce, True),
            announce_loc=_loc(top.get("announce")),
            start_sound=self.optional(top, "start_sound", self.sound_or_null, "chime"),
            start_sound_loc=_loc(top.get("start_sound")),
            finish_sound=self.optional(top, "finish_sound", self.sound_or_null, "bell"),
            finish_sound_loc=_loc(top.get("finish_sound")),
            intro=self.optional(top, "intro", self.session_speech, ()),
            outro=self.optional(top, "outro", self.session_speech, ()),
            stages=self.required(root, "stages", self.stages) or (),
            music=self.optional(top, "music", self.music, None),
            cadence=self.optional(top, "cadence", self.cadence, None),
            cadence_level=self.optional(top, "cadence_level",
                                        lambda n: self.number(n, "cadence_level", -40, 0), -18.0),
            cadence_sound=self.optional(top, "cadence_sound", self.sound_name, "tick"),
            cover=self.optional(top, "cover", self.cover, None),
        )
        if self.problems:
            raise ScriptError(self.problems)
        return script

    def required(self, parent: Node, key: str, read: Callable[[Node], T]) -> T | None:
        if key not in parent.value:
            self.problem(parent, f"missing required key '{key}'")
            return None
        try:
            return read(parent.value[key])
        except _Invalid:
            return None

    def optional(self, values: dict[str, Node], key: str, read: Callable[[Node], T],
                 default: D) -> T | D:
        if key not in values:
            return default
        try:
            return read(values[key])
        except _Invalid:
            return default

    # -- scalar values -----------------------------------------------------

    def text(self, node: Node, lines: bool = False) -> str:
        """A text as its author wrote it (``1.50`` stays ``1.50``); one line unless *lines*."""
        if isinstance(node.value, bool) or node.value is None or isinstance(
            node.value, list | dict
        ):
            raise self.invalid(node, f"expected text, got {_kind(node)}")
        text = (node.value if isinstance(node.value, str) else node.raw or str(node.value)).strip()
        if not text:
            raise self.invalid(node, "expected text, got an empty value")
        if len(text) > MAX_TEXT_CHARS:
            raise self.invalid(node, f"text of {len(text):,} characters; at most "
                               f"{MAX_TEXT_CHARS:,} per item (split it into a list)")
        bad = next((c for c in text if _unprintable(c, lines)), None)
        if bad is not None:
            what = ("a line break" if bad in "\n\r" else f"the unpaired surrogate U+{ord(bad):04X}"
                    if unicodedata.category(bad) == "Cs"
                    else f"the control character U+{ord(bad):04X}")
            raise self.invalid(node, f"this text contains {what}; write it "
                               + ("without it" if lines or bad not in "\n\r" else "on one line"))
        return text

    def lines(self, node: Node) -> str:
        return self.text(node, lines=True)

    def version(self, node: Node) -> int:
        if node.value != 1 or isinstance(node.value, bool):
            raise self.invalid(node, f"unsupported version {node.value!r}: this voiceguide "
                               "reads drill script version 1")
        return 1

    def language(self, node: Node) -> str:
        text = self.text(node)
        if not is_language_code(text):
            raise self.invalid(node, f"language {text!r} is not a language code such as "
                               "en, de or en-gb")
        return text.replace("_", "-").lower()

    def number(self, node: Node, what: str, low: float, high: float,
               low_open: bool = False) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            raise self.invalid(node, f"{what} must be a number, got {_kind(node)}")
        if value < low or value > high or (low_open and value == low):
            bracket = "(" if low_open else "["
            raise self.invalid(node, f"{what} must be in {bracket}{low:g}, {high:g}], got "
                               f"{value:g}")
        return float(value)

    def pace(self, node: Node) -> float:
        return self.number(node, "pace", 0, 1)

    def duration(self, node: Node) -> int:
        try:
            return parse_duration(node.value)
        except DurationError as exc:
            raise self.invalid(node, str(exc)) from None

    def offset(self, node: Node) -> Offset:
        try:
            return parse_offset(node.value)
        except DurationError as exc:
            raise self.invalid(node, str(exc)) from None

    def announce(self, node: Node) -> str | bool:
        if node.value is False:
            return False
        if node.value is True:
            raise self.invalid(node, "announce is a text such as 'Stage {number}. {name}.' "
                               "or false")
        text = self.text(node)
        self.placeholders(node, text, STAGE_PLACEHOLDERS)
        self.pronounceable(node, text)
        return text

    def pronounceable(self, node: Node, text: str) -> None:
        if not _pronounceable(text):
            raise self.invalid(node, "this text has nothing to pronounce (no letter or digit); "
                               "write words, or use {pause: N} for silence")

    def sound_or_null(self, node: Node) -> str | None:
        if node.value is None:
            return None
        return self.sound_name(node)

    def sound_name(self, node: Node) -> str:
        name = self.text(node)
        if name not in self.sound_names:
            known = sorted(self.sound_names)
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else "; sounds are: " + ", ".join(
                known
            )
            raise self.invalid(node, f"unknown sound '{name}'{hint}")
        return name

    def voice_ref(self, node: Node) -> VoiceRef:
        return VoiceRef(self.text(node), Loc(node.line, node.column))

    def placeholders(self, node: Node, text: str, allowed: frozenset[str]) -> None:
        for match in PLACEHOLDER_RE.finditer(text):
            name = match.group(1)
            if name is None or name in allowed:  # {{ or }}, or a known placeholder
                continue
            if name in STAGE_PLACEHOLDERS:
                self.problem(node, f"{{{name}}} only means something inside a stage")
            else:
                self.problem(node, f"unknown placeholder {{{name}}}; use "
                             + ", ".join(f"{{{p}}}" for p in sorted(allowed)))

    # -- sounds and voices -------------------------------------------------

    def sounds(self, node: Node) -> tuple[dict[str, Path], dict[str, Loc]]:
        if not node.is_mapping:
            raise self.invalid(node, f"sounds is a mapping of name: file, got {_kind(node)}")
        paths: dict[str, Path] = {}
        locs: dict[str, Loc] = {}
        for name, value in node.value.items():
            key = node.keys[name]
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
                self.problem(key, f"sound name '{name}' may use letters, digits, _ . - only")
                continue
            try:
                relative = self.text(value)
            except _Invalid:
                continue
            paths[name] = self.sound_path(value, relative)
            locs[name] = Loc(value.line, value.column)
            self.sound_names.add(name)
        return paths, locs

    def sound_path(self, node: Node, relative: str, what: str = "sound") -> Path:
        """A sound path resolved inside the script's folder (symlinks followed)."""
        folder = self.path.parent.resolve()
        candidate = Path(relative)
        if candidate.is_absolute():
            self.problem(node, f"{what} path '{relative}' is absolute; give a path relative to "
                         "the script's folder")
            return candidate
        try:
            resolved = (folder / candidate).resolve()
        except (RuntimeError, OSError):  # a loop of symbolic links, or a name too long
            self.problem(node, f"{what} path '{relative}' cannot be followed (a loop of "
                         "symbolic links?)")
            return candidate
        if not resolved.is_relative_to(folder):
            self.problem(node, f"{what} path '{relative}' leads outside the script's folder")
        elif not resolved.is_file():
            reason = ("is a folder" if resolved.is_dir() else "is not a regular file"
                      if resolved.exists() else "does not exist")
            self.problem(node, f"{what} file '{relative}' {reason}")
        return resolved

    def cover(self, node: Node) -> Path:
        """A JPEG or PNG file in the script's folder (told by its first bytes)."""
        path = self.sound_path(node, self.text(node), "cover")
        with contextlib.suppress(OSError):
            if path.is_file() and path.is_relative_to(self.path.parent.resolve()):
                with path.open("rb") as image:
                    head = image.read(8)
                if not (head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff")):
                    self.problem(node, f"cover '{node.value}' is not a JPEG or PNG image")
        return path

    def voices(self, node: Node) -> dict[str, VoiceProfile]:
        if not node.is_mapping:
            raise self.invalid(node, f"voices is a mapping of name: profile, got {_kind(node)}")
        profiles: dict[str, VoiceProfile] = {}
        for name, value in node.value.items():
            with contextlib.suppress(_Invalid):
                profiles[name] = self.profile(name, value)
        return profiles

    def profile(self, name: str, node: Node) -> VoiceProfile:
        if not node.is_mapping:
            raise self.invalid(node, f"voice profile '{name}' is a mapping such as "
                               "{voice: gmw/en-us, rate: 160}")
        self.keys(node, _PROFILE_KEYS, "voice profile")
        values = node.value
        engine = self.optional(values, "engine", self.engine, engines.DEFAULT)
        command: tuple[str, ...] = self.optional(values, "command", self.command, ())
        if engine == "command" and not command:
            self.problem(node, f"voice profile '{name}' uses the command engine: give its "
                         "'command' as a list, e.g. [piper, --model, M, --output_file, "
                         "'{output}']")
        elif command and engine != "command":
            self.problem(values["command"], "'command' is only for profiles with "
                         "engine: command")
        return VoiceProfile(
            name=name,
            engine=engine,
            voice=self.optional(values, "voice", self.text, None),
            rate=self.optional(values, "rate", self.rate, None),
            volume=self.optional(values, "volume",
                                 lambda n: self.number(n, "volume", 0, 1, low_open=True), 1.0),
            command=command,
            loc=Loc(node.line, node.column),
            voice_loc=_loc(values.get("voice")),
        )

    def engine(self, node: Node) -> str:
        name = self.text(node)
        if name not in ENGINES:
            close = difflib.get_close_matches(name, ENGINES, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else "engines are: " + ", ".join(
                ENGINES)
            raise self.invalid(node, f"unknown engine '{name}'; {hint}")
        return name

    def rate(self, node: Node) -> float:
        return self.number(node, "rate (words per minute)", 0, MAX_RATE, low_open=True)

    def command(self, node: Node) -> tuple[str, ...]:
        if not node.is_list or not node.value:
            raise self.invalid(node, "command is a list: the program, then its arguments")
        return tuple(self.text(item) for item in node.value)

    # -- speech --------------------------------------------------------------

    def session_speech(self, node: Node) -> Speech:
        return self.speech(node, SESSION_PLACEHOLDERS)

    def stage_speech(self, node: Node) -> Speech:
        return self.speech(node, STAGE_PLACEHOLDERS)

    def speech(self, node: Node, allowed: frozenset[str]) -> Speech:
        items = node.value if node.is_list else [node]
        if node.is_list and not items:
            raise self.invalid(node, "speech is a text or a list of texts and {pause: N}; "
                               "got an empty list")
        speech: list[SpeechItem] = []
        for item in items:
            try:
                speech.append(self.speech_item(item, allowed))
            except _Invalid:
                continue
        return tuple(speech)

    def speech_item(self, node: Node, allowed: frozenset[str]) -> SpeechItem:
        if node.is_mapping:
            self.keys(node, ("pause",), "speech item")
            if "pause" not in node.value:
                raise self.invalid(node, "a speech item is a text or {pause: DURATION}")
            return Pause(self.duration(node.value["pause"]), Loc(node.line, node.column))
        if node.is_list:
            raise self.invalid(node, "a speech item is a text or {pause: DURATION}, not a list")
        text = self.lines(node)
        self.placeholders(node, text, allowed)
        self.pronounceable(node, text)
        if text not in self.spoken:
            self.spoken.add(text)
            self.spoken_chars += len(text)
            if self.spoken_chars > MAX_SPEECH_CHARS >= self.spoken_chars - len(text):
                self.problem(node, f"the script's texts add up to more than "
                             f"{MAX_SPEECH_CHARS:,} characters here (hours of speech); "
                             "split it into several scripts")
        return Text(text, Loc(node.line, node.column))

    # -- stages and cues -----------------------------------------------------

    def stages(self, node: Node) -> tuple[Stage, ...]:
        if not node.is_list:
            raise self.invalid(node, f"stages is a list of stages, got {_kind(node)}")
        if not node.value:
            raise self.invalid(node, "stages is empty: a drill script needs at least one stage")
        try:
            stages = self.items(node.value, None)
        except _TooMany as many:
            raise self.invalid(many.node, f"the stages expand to more than {MAX_STAGES:,}; "
                               "a session has at most that many: fewer rounds?") from None
        return tuple(replace(s, number=n) for n, s in enumerate(stages, start=1))

    def items(self, nodes: list[Node], outer: Node | None) -> list[Stage]:
        """Stages and repeat blocks, blocks expanded in place; *outer*: the outermost block."""
        found: list[Stage] = []
        for item in nodes:
            try:
                if item.is_mapping and "repeat" in item.value:
                    found += self.block(item, outer)
                else:
                    found.append(self.stage(item, outer))
            except _Invalid:
                continue
            if len(found) > MAX_STAGES:
                raise _TooMany(outer.value["repeat"] if outer else item)
        return found

    def block(self, node: Node, outer: Node | None) -> list[Stage]:
        """A repeat block: its items read once (so problems are reported once), then repeated."""
        self.keys(node, _BLOCK_KEYS, "repeat block")
        values = node.value
        outer = outer or node
        repeat = self.rounds(values["repeat"])
        name = self.optional(values, "name", self.text, None)
        if "stages" not in values:
            raise self.invalid(node, "a repeat block needs 'stages': the stages of one round")
        body = values["stages"]
        if not body.is_list or not body.value:
            raise self.invalid(body, "a repeat block's stages is a list of at least one stage")
        parts: list[Stage | list[Stage]] = []
        for item in body.value:
            try:
                if item.is_mapping and "repeat" in item.value:
                    parts.append(self.block(item, outer))
                else:
                    parts.append(self.stage(item, outer, in_block=True))
            except _Invalid:
                continue
        if repeat is None:
            raise _Invalid()
        where = Loc(outer.value["repeat"].line, outer.value["repeat"].column)
        expanded: list[Stage] = []
        for round_ in range(1, repeat + 1):
            for part in parts:
                if isinstance(part, list):
                    expanded += part
                elif not (part.skip_last and round_ == repeat):
                    expanded.append(replace(part, round=round_, rounds=repeat, block=name,
                                            block_loc=where))
            if len(expanded) > MAX_STAGES:
                raise _TooMany(outer.value["repeat"])
        if parts and not expanded:
            raise self.invalid(values["repeat"], "this block expands to no stage: every stage "
                               "is skip_last and it repeats once")
        return expanded

    def music(self, node: Node) -> Music:
        if not node.is_mapping:
            raise self.invalid(node, "music is a mapping such as {files: [music/easy.mp3], "
                               f"level: -14, duck: 10}}, got {_kind(node)}")
        self.keys(node, _MUSIC_KEYS, "music bed")
        values = node.value
        if "files" not in values:
            raise self.invalid(node, "music needs 'files': the music files, in order")
        listed = values["files"]
        items = listed.value if listed.is_list else [listed]
        if not items:
            raise self.invalid(listed, "music files is a list of at least one file")
        files = []
        for item in items:
            with contextlib.suppress(_Invalid):
                files.append(self.music_file(item))
        level = self.optional(values, "level", lambda n: self.number(n, "music level", -40, 0),
                              -14.0)
        duck = self.optional(values, "duck", lambda n: self.number(n, "duck", 0, 40), 10.0)
        return Music(tuple(files), level, duck)

    def music_file(self, node: Node) -> MusicFile:
        name = self.text(node)
        loc = Loc(node.line, node.column)
        if name in BUILTIN_MUSIC and not (self.path.parent / name).exists():
            return MusicFile(name, builtins.music_path(name), loc)
        return MusicFile(name, self.sound_path(node, name, what="music"), loc)

    def cadence(self, node: Node) -> int:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int) \
                or not MIN_CADENCE <= value <= MAX_CADENCE:
            raise self.invalid(node, f"cadence is steps per minute, a whole number "
                               f"{MIN_CADENCE}..{MAX_CADENCE}, got {_kind(node)}")
        return value

    def stage_cadence(self, node: Node) -> int | bool:
        return False if node.value is False else self.cadence(node)

    def music_switch(self, node: Node) -> bool:
        if not isinstance(node.value, bool):
            raise self.invalid(node, f"a stage's music is true or false (none under it), got "
                               f"{_kind(node)}")
        return node.value

    def rounds(self, node: Node) -> int | None:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int) \
                or not 1 <= value <= MAX_ROUNDS:
            self.problem(node, f"repeat is a whole number of rounds 1..{MAX_ROUNDS}, got "
                         f"{_kind(node)}")
            return None
        return value

    def skip_last(self, node: Node) -> bool:
        if not isinstance(node.value, bool):
            raise self.invalid(node, f"skip_last is true or false, got {_kind(node)}")
        return node.value

    def stage(self, node: Node, outer: Node | None = None, in_block: bool = False) -> Stage:
        if not node.is_mapping:
            raise self.invalid(node, "a stage is a mapping with at least 'name' and "
                               f"'duration', got {_kind(node)}")
        self.keys(node, _STAGE_KEYS, "stage")
        if "skip_last" in node.value and not in_block:
            self.problem(node.keys["skip_last"], "skip_last is only for stages inside a repeat "
                         "block")
        values = node.value
        # every key is read, and its problems reported, before a stage without a usable
        # name or duration is given up
        name = self.required(node, "name", self.text)
        duration = self.required(node, "duration", self.range)
        cues_node = values.get("cues")
        count, countdown_sound = self.optional(values, "countdown", self.countdown, (0, None))
        fields = dict(
            say=self.optional(values, "say", self.stage_speech, ()),
            cues=self.cues(cues_node) if cues_node is not None else (),
            countdown=count,
            countdown_sound=countdown_sound,
            skip_last=in_block and self.optional(values, "skip_last", self.skip_last, False),
            cadence=self.optional(values, "cadence", self.stage_cadence, None),
            music=self.optional(values, "music", self.music_switch, True),
            in_block=in_block,
            voice=self.optional(values, "voice", self.voice_ref, None),
            announce=self.optional(values, "announce", self.announce, None),
            announce_loc=_loc(values.get("announce")),
            start_sound=self.optional(values, "start_sound", self.sound_or_null, None),
            start_sound_set="start_sound" in values,
            start_sound_loc=_loc(values.get("start_sound")),
            pace=self.optional(values, "pace", self.pace, None),
        )
        if name is None or duration is None:
            raise _Invalid()
        return Stage(number=0,  # numbered once every block is expanded
                     name=name, duration=duration, loc=Loc(node.line, node.column),
                     duration_loc=Loc(values["duration"].line, values["duration"].column),
                     **fields)  # type: ignore[arg-type]

    def range(self, node: Node) -> tuple[int, int]:
        try:
            return parse_range(node.plain())
        except DurationError as exc:
            raise self.invalid(node, str(exc)) from None

    def countdown(self, node: Node) -> tuple[int, str | None]:
        """``N``, or ``{count: N, sound: NAME}``: the count and the sound played instead."""
        if node.is_mapping:
            self.keys(node, _COUNTDOWN_KEYS, "countdown")
            if "count" not in node.value:
                raise self.invalid(node, "a countdown mapping needs 'count', e.g. "
                                   "{count: 3, sound: tick}")
            count, _ = self.countdown(node.value["count"])
            return count, self.optional(node.value, "sound", self.sound_name, None)
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise self.invalid(node, "countdown must be a whole number 0..10 or "
                               f"{{count: N, sound: NAME}}, got {_kind(node)}")
        if not 0 <= node.value <= 10:
            raise self.invalid(node, f"countdown must be 0..10, got {node.value}")
        return node.value, None

    def cues(self, node: Node) -> tuple[Cue, ...]:
        if not node.is_list:
            self.problem(node, f"cues is a list of cues, got {_kind(node)}")
            return ()
        cues = []
        for number, item in enumerate(node.value, start=1):
            try:
                cues.append(self.cue(number, item))
            except _Invalid:
                continue
        return tuple(cues)

    def cue(self, number: int, node: Node) -> Cue:
        if not node.is_mapping:
            raise self.invalid(node, "a cue is a mapping such as {at: 0:40, say: ...}")
        self.keys(node, _CUE_KEYS, "cue")
        values = node.value
        when = [k for k in ("at", "every", "before_end") if k in values]
        if len(when) != 1:
            found = " and ".join(f"'{k}'" for k in when) if when else "none"
            raise self.invalid(node, f"a cue needs exactly one of 'at', 'every', 'before_end' "
                               f"(found {found})")
        kind = when[0]
        if kind != "every":
            for key in ("from", "until"):
                if key in values:
                    self.problem(node.keys[key], f"'{key}' goes only with 'every'")
        if "say" not in values and "sound" not in values:
            raise self.invalid(node, "a cue needs 'say', 'sound' or both")
        get = lambda key, read: self.optional(values, key, read, None)  # noqa: E731
        cue = Cue(
            kind=kind,  # type: ignore[arg-type]
            loc=Loc(node.line, node.column),
            number=number,
            at=get("at", self.offset),
            every_ms=get("every", self.duration),
            start=get("from", self.offset),
            until=get("until", self.offset),
            before_end_ms=get("before_end", self.duration),
            say=self.optional(values, "say", self.stage_speech, ()),
            sound=get("sound", self.sound_name),
            sound_loc=_loc(values.get("sound")),
            voice=get("voice", self.voice_ref),
        )
        if getattr(cue, {"at": "at", "every": "every_ms", "before_end": "before_end_ms"}[kind]) \
                is None:
            raise _Invalid()
        return cue


def _loc(node: Node | None) -> Loc | None:
    return Loc(node.line, node.column) if node is not None else None


def _kind(node: Node) -> str:
    value = node.value
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):
        return f"'{value}'"
    return f"{value!r}"


def _a(what: str) -> str:
    return ("an " if what[0] in "aeiou" else "a ") + what
