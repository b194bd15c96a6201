"""The speech cache's key: a sha256 over everything that changes a clip's audio.

The clips themselves are entries of kind ``speech`` in the content store
(``voiceguide.store``), verified on every read and written whole.
"""

from __future__ import annotations

import hashlib
import json

from voiceguide.speech.request import SpeechRequest

MAGIC = "voiceguide-speech/2"


def cache_key(request: SpeechRequest, engine_version: str) -> str:
    """sha256 over everything that changes the audio."""
    rate = float(request.rate) if request.rate is not None else None
    fields = [
        MAGIC,
        request.engine,
        engine_version,
        request.voice,
        rate,
        list(request.options),
        request.text,
    ]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()
