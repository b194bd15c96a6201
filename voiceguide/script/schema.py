"""A JSON Schema for drill scripts, so editors can complete and check them as you type.

Generated from the reader's own key tables (``keys.py``: ``TOP_KEYS`` and the
others): every key the reader accepts is a property here and no other, so the
schema cannot drift from what ``voiceguide check`` accepts. What a key's
value looks like is said once per key below (a key without a shape is an
error when the schema is made: a test makes it), and every property carries
its key's line from ``keys.py`` as its description, which editors show on
hover. A stage and a repeat block are told apart by ``repeat`` (if/then), so a
typo inside a stage is reported as that key. The schema checks the
structure; the rest (timing, files, voices) is for ``voiceguide check``.

    voiceguide schema > drill-script.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from voiceguide import builtins, engines
from voiceguide.script import keys, model
from voiceguide.words import LANGUAGE_PATTERN

SCHEMA_ID = "https://voiceguide.invalid/drill-script.schema.json"

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

# What each key's value is, by table. Keys come from the reader; only their shape is here.
VALUES: dict[str, dict[str, dict[str, Any]]] = {
    "TOP_KEYS": {
        "version": {"const": 1}, "title": TEXT, "description": TEXT, "artist": TEXT,
        "album": TEXT,
        "language": {"type": "string", "pattern": f"^{LANGUAGE_PATTERN}$"},
        "voices": {"type": "object", "additionalProperties": {"$ref": "#/$defs/profile"}},
        "voice": TEXT, "pace": {"type": "number", "minimum": 0, "maximum": 1},
        "sounds": {"type": "object", "additionalProperties": TEXT},
        "announce": {"anyOf": [TEXT, {"const": False}]},
        "start_sound": SOUND_OR_NULL, "finish_sound": SOUND_OR_NULL,
        "intro": SPEECH, "outro": SPEECH,
        "stages": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
        "music": {"$ref": "#/$defs/music"}, "cadence": CADENCE, "cadence_level": LEVEL,
        "cadence_sound": SOUND, "cover": TEXT,
    },
    "PROFILE_KEYS": {
        "engine": {"enum": list(engines.ALL)}, "voice": TEXT,
        "rate": {"type": "number", "exclusiveMinimum": 0, "maximum": model.MAX_RATE},
        "volume": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "command": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    },
    "STAGE_KEYS": {
        "name": TEXT, "duration": RANGE, "say": SPEECH,
        "cues": {"type": "array", "items": {"$ref": "#/$defs/cue"}},
        "countdown": {"anyOf": [COUNT, {"$ref": "#/$defs/countdown"}]},
        "voice": TEXT, "announce": {"anyOf": [TEXT, {"const": False}]},
        "start_sound": SOUND_OR_NULL, "pace": {"type": "number", "minimum": 0, "maximum": 1},
        "skip_last": {"type": "boolean"}, "cadence": {"anyOf": [CADENCE, {"const": False}]},
        "music": {"type": "boolean"},
    },
    "BLOCK_KEYS": {
        "repeat": {"type": "integer", "minimum": 1, "maximum": model.MAX_ROUNDS},
        "name": TEXT,
        "stages": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}},
    },
    "CUE_KEYS": {
        "at": OFFSET, "every": DURATION, "from": OFFSET, "until": OFFSET,
        "before_end": DURATION, "say": SPEECH, "sound": SOUND, "voice": TEXT,
    },
    "MUSIC_KEYS": {
        "files": {"anyOf": [TEXT, {"type": "array", "minItems": 1, "items": TEXT}]},
        "level": LEVEL, "duck": {"type": "number", "minimum": 0, "maximum": model.MAX_DUCK},
    },
    "COUNTDOWN_KEYS": {"count": COUNT, "sound": SOUND},
}


def _object(table: str, required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    names: tuple[str, ...] = getattr(keys, table)
    docs = {key.name: key.doc for key in getattr(keys, table.removesuffix("_KEYS"))}
    shapes = VALUES[table]
    missing = [key for key in names if key not in shapes]
    if missing:
        raise KeyError(f"schema.VALUES['{table}'] does not describe {', '.join(missing)}")
    return {"type": "object",
            "properties": {key: {"description": _plain(docs[key]), **shapes[key]}
                           for key in names},
            # before "required": a misspelt key is the error an editor shows first
            "additionalProperties": False, "required": list(required), **extra}


def _plain(doc: str) -> str:
    """A key's line as an editor shows it on hover: without Markdown's marks."""
    return doc.replace("**", "").replace("`", "")


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of drill script format version 1."""
    top = _object("TOP_KEYS", ("title", "stages"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "voiceguide drill script",
        "description": "A drill script that voiceguide compiles into a guided MP3 session.",
        **top,
        "$defs": {
            "profile": _object("PROFILE_KEYS"),
            "stage": _object("STAGE_KEYS", ("name", "duration")),
            "block": _object("BLOCK_KEYS", ("repeat", "stages")),
            # told apart by their keys, so a typo inside a stage is reported as that key
            "item": {"if": {"type": "object", "required": ["repeat"]},
                     "then": {"$ref": "#/$defs/block"}, "else": {"$ref": "#/$defs/stage"}},
            "cue": _object("CUE_KEYS", oneOf=[{"required": [k]} for k in
                                               ("at", "every", "before_end")],
                           anyOf=[{"required": ["say"]}, {"required": ["sound"]}],
                           dependentRequired={"from": ["every"], "until": ["every"]}),
            "countdown": _object("COUNTDOWN_KEYS", ("count",)),
            "music": _object("MUSIC_KEYS", ("files",)),
        },
    }


def dumps() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(dumps(), end="")
