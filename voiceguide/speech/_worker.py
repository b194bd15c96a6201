"""A pyttsx3 worker process: one (voice, rate) setting, many clips, each from a fresh engine.

espeak-ng keeps state between utterances, so a clip made after others differs
(in level and length) from the same clip made first; and pyttsx3 2.99 cancels
speech when a property changes between clips and writes only the last of
several queued files. So the worker loads pyttsx3's espeak-ng binding once
and forks a child per clip, which initialises espeak-ng, sets voice and rate,
speaks that one clip into a WAV file and exits: every clip comes from the
same fresh state, so a clip made again (a damaged cache entry) is
byte-identical to the first. Forking costs a few milliseconds, far less than
starting Python.

The driver prints to stdout, so the protocol gets a private copy of fd 1 and
fd 1 itself goes to /dev/null.

Protocol (JSON lines): the parent writes ``{"text": ..., "output": PATH}``;
the worker answers ``{"ok": true}`` or ``{"error": "..."}``. With
``--list-voices`` it answers one line: a list of voices.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import wave
from typing import IO, Any

_PR_SET_PDEATHSIG = 1
PARENT_ENV = "VOICEGUIDE_WORKER_PARENT"


def die_with_parent(parent: int = 0) -> None:
    """Linux: be killed when the parent goes (a killed build leaves no workers behind).
    *parent*: its pid, as known before this process began; by default the one the
    process that started the worker gave in ``PARENT_ENV`` (read after the parent died,
    getppid() would already name whoever adopted us, and the check below would pass)."""
    if not sys.platform.startswith("linux"):
        return
    parent = parent or int(os.environ.get(PARENT_ENV, "0")) or os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent went before prctl took effect
        os._exit(1)


def private_stdout() -> IO[str]:
    """The protocol channel; whatever else writes to stdout goes nowhere."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return channel


def speak_to_file(text: str, output: str, voice: str | None, rate: int | None) -> None:
    """One clip through pyttsx3's espeak-ng binding, synchronously, into a WAV file.

    pyttsx3's own ``save_to_file``/``runAndWait`` loop ends early on texts of
    more than about 250 characters (no file is written), races with espeak's
    thread over the rate (now and then a clip came out at the default rate),
    and drops the samples of the last callback. Its binding in synchronous
    mode has none of these problems: no thread, every sample, any length.
    """
    from pyttsx3.drivers import _espeak

    sample_rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 500, None, 0)
    if sample_rate <= 0:
        raise RuntimeError("espeak-ng could not start")
    pieces: list[bytes] = []

    def collect(wav: Any, samples: int, events: Any) -> int:
        if samples > 0:
            pieces.append(ctypes.string_at(wav, samples * 2))
        return 0

    _espeak.SetSynthCallback(collect)
    if voice and _espeak.SetVoiceByName(voice.encode("utf-8")) != 0:
        raise RuntimeError(f"espeak-ng has no voice {voice!r}")
    if rate:
        _espeak.SetParameter(_espeak.RATE, int(rate), 0)
    _espeak.Synth(text.encode("utf-8"), flags=_espeak.ENDPAUSE | _espeak.CHARS_UTF8)
    _espeak.Synchronize()
    with wave.open(output, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(b"".join(pieces))


def list_voices(channel: IO[str]) -> None:
    import pyttsx3

    voices = pyttsx3.init().getProperty("voices")
    listed = [
        {"id": v.id, "name": v.name, "language": (v.languages or [""])[0], "gender": v.gender}
        for v in voices
    ]
    channel.write(json.dumps(listed) + "\n")


def render_in_child(text: str, output: str, voice: str | None, rate: int | None) -> dict[str, Any]:
    """Saves one clip in a forked child, so the engine starts from the same state every time."""
    read_end, write_end = os.pipe()
    worker = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read_end)
            die_with_parent(worker)
            speak_to_file(text, output, voice, rate)
        except BaseException as err:  # reported to the parent; the child must exit here
            os.write(write_end, f"{type(err).__name__}: {err}".encode()[:4000])
            status = 1
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as errors:
        message = errors.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"error": f"the speech engine crashed (signal {os.WTERMSIG(status)})"}
    if os.WEXITSTATUS(status) != 0:
        return {"error": message or f"the speech engine exited with {os.WEXITSTATUS(status)}"}
    return {"ok": True}


def serve(channel: IO[str], voice: str | None, rate: int | None) -> None:
    import pyttsx3.drivers._espeak  # noqa: F401 -- the library is loaded once, before any fork

    for line in sys.stdin:
        job = json.loads(line)
        channel.write(json.dumps(render_in_child(job["text"], job["output"], voice, rate)) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m voiceguide.speech._worker")
    parser.add_argument("--voice")
    parser.add_argument("--rate", type=int)
    parser.add_argument("--list-voices", action="store_true")
    args = parser.parse_args()
    die_with_parent()
    channel = private_stdout()
    if args.list_voices:
        list_voices(channel)
    else:
        serve(channel, args.voice, args.rate)


if __name__ == "__main__":
    main()
