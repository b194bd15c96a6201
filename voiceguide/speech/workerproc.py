"""The parent's side of a ``_worker`` process: send a job, read one answer, with a timeout."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import voiceguide
from voiceguide.speech._worker import PARENT_ENV

PACKAGE_ROOT = str(Path(voiceguide.__file__).resolve().parent.parent)


_live: set[WorkerProcess] = set()
_live_lock = threading.Lock()


def kill_all() -> None:
    """Kills every running worker and what it started (on Ctrl-C, SIGTERM, or exit)."""
    with _live_lock:
        workers = list(_live)
    for worker in workers:
        worker.kill()


class WorkerFailure(Exception):
    """The worker crashed, hung or answered nonsense; the caller decides what the user sees.
    *stopped*: the worker ended before it answered (it died, or was killed)."""

    def __init__(self, message: str, stopped: bool = False) -> None:
        super().__init__(message)
        self.stopped = stopped


def python_module(module: str) -> tuple[str, ...]:
    """The command that runs ``module`` with this Python."""
    return (sys.executable, "-m", module)


class WorkerProcess:
    """A worker (by default ``python -m voiceguide.speech._worker ARGS``) speaking JSON lines."""

    command = python_module("voiceguide.speech._worker")  # tests swap in a broken one

    def __init__(self, args: list[str], timeout_s: float,
                 command: tuple[str, ...] | None = None) -> None:
        self.timeout_s = timeout_s
        self._buffer = b""
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- closed in close(); a file never blocks the worker
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
        env[PARENT_ENV] = str(os.getpid())  # the worker dies with this process (_worker.py)
        # Its own process group, so a timeout or an interrupt kills the clip it forked too.
        try:
            self.proc = subprocess.Popen(
                [*(command or self.command), *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=env,
                start_new_session=True,
            )
        except OSError as err:
            self._stderr.close()
            raise WorkerFailure(f"cannot start the worker process: {err.strerror}") from err
        with _live_lock:
            _live.add(self)

    def kill(self) -> None:
        """Kills the worker's whole process group; ``close`` still reaps it."""
        if self.proc.returncode is not None:
            return  # reaped: its group id may belong to someone else by now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def send(self, job: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as err:
            raise WorkerFailure(self._death_note("the worker process stopped"), True) from err

    def read_line(self, what: str) -> str:
        """The next answer line; WorkerFailure when it does not come within the timeout."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.close()
                raise WorkerFailure(f"no answer within {self.timeout_s:g} s while {what}")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise WorkerFailure(self._death_note("the worker process stopped"), True)
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def read_json(self, what: str) -> Any:
        """The next answer, parsed; WorkerFailure when it is late or not JSON."""
        line = self.read_line(what)
        try:
            return json.loads(line)
        except ValueError as err:
            self.close()
            raise WorkerFailure(f"a nonsense answer while {what}: {line[:80]!r}") from err

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

    def close(self) -> None:
        """Ends the worker. It owes nothing once its caller closes it (every answer it gave
        was read, every file it wrote is the caller's), so it is killed with what it started
        rather than left to exit at the end of its input: unloading a voice's model takes
        an interpreter 60 ms that a build would spend waiting."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        self.kill()
        self._reap(5.0)
        with _live_lock:
            _live.discard(self)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def _reap(self, timeout: float) -> None:
        """Waits up to *timeout* for the killed worker to end, told by its pidfd (Linux)
        rather than polled: polling sleeps up to 50 ms between looks. A process that
        cannot die at once (stuck in the kernel) is not waited for."""
        if self.proc.returncode is not None:
            return  # reaped already: its pid may be another's by now
        ended = timeout
        with contextlib.suppress(OSError, AttributeError):  # no pidfd: poll, as ever
            pidfd = os.pidfd_open(self.proc.pid)
            try:
                select.select([pidfd], [], [], timeout)
                ended = 0.0  # ended, or never will within the timeout
            finally:
                os.close(pidfd)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=ended)

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
