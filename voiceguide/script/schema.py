"""A JSON Schema for drill scripts, so editors can complete and check them as you type.

Generated from the reader's own key tables (``keys.py``): every key the reader
accepts is a property here and no other, so the schema cannot drift from what
``voiceguide check`` accepts. Each property is its key's shape, with its line
as the description editors show on hover. A stage and a repeat block are told
apart by ``repeat`` (if/then), so a typo inside a stage is reported as that
key; a programme file (``programme: 1``) is told from a script the same way. The
schema checks the structure; the rest (timing, files, voices) is for
``voiceguide check``.

    voiceguide schema > drill-script.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from voiceguide.script import keys

SCHEMA_ID = "https://voiceguide.invalid/drill-script.schema.json"


def _object(part: tuple[keys.Key, ...], required: tuple[str, ...] = (),
            **extra: Any) -> dict[str, Any]:
    return {"type": "object",
            "properties": {key.name: {"description": _plain(key.doc), **key.shape}
                           for key in part},
            # before "required": a misspelt key is the error an editor shows first
            "additionalProperties": False, "required": list(required), **extra}


def _plain(doc: str) -> str:
    """A key's line as an editor shows it on hover: without Markdown's marks."""
    return doc.replace("**", "").replace("`", "")


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of drill script format version 1, and of programme
    files (format 1), told apart by the ``programme`` key."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "voiceguide drill script or programme",
        "description": "A drill script that voiceguide compiles into a guided MP3 session, "
                       "or a programme that strings drill scripts into weeks.",
        "if": {"type": "object", "required": ["programme"]},
        "then": {"$ref": "#/$defs/programme"}, "else": {"$ref": "#/$defs/script"},
        "$defs": {
            "script": _object(keys.TOP, ("title", "stages")),
            "programme": _object(keys.PROGRAMME, ("programme", "title", "weeks")),
            "week": _object(keys.WEEK, ("sessions",)),
            "entry": _object(keys.ENTRY, ("script",)),
            "profile": _object(keys.PROFILE),
            "stage": _object(keys.STAGE, ("name", "duration")),
            "block": _object(keys.BLOCK, ("repeat", "stages")),
            # told apart by their keys, so a typo inside a stage is reported as that key
            "item": {"if": {"type": "object", "required": ["repeat"]},
                     "then": {"$ref": "#/$defs/block"}, "else": {"$ref": "#/$defs/stage"}},
            "cue": _object(keys.CUE, oneOf=[{"required": [k]} for k in
                                               ("at", "every", "before_end")],
                           anyOf=[{"required": ["say"]}, {"required": ["sound"]}],
                           dependentRequired={"from": ["every"], "until": ["every"]}),
            "countdown": _object(keys.COUNTDOWN, ("count",)),
            "target": _object(keys.TARGET, minProperties=1, maxProperties=1),
            "music": _object(keys.MUSIC, ("files",)),
        },
    }


def dumps() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(dumps(), end="")
