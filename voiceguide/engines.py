"""The speech engines voiceguide knows, by name.

The one list that the script reader, the command line, the speech library and
the docs tests read. Pure data: importing it loads no engine and no audio
library.
"""

from __future__ import annotations

DEFAULT = "pyttsx3"  # a voice profile's engine when it names none (format version 1)
NATURAL = "hibari"  # the natural voice: the default for English scripts that pick no voice
PICO = "pico"  # SVOX Pico: clear German, Spanish, French and Italian, where installed
COMMAND = "command"  # the user's own program, set up per voice profile
BUILT_IN = ("pyttsx3", "espeak-ng", "festival", PICO, NATURAL)
# A script that picks no voice speaks with the first of these that is installed and has a
# voice for its language, clearest first; else with DEFAULT (espeak-ng's voices).
CLEARER = (NATURAL, PICO)
# The languages (ISO 639-1) each of those speaks once installed: Pico's are the language
# files Debian's libttspico-data ships (tests/speech/test_pico.py checks them).
SPEAKS = {NATURAL: ("en",), PICO: ("de", "en", "es", "fr", "it")}
# Installed with voiceguide: missing, they are the machine's fault, not the script's.
CORE = ("pyttsx3", "espeak-ng", NATURAL)
ALL = (*BUILT_IN, COMMAND)


def is_command(engine: str) -> bool:
    """``command`` and ``command:NAME``: a program of the user's, set up per voice profile."""
    return engine == COMMAND or engine.startswith(COMMAND + ":")
