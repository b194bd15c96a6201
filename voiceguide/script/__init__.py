"""A drill script: YAML → frozen dataclasses, every problem located.

``load_script`` reads the file, checks every key and value against the
drill-script format (version 1) and returns a ``Script``, or raises one
``ScriptError`` listing every problem found, each as ``FILE:LINE:COLUMN``.
Checks that need an engine or the disk beyond the script itself (voice ids,
sound files) live in ``session.py``; checks that need clip lengths ("does
this fit?") live in ``plan/``.

The package: ``model.py`` (the dataclasses and limits), ``keys.py`` (every key
of every part), ``reader.py`` and ``values.py`` (YAML nodes → the model),
``source.py`` (YAML → located nodes, bounded), ``schema.py`` (the JSON Schema).
"""

from voiceguide.script.model import (
    MAX_SPEECH_CHARS,
    MAX_STAGES,
    MAX_TEXT_CHARS,
    PLACEHOLDER_RE,
    Cue,
    Loc,
    MusicFile,
    Pause,
    Script,
    Speech,
    Stage,
    Text,
    VoiceRef,
)
from voiceguide.script.reader import load_script, parse_script

__all__ = [
    "MAX_SPEECH_CHARS", "MAX_STAGES", "MAX_TEXT_CHARS", "PLACEHOLDER_RE", "Cue", "Loc",
    "MusicFile", "Pause", "Script", "Speech", "Stage", "Text", "VoiceRef", "load_script",
    "parse_script",
]
