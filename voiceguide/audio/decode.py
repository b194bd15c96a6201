"""ffmpeg as a streaming decoder: the one pipeline behind sounds and music.

The streaming sibling of ``tools.run``. The input goes to ffmpeg on stdin only (a
file as the descriptor itself, bytes written by a thread), with its demuxer forced
and no protocol but the pipe, so a file disguised as a playlist cannot make ffmpeg
read or fetch anything else. The output is yielded in blocks as it comes, so a
caller can stop a decoder early (a sound that is too long, a music file measured
far enough) and keep memory flat. A ``Watchdog`` kills a decoder that gives nothing
for ``STREAM_STALL_S``; its failures are one ``DecodeFailure`` the caller turns into
its own message.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import IO

from voiceguide.errors import AudioError
from voiceguide.tools import Watchdog, last_line

FFMPEG_MISSING = "ffmpeg is not installed: sudo apt-get install ffmpeg"
PIPE_BYTES = 1 << 20


class DecodeFailure(Exception):
    """ffmpeg stopped with an error, or went silent for *stalled_s* seconds."""

    def __init__(self, said: str, stalled_s: float | None = None) -> None:
        super().__init__(said)
        self.said, self.stalled_s = said, stalled_s


def ffmpeg_path() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise AudioError(FFMPEG_MISSING)
    return found


def blocks(source: bytes | Path, fmt: str, output: Sequence[str], *, size: int,
           strict: bool = False) -> Generator[bytes, None, None]:
    """ffmpeg's stdout in blocks of *size* bytes (the last may be shorter), decoding
    *source* (bytes, or a file read as it goes) with the demuxer *fmt* forced, written as
    *output* (ffmpeg's output options, ending at ``pipe:1``). *strict* stops at the
    first damaged packet. Closing the generator early kills ffmpeg."""
    command = [ffmpeg_path(), "-nostats", "-hide_banner", "-v", "error",
               *(["-xerror"] if strict else []),
               "-protocol_whitelist", "pipe", "-f", fmt, "-i", "pipe:0", *output]
    with tempfile.TemporaryFile() as errors, contextlib.ExitStack() as stack:
        reader = stack.enter_context(open(source, "rb")) if isinstance(source, Path) else None
        process = subprocess.Popen(command, stdin=reader or subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=errors)
        _widen(process.stdout)
        feeder = None
        if isinstance(source, bytes):
            feeder = threading.Thread(target=_feed, args=(source, process.stdin), daemon=True)
            feeder.start()
        dog = Watchdog(process)
        assert process.stdout is not None
        try:
            while True:
                with dog.waiting():  # reading is all waiting on ffmpeg
                    block = process.stdout.read(size)
                if not block:
                    break
                yield block
        finally:
            dog.stop()
            if process.poll() is None:
                process.kill()
            status = process.wait()
            if feeder is not None:
                feeder.join()
            process.stdout.close()
        errors.seek(0)
        said = errors.read()
    if dog.fired:
        raise DecodeFailure("", dog.stall)
    if status != 0:
        raise DecodeFailure(last_line(said, "ffmpeg failed"))


def _widen(pipe: IO[bytes] | None) -> None:
    """Let ffmpeg decode ahead by up to a megabyte (six seconds of music) while voiceguide
    works, rather than 64 KB: the two then run side by side instead of taking turns."""
    with contextlib.suppress(ImportError, AttributeError, OSError, ValueError):
        import fcntl

        assert pipe is not None
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _feed(source: bytes, sink: IO[bytes] | None) -> None:
    assert sink is not None
    with contextlib.suppress(BrokenPipeError, OSError), sink:  # killed: it stops reading
        sink.write(source)
