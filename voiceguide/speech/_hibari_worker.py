"""A hibari worker process: loads each voice's model once, then speaks many clips.

The model (onnxruntime) costs about 0.4 s and 200 MB to load, so a build
starts one worker and sends it every clip; the main process never imports
onnxruntime. Every clip is made with one onnxruntime thread and the noise
generator seeded afresh, so the same text, voice and speed give the same
bytes whatever was spoken before and however many cores the machine has.

Voices are only ever loaded from files already on the machine: a voice that
hibari would download on first use is an error here, never a download.

Protocol (JSON lines): the parent writes
``{"text": ..., "voice": ..., "speed": ..., "output": PATH}``; the worker
writes a 16-bit WAV to PATH and answers ``{"ok": true}`` or
``{"error": "..."}``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

# Before numpy and onnxruntime load: one thread each, so output never depends on the cores.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

from voiceguide.errors import out_of_memory  # noqa: E402
from voiceguide.speech._worker import die_with_parent, private_stdout  # noqa: E402

SEED = 0  # the noise component of every clip
THREADS = 1


def load(voice: str) -> Any:
    """The voice's model from disk; FileNotFoundError rather than a download."""
    from hibari import Hibari
    from hibari.voices import voice_path

    return Hibari(voice=voice, model=voice_path(voice, download_missing=False), threads=THREADS)


def speak(models: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    from hibari import write_wav

    voice = job["voice"]
    if voice not in models:
        models[voice] = load(voice)
    audio = models[voice](job["text"], speed=job["speed"], seed=SEED)
    if len(audio) == 0:
        return {"error": "the text has nothing hibari can pronounce"}
    write_wav(job["output"], audio)
    return {"ok": True}


def serve(channel: IO[str]) -> None:
    models: dict[str, Any] = {}
    for line in sys.stdin:
        try:
            answer = speak(models, json.loads(line))
        except Exception as err:  # reported to the parent, which names the clip
            answer = {"error": f"{type(err).__name__}: {err}"}
            if out_of_memory(err):
                answer["memory"] = True  # the parent reports the machine, not the clip
        channel.write(json.dumps(answer) + "\n")


def main() -> None:
    die_with_parent()
    serve(private_stdout())


if __name__ == "__main__":
    main()
