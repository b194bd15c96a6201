"""The parent's side of a ``_worker`` process: send a job, read one answer, with a timeout."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import voiceguide

PACKAGE_ROOT = str(Path(voiceguide.__file__).resolve().parent.parent)


class WorkerFailure(Exception):
    """The worker crashed, hung or answered nonsense; the caller decides what the user sees."""


class WorkerProcess:
    """``python -m voiceguide.speech._worker ARGS``, speaking JSON lines."""

    command = (sys.executable, "-m", "voiceguide.speech._worker")  # tests swap in a broken one

    def __init__(self, args: list[str], timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._buffer = b""
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- closed in close(); a file never blocks the worker
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen(
            [*self.command, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )

    def send(self, job: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as err:
            raise WorkerFailure(self._death_note("the worker process stopped")) from err

    def read_line(self, what: str) -> str:
        """The next answer line; WorkerFailure when it does not come within the timeout."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close(kill=True)
                raise WorkerFailure(f"no answer within {self.timeout_s:g} s while {what}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise WorkerFailure(self._death_note("the worker process stopped"))
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def _death_note(self, summary: str) -> str:
        """``summary`` plus the last line the worker wrote to stderr, e.g. its exception."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        last = ""
        if not self._stderr.closed:
            self._stderr.seek(0)
            lines = self._stderr.read().decode(errors="replace").strip().splitlines()
            last = lines[-1] if lines else ""
        self.close()
        return f"{summary}: {last}" if last else summary

    def close(self, kill: bool = False) -> None:
        """Ends the worker: it exits at the end of its input, or is killed."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        if kill:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
