"""A drill script as the rest of voiceguide sees it: frozen dataclasses, and the
format's limits and placeholders (read from YAML by ``reader.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from voiceguide import builtins, engines
from voiceguide.durations import Offset, clock
from voiceguide.words import BY_LANGUAGE, stage_title

T = TypeVar("T")
D = TypeVar("D")

BUILTIN_SOUNDS = frozenset(builtins.SOUNDS)
BUILTIN_MUSIC = frozenset(builtins.MUSIC)
MIN_CADENCE, MAX_CADENCE = 100, 220  # steps per minute
MIN_LEVEL, MAX_LEVEL = -40, 0  # LU below the speech: a music bed's and the ticks' level
MAX_DUCK = 40  # dB
MAX_COUNTDOWN = 10
# the defaults, used by the model and the reader alike
PACE, START_SOUND, FINISH_SOUND, CADENCE_SOUND = 0.5, "chime", "bell", "tick"
MUSIC_LEVEL, DUCK, CADENCE_LEVEL = -14.0, 10.0, -18.0
PLACEHOLDERS = ("number", "name", "stages", "duration", "round", "rounds", "next", "remaining",
                "elapsed", "total", "target")
STAGE_PLACEHOLDERS = frozenset(PLACEHOLDERS)
SESSION_PLACEHOLDERS = frozenset({"stages", "total"})
# where a session sits in a programme (spec 17): speakable in its scripts, and only there
PROGRAMME_PLACEHOLDERS = ("week", "weeks", "session", "sessions")
MAX_WEEKS = 100  # in a programme
MAX_PROGRAMME_SESSIONS = 1000
MIN_SPEED, MAX_SPEED = 0.25, 4.0  # what --speed (and a programme entry's speed) may be
MAX_STAGES = 1000  # after repeat blocks are expanded
MAX_ROUNDS = 100
# The default announcement: the chapters' word for a stage where voiceguide has the
# language's words (words.py), and a few languages more
DEFAULT_ANNOUNCE = {
    **{language: f"{said.stage} {{number}}. {{name}}." for language, said in BY_LANGUAGE.items()},
    "it": "Fase {number}. {name}.",
    "nl": "Fase {number}. {name}.",
}
# Targets (spec 19): one kind a stage, its bounds, and the unit the plan gives it in
TARGET_KINDS = ("pace", "heart_rate", "zone", "cadence")
TARGET_UNITS = {"pace": "s/km", "heart_rate": "bpm", "zone": "zone", "cadence": "spm"}
MIN_PACE_S, MAX_PACE_S = 120, 1200  # per km: 2:00..20:00
MIN_HEART_RATE, MAX_HEART_RATE = 40, 230
MIN_ZONE, MAX_ZONE = 1, 5
# What a stage is for (spec 20): the FIT workout step's intensity; the session's sport
INTENSITIES = ("warmup", "active", "rest", "recovery", "cooldown")
INTENSITY = "active"
SPORTS = ("running", "walking", "cycling", "training")
SPORT = "running"
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
    repeat_loc: Loc | None = None  # the innermost block's `repeat`: the watch's repeat step
    open: bool = False  # the runner ends it (spec 18); its duration is the longest it lasts
    target: Target | None = None
    intensity: str = INTENSITY

    def title(self, language: str) -> str:
        """The chapter title: ``Stage N: NAME`` in *language*, with ``(R/T)`` in a block."""
        return stage_title(language, self.number, self.name,
                           (self.round, self.rounds) if self.in_block else None)


@dataclass(frozen=True)
class Target:
    """What the runner aims for in a stage: *low* to *high* in *kind*'s unit (pace in
    seconds per km, however the script wrote it; heart rate, zone or steps a minute).
    *per_mile*: the script gave the pace per mile, as it is spoken."""

    kind: Literal["pace", "heart_rate", "zone", "cadence"]
    low: float
    high: float
    per_mile: bool = False

    @property
    def unit(self) -> str:
        return TARGET_UNITS[self.kind]

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "low": self.low, "high": self.high, "unit": self.unit}


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
    level: float = MUSIC_LEVEL  # LU relative to the speech
    duck: float = DUCK  # dB lower while speech or a sound plays


@dataclass(frozen=True)
class Place:
    """Where a session sits in its programme: what ``{week}`` and its kin speak."""

    week: int
    weeks: int
    session: int  # its number in the week
    sessions: int  # the week's count

    def values(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in PROGRAMME_PLACEHOLDERS}


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
    pace: float = PACE
    sounds: dict[str, Path] = field(default_factory=dict)
    sound_locs: dict[str, Loc] = field(default_factory=dict)
    announce: str | bool = True  # True: the language's default template
    announce_loc: Loc | None = None
    start_sound: str | None = START_SOUND
    start_sound_loc: Loc | None = None
    finish_sound: str | None = FINISH_SOUND
    finish_sound_loc: Loc | None = None
    intro: Speech = ()
    outro: Speech = ()
    music: Music | None = None
    cadence: int | None = None  # steps per minute under every stage
    cadence_level: float = CADENCE_LEVEL  # LU relative to the speech
    cadence_sound: str = CADENCE_SOUND
    cover: Path | None = None  # a JPEG or PNG: the session's cover in feeds and its MP3
    cover_loc: Loc | None = None
    place: Place | None = None  # in a programme: its week and session there
    sport: str = SPORT  # the watch twin's sport

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
