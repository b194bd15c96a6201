"""A pyttsx3 worker process: one engine, one (voice, rate) setting, many clips.

pyttsx3 2.99 cancels speech when a property changes between clips and writes
only the last of several queued files, so each worker sets its properties once
and renders one clip per ``runAndWait``. The driver prints to stdout, so the
protocol gets a private copy of fd 1 and fd 1 itself goes to /dev/null.

Protocol (JSON lines): the parent writes ``{"text": ..., "output": PATH}``;
the worker answers ``{"ok": true}`` or ``{"error": "..."}``. With
``--list-voices`` it answers one line: a list of voices.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import IO, Any


def private_stdout() -> IO[str]:
    """The protocol channel; whatever else writes to stdout goes nowhere."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return channel


def make_engine(voice: str | None, rate: int | None) -> Any:
    import pyttsx3

    engine = pyttsx3.init()
    if voice:
        engine.setProperty("voice", voice)
    if rate:
        engine.setProperty("rate", rate)
    return engine


def list_voices(channel: IO[str]) -> None:
    voices = make_engine(None, None).getProperty("voices")
    listed = [
        {"id": v.id, "name": v.name, "language": (v.languages or [""])[0], "gender": v.gender}
        for v in voices
    ]
    channel.write(json.dumps(listed) + "\n")


def serve(channel: IO[str], voice: str | None, rate: int | None) -> None:
    engine = make_engine(voice, rate)
    for line in sys.stdin:
        job = json.loads(line)
        try:
            engine.save_to_file(job["text"], job["output"])
            engine.runAndWait()
            answer: dict[str, Any] = {"ok": True}
        except (RuntimeError, ValueError, OSError) as err:
            answer = {"error": f"{type(err).__name__}: {err}"}
        channel.write(json.dumps(answer) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m voiceguide.speech._worker")
    parser.add_argument("--voice")
    parser.add_argument("--rate", type=int)
    parser.add_argument("--list-voices", action="store_true")
    args = parser.parse_args()
    channel = private_stdout()
    if args.list_voices:
        list_voices(channel)
    else:
        serve(channel, args.voice, args.rate)


if __name__ == "__main__":
    main()
