"""The speech engines voiceguide knows, by name.

The one list that the script reader, the command line, the speech library and
the docs tests read. Pure data: importing it loads no engine and no audio
library.
"""

from __future__ import annotations

DEFAULT = "pyttsx3"  # a voice profile's engine when it names none (format version 1)
NATURAL = "hibari"  # the natural voice: the default for English scripts that pick no voice
COMMAND = "command"  # the user's own program, set up per voice profile
BUILT_IN = ("pyttsx3", "espeak-ng", "festival", NATURAL)
# Installed with voiceguide: missing, they are the machine's fault, not the script's.
CORE = ("pyttsx3", "espeak-ng", NATURAL)
ALL = (*BUILT_IN, COMMAND)


def is_command(engine: str) -> bool:
    """``command`` and ``command:NAME``: a program of the user's, set up per voice profile."""
    return engine == COMMAND or engine.startswith(COMMAND + ":")
