"""Every key of every part of a drill script, with its line of documentation, once.

The reader accepts these keys and no others (``reader.py``, ``values.py``); the JSON
Schema lists them with their line as the description editors show on hover
(``schema.py``); the docs test checks docs/drill-scripts.md gives every key exactly
this line, in its part's table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    name: str
    doc: str  # one line, Markdown: what the key is, its limits and default


def names(keys: tuple[Key, ...]) -> tuple[str, ...]:
    return tuple(key.name for key in keys)


TOP = (
    Key('version', 'format version; optional, and when present it must be `1`'),
    Key('title', "**required**; the session's title: the MP3 title tag and the plan's title"),
    Key('description', 'optional; the MP3 comment tag'),
    Key('artist', "optional; the MP3's artist tag (default `voiceguide`)"),
    Key('album', "optional; the MP3's album tag (default: the title)"),
    Key('language', 'the language of the spoken text (default `en`); picks the default voice'),
    Key('voices', 'named voice profiles (see below), e.g. `coach`, `counter`'),
    Key('voice',
        'default voice for all speech: a profile name from `voices`, or an engine voice id'),
    Key('pace', 'a number from 0 to 1 (default 0.5): where every duration range resolves'),
    Key('sounds',
        'extra named sounds: name → file path (WAV, FLAC, OGG or MP3), relative to the '
        "script's folder and inside it"),
    Key('announce',
        'text spoken at the start of each stage (default `Stage {number}. {name}.`), or '
        '`false` for none'),
    Key('start_sound',
        'sound played at the start of each stage (default `chime`); `null` for none'),
    Key('finish_sound', 'sound played when the last stage ends (default `bell`); `null` for none'),
    Key('intro', 'speech before the first stage'),
    Key('outro', 'speech after the finish sound'),
    Key('stages', '**required**; the list of stages and repeat blocks, at least one'),
    Key('music',
        'a music bed under the stages: `{files: [...], level: -14, duck: 10}` (see "Music and'
        ' cadence")'),
    Key('cadence', 'steps per minute, 100 to 220: a metronome tick under every stage'),
    Key('cadence_level', "the ticks' level in LU below the speech, -40 to 0 (default -18)"),
    Key('cadence_sound', 'the tick: any sound name (default `tick`)'),
    Key('cover',
        "optional; a square JPEG or PNG (path relative to the script's folder, inside it): "
        "the session's cover, embedded in its MP3 and shown by podcast apps; without it "
        "`publish` uses the feed's cover"),
)
TOP_KEYS = names(TOP)

MUSIC = (
    Key('files',
        "**required**; the music: files in the script's folder, or `soft_loop`, played in "
        'order and looped; one or a list'),
    Key('level', 'LU below the speech, -40 to 0 (default -14)'),
    Key('duck', 'dB lower while anything is said or played, 0 to 40 (default 10)'),
)
MUSIC_KEYS = names(MUSIC)

PROFILE = (
    Key('engine',
        'which speech engine speaks it (default `pyttsx3`; `hibari` is the natural voice, see'
        ' [voices.md](voices.md))'),
    Key('voice',
        "the engine's voice id, as `voiceguide voices` lists them (e.g. `gmw/en-us`, "
        '`gmw/en-gb-x-rp`, or a variant such as `gmw/en-us+f3`)'),
    Key('rate', 'speaking rate in words per minute'),
    Key('volume', 'relative level of this voice, above 0 and at most 1'),
    Key('command',
        'with `engine: command`: the program and its arguments, a list (see "Extensions '
        'beyond format version 1")'),
)
PROFILE_KEYS = names(PROFILE)

STAGE = (
    Key('name', '**required**; announced, and used as the chapter title `Stage N: NAME`'),
    Key('duration', '**required**; how long the stage lasts, exactly: a duration or a range'),
    Key('say', 'speech spoken right after the start sound and the announcement'),
    Key('cues', 'a list of cues spoken or played during the stage'),
    Key('countdown',
        '0 to 10 (default 0): speak N, N−1 … 1, one number per second, ending as the stage ends'),
    Key('voice', 'the default voice inside this stage (announcement, `say`, cues)'),
    Key('announce', 'overrides the top-level `announce` for this stage (a text, or `false`)'),
    Key('start_sound',
        'overrides the top-level `start_sound` for this stage (a sound name, or `null`)'),
    Key('pace',
        "a number from 0 to 1: this stage's own pace; the command line's `--pace` or "
        '`--length` overrides it'),
    Key('skip_last',
        "inside a repeat block only: `true` leaves the stage out of the block's last round"),
    Key('cadence', "this stage's steps per minute (100 to 220), or `false` for no tick"),
    Key('music', '`false`: no music under this stage'),
)
STAGE_KEYS = names(STAGE)

BLOCK = (
    Key('repeat', '**required**; the rounds: a whole number 1 to 100'),
    Key('name', "optional; the block's name: shown in the plan, never announced"),
    Key('stages', '**required**; the stages (and nested repeat blocks) of one round'),
)
BLOCK_KEYS = names(BLOCK)

COUNTDOWN = (
    Key('count', '**required**; 0 to 10: the numbers counted, one per second'),
    Key('sound', 'a sound played on each count instead of speaking the numbers'),
)
COUNTDOWN_KEYS = names(COUNTDOWN)

CUE = (
    Key('at', 'once, this offset after the stage starts (`0:40`, or `50%` for half the stage)'),
    Key('every', 'repeatedly, every this long'),
    Key('from', 'with `every` only: the first occurrence (default: one interval in)'),
    Key('until', 'with `every` only: no occurrence after this offset (default: the stage end)'),
    Key('before_end', 'once, this long before the stage ends'),
    Key('say', 'the speech of the cue'),
    Key('sound', 'a sound to play; with `say` as well, the sound comes first'),
    Key('voice', 'the voice for this cue'),
)
CUE_KEYS = names(CUE)
