"""Every key of every part of a drill script, once: its name, its line of documentation
and the shape of its value.

The reader accepts these keys and no others (``reader.py``, ``values.py``); the JSON
Schema is made from them (``schema.py``: each key's shape, and its line as the
description editors show on hover); the docs test checks docs/drill-scripts.md gives
every key exactly this line, in its part's table. Limits and defaults are
``model.py``'s, read here and by the reader alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceguide import builtins, engines
from voiceguide.script import model
from voiceguide.words import LANGUAGE_PATTERN


@dataclass(frozen=True)
class Key:
    name: str
    doc: str  # one line, Markdown: what the key is, its limits and default
    shape: dict[str, Any]  # the JSON Schema of its value


def names(keys: tuple[Key, ...]) -> tuple[str, ...]:
    return tuple(key.name for key in keys)


# The shapes values share
DURATION: dict[str, Any] = {"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                                      {"type": "string", "minLength": 1}]}
RANGE: dict[str, Any] = {"anyOf": [DURATION, {"type": "array", "items": DURATION,
                                              "minItems": 2, "maxItems": 2}]}
OFFSET: dict[str, Any] = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}]}
TEXT: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": model.MAX_TEXT_CHARS}
SOUND: dict[str, Any] = {"type": "string", "minLength": 1,
                         "examples": list(builtins.SOUNDS)}
SOUND_OR_NULL: dict[str, Any] = {"anyOf": [SOUND, {"type": "null"}]}
SPEECH: dict[str, Any] = {"anyOf": [TEXT, {"type": "array", "minItems": 1, "items": {"anyOf": [
    TEXT, {"type": "object", "properties": {"pause": DURATION}, "required": ["pause"],
           "additionalProperties": False}]}}]}
LEVEL: dict[str, Any] = {"type": "number", "minimum": model.MIN_LEVEL, "maximum": model.MAX_LEVEL}
CADENCE: dict[str, Any] = {"type": "integer", "minimum": model.MIN_CADENCE,
                           "maximum": model.MAX_CADENCE}
COUNT: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": model.MAX_COUNTDOWN}

TOP = (
    Key('version',
        'format version; optional, and when present it must be `1`',
        {"const": 1}),
    Key('title',
        "**required**; the session's title: the MP3 title tag and the plan's title",
        TEXT),
    Key('description',
        'optional; the MP3 comment tag',
        TEXT),
    Key('artist',
        "optional; the MP3's artist tag (default `voiceguide`)",
        TEXT),
    Key('album',
        "optional; the MP3's album tag (default: the title)",
        TEXT),
    Key('language',
        'the language of the spoken text (default `en`); picks the default voice',
        {"type": "string", "pattern": f"^{LANGUAGE_PATTERN}$"}),
    Key('voices',
        'named voice profiles (see below), e.g. `coach`, `counter`',
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/profile"}}),
    Key('voice',
        'default voice for all speech: a profile name from `voices`, or an engine voice id',
        TEXT),
    Key('pace',
        'a number from 0 to 1 (default 0.5): where every duration range resolves',
        {"type": "number", "minimum": 0, "maximum": 1}),
    Key('sounds',
        'extra named sounds: name → file path (WAV, FLAC, OGG or MP3), relative to the '
        "script's folder and inside it",
        {"type": "object", "additionalProperties": TEXT}),
    Key('announce',
        'text spoken at the start of each stage (default `Stage {number}. {name}.`), or '
        '`false` for none',
        {"anyOf": [TEXT, {"const": False}]}),
    Key('start_sound',
        'sound played at the start of each stage (default `chime`); `null` for none',
        SOUND_OR_NULL),
    Key('finish_sound',
        'sound played when the last stage ends (default `bell`); `null` for none',
        SOUND_OR_NULL),
    Key('intro',
        'speech before the first stage',
        SPEECH),
    Key('outro',
        'speech after the finish sound',
        SPEECH),
    Key('stages',
        '**required**; the list of stages and repeat blocks, at least one',
        {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}}),
    Key('music',
        'a music bed under the stages: `{files: [...], level: -14, duck: 10}` (see "Music and'
        ' cadence")',
        {"$ref": "#/$defs/music"}),
    Key('cadence',
        'steps per minute, 100 to 220: a metronome tick under every stage',
        CADENCE),
    Key('cadence_level',
        "the ticks' level in LU below the speech, -40 to 0 (default -18)",
        LEVEL),
    Key('cadence_sound',
        'the tick: any sound name (default `tick`)',
        SOUND),
    Key('sport',
        f"the watch workout's sport: {', '.join(f'`{x}`' for x in model.SPORTS)} "
        f"(default `{model.SPORT}`)",
        {"enum": list(model.SPORTS)}),
    Key('cover',
        "optional; a square JPEG or PNG (path relative to the script's folder, inside it): "
        "the session's cover, embedded in its MP3 and shown by podcast apps; without it "
        "`publish` uses the feed's cover",
        TEXT),
)
TOP_KEYS = names(TOP)

MUSIC = (
    Key('files',
        "**required**; the music: files in the script's folder, or `soft_loop`, played in "
        'order and looped; one or a list',
        {"anyOf": [TEXT, {"type": "array", "minItems": 1, "items": TEXT}]}),
    Key('level',
        'LU below the speech, -40 to 0 (default -14)',
        LEVEL),
    Key('duck',
        'dB lower while anything is said or played, 0 to 40 (default 10)',
        {"type": "number", "minimum": 0, "maximum": model.MAX_DUCK}),
)
MUSIC_KEYS = names(MUSIC)

PROFILE = (
    Key('engine',
        'which speech engine speaks it (default `pyttsx3`; `hibari` is the natural voice, see'
        ' [voices.md](voices.md))',
        {"enum": list(engines.ALL)}),
    Key('voice',
        "the engine's voice id, as `voiceguide voices` lists them (e.g. `gmw/en-us`, "
        '`gmw/en-gb-x-rp`, or a variant such as `gmw/en-us+f3`)',
        TEXT),
    Key('rate',
        'speaking rate in words per minute',
        {"type": "number", "exclusiveMinimum": 0, "maximum": model.MAX_RATE}),
    Key('volume',
        'relative level of this voice, above 0 and at most 1',
        {"type": "number", "exclusiveMinimum": 0, "maximum": 1}),
    Key('command',
        'with `engine: command`: the program and its arguments, a list (see "Extensions '
        'beyond format version 1")',
        {"type": "array", "minItems": 1, "items": {"type": "string"}}),
)
PROFILE_KEYS = names(PROFILE)

STAGE = (
    Key('name',
        '**required**; announced, and used as the chapter title `Stage N: NAME`',
        TEXT),
    Key('duration',
        '**required**; how long the stage lasts, exactly: a duration or a range',
        RANGE),
    Key('say',
        'speech spoken right after the start sound and the announcement',
        SPEECH),
    Key('cues',
        'a list of cues spoken or played during the stage',
        {"type": "array", "items": {"$ref": "#/$defs/cue"}}),
    Key('countdown',
        '0 to 10 (default 0): speak N, N−1 … 1, one number per second, ending as the stage ends',
        {"anyOf": [COUNT, {"$ref": "#/$defs/countdown"}]}),
    Key('voice',
        'the default voice inside this stage (announcement, `say`, cues)',
        TEXT),
    Key('announce',
        'overrides the top-level `announce` for this stage (a text, or `false`)',
        {"anyOf": [TEXT, {"const": False}]}),
    Key('start_sound',
        'overrides the top-level `start_sound` for this stage (a sound name, or `null`)',
        SOUND_OR_NULL),
    Key('pace',
        "a number from 0 to 1: this stage's own pace; the command line's `--pace` or "
        '`--length` overrides it',
        {"type": "number", "minimum": 0, "maximum": 1}),
    Key('skip_last',
        "inside a repeat block only: `true` leaves the stage out of the block's last round",
        {"type": "boolean"}),
    Key('cadence',
        "this stage's steps per minute (100 to 220), or `false` for no tick",
        {"anyOf": [CADENCE, {"const": False}]}),
    Key('music',
        '`false`: no music under this stage',
        {"type": "boolean"}),
    Key('open',
        '`true`: the runner ends the stage (the page waits, the watch waits for the lap '
        'button); its `duration` is the longest it lasts; no countdown, `before_end` or '
        '`{remaining}`',
        {"type": "boolean"}),
    Key('target',
        'what the runner aims for, one kind: `{pace: "4:30..4:50/km"}` (or `/mi`), '
        '`{heart_rate: 140..155}`, `{zone: 2}` or `{cadence: 170..180}`; spoken by '
        '`{target}`',
        {"$ref": "#/$defs/target"}),
    Key('intensity',
        f"what the stage is for, on the watch: {', '.join(f'`{x}`' for x in model.INTENSITIES)}"
        f" (default `{model.INTENSITY}`)",
        {"enum": list(model.INTENSITIES)}),
)
STAGE_KEYS = names(STAGE)

TARGET = (
    Key('pace',
        'a pace or a range per km or mile, `4:30..4:50/km` or `7:30/mi`: 2:00..20:00 per km',
        {"type": "string", "minLength": 1}),
    Key('heart_rate',
        f'beats per minute, a number or a range `140..155`: {model.MIN_HEART_RATE}..'
        f'{model.MAX_HEART_RATE}',
        {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
    Key('zone',
        f'a heart-rate zone, {model.MIN_ZONE} to {model.MAX_ZONE}',
        {"type": "integer", "minimum": model.MIN_ZONE, "maximum": model.MAX_ZONE}),
    Key('cadence',
        f'steps per minute, a number or a range `170..180`: {model.MIN_CADENCE}..'
        f'{model.MAX_CADENCE}',
        {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
)
TARGET_KEYS = names(TARGET)

BLOCK = (
    Key('repeat',
        '**required**; the rounds: a whole number 1 to 100',
        {"type": "integer", "minimum": 1, "maximum": model.MAX_ROUNDS}),
    Key('name',
        "optional; the block's name: shown in the plan, never announced",
        TEXT),
    Key('stages',
        '**required**; the stages (and nested repeat blocks) of one round',
        {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}}),
)
BLOCK_KEYS = names(BLOCK)

COUNTDOWN = (
    Key('count',
        '**required**; 0 to 10: the numbers counted, one per second',
        COUNT),
    Key('sound',
        'a sound played on each count instead of speaking the numbers',
        SOUND),
)
COUNTDOWN_KEYS = names(COUNTDOWN)

CUE = (
    Key('at',
        'once, this offset after the stage starts (`0:40`, or `50%` for half the stage)',
        OFFSET),
    Key('every',
        'repeatedly, every this long',
        DURATION),
    Key('from',
        'with `every` only: the first occurrence (default: one interval in)',
        OFFSET),
    Key('until',
        'with `every` only: no occurrence after this offset (default: the stage end)',
        OFFSET),
    Key('before_end',
        'once, this long before the stage ends',
        DURATION),
    Key('say',
        'the speech of the cue',
        SPEECH),
    Key('sound',
        'a sound to play; with `say` as well, the sound comes first',
        SOUND),
    Key('voice',
        'the voice for this cue',
        TEXT),
)
CUE_KEYS = names(CUE)

# A programme (spec 17): sessions strung into weeks
PROGRAMME = (
    Key('programme',
        '**required**; marks the file as a programme: format `1`',
        {"const": 1}),
    Key('title',
        "**required**; the programme's title: the feed's title unless `--title` gives one",
        TEXT),
    Key('author',
        "optional; the coach: the feed's author unless `--author` gives one",
        TEXT),
    Key('description',
        "optional; what the programme is for: the feed's description",
        TEXT),
    Key('weeks',
        f'**required**; the weeks in order, at most {model.MAX_WEEKS}, each '
        '`{sessions: [...]}`; at most '
        f'{model.MAX_PROGRAMME_SESSIONS:,} sessions in all',
        {"type": "array", "minItems": 1, "maxItems": model.MAX_WEEKS,
         "items": {"$ref": "#/$defs/week"}}),
)
PROGRAMME_KEYS = names(PROGRAMME)

WEEK = (
    Key('sessions',
        "**required**; the week's sessions in order: each a script's path (relative to the "
        'programme, in its folder or below) or a mapping with `script`',
        {"type": "array", "minItems": 1, "items": {"anyOf": [
            TEXT, {"$ref": "#/$defs/entry"}]}}),
)
WEEK_KEYS = names(WEEK)

ENTRY = (
    Key('script',
        "**required**; the drill script's path, relative to the programme's folder and "
        'inside it',
        TEXT),
    Key('title',
        "optional; the session's title in this programme (default: the script's)",
        TEXT),
    Key('pace',
        'a number from 0 to 1: as `--pace`, for this session',
        {"type": "number", "minimum": 0, "maximum": 1}),
    Key('length',
        'a duration such as `25m`: as `--length`, for this session (not with `pace`)',
        DURATION),
    Key('voice',
        'an engine voice id or a profile name, or `NAME=ID`: as `--voice`, for this session',
        TEXT),
    Key('rate',
        'words per minute, or `NAME=WPM`: as `--rate`, for this session',
        {"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": model.MAX_RATE},
                   TEXT]}),
    Key('speed',
        f'{model.MIN_SPEED:g} to {model.MAX_SPEED:g}: as `--speed`, for this session',
        {"type": "number", "minimum": model.MIN_SPEED, "maximum": model.MAX_SPEED}),
)
ENTRY_KEYS = names(ENTRY)
