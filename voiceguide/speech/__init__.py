"""Speech: engines behind one small interface, their clips kept in the content store.

Importing the package is cheap: the request type is pure data, and the
library, its engines and numpy load only when first asked for (PEP 562), so
the planner can name a ``SpeechRequest`` without pulling in any audio library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voiceguide.speech.request import SpeechRequest

if TYPE_CHECKING:
    from voiceguide.speech.base import Engine, VoiceInfo
    from voiceguide.speech.library import COMMAND, SpeechLibrary, engines

__all__ = [
    "COMMAND",
    "Engine",
    "SpeechLibrary",
    "SpeechRequest",
    "VoiceInfo",
    "engines",
]

_LAZY = {
    "COMMAND": "library", "SpeechLibrary": "library", "engines": "library",
    "Engine": "base", "VoiceInfo": "base",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"voiceguide.speech.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'voiceguide.speech' has no attribute {name!r}")
