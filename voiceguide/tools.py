"""Running the programs voiceguide uses: one place for timeouts, stderr and the message.

Every one-shot program voiceguide runs — espeak-ng, festival, ffmpeg for a
tempo change, a user's TTS command, and their ``--version`` probes — goes
through ``run``: never a shell, stdin closed unless given, a timeout always,
and a failure turned into one line that names the program and what it was
doing. Programs that stream (the decoders of sound and music files) keep
their own pipes, read as they go; a ``Watchdog`` kills one that gives nothing
for ``STREAM_STALL_S`` while voiceguide waits on it, and their failures are
read with ``last_line``.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from voiceguide.errors import EngineError, Terminated, VoiceguideError

PROBE_TIMEOUT_S = 30  # --version and voice lists
STREAM_STALL_S = 60.0  # a streaming program silent this long while waited on is stuck


@dataclass(frozen=True)
class Ran:
    """What a finished program gave back."""

    status: int
    stdout: bytes
    stderr: bytes

    @property
    def said(self) -> str:
        return last_line(self.stderr, "")


def last_line(output: bytes, default: str) -> str:
    """The last line a program wrote (its error, usually), else *default*."""
    lines = output.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else default


def run(argv: list[str], *, doing: str, timeout: float, stdin: bytes | None = None,
        check: bool = True, error: type[VoiceguideError] = EngineError) -> Ran:
    """Run *argv*; *doing* says what for, as in "failed on 'Ten seconds.'" (e.g. "on '…'")."""
    name = Path(argv[0]).name
    try:
        if stdin is None:
            done = subprocess.run(argv, capture_output=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        else:
            done = subprocess.run(argv, capture_output=True, timeout=timeout, input=stdin)
    except subprocess.TimeoutExpired as err:
        raise error(f"{name} took over {timeout:g} s {doing}; try again") from err
    except OSError as err:
        raise error(f"cannot run {name} {doing}: {err.strerror}") from err
    ran = Ran(done.returncode, done.stdout, done.stderr)
    if check and ran.status != 0:
        raise error(f"{name} failed {doing} (exit {ran.status}) {ran.said}".strip())
    return ran


def first_line(argv: list[str], default: str = "unknown") -> str:
    """The first line a program prints, e.g. of ``--version``; *default* if it says nothing."""
    try:
        out = run(argv, doing="when asked its version", timeout=PROBE_TIMEOUT_S, check=False)
    except VoiceguideError:
        return default
    lines = out.stdout.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else default


class Watchdog:
    """Kills *process* when a read from it waits longer than *stall* seconds.

    Only time spent waiting on the program counts: while voiceguide is busy
    elsewhere, the program may rightly sit blocked on a full pipe."""

    def __init__(self, process: subprocess.Popen[bytes], stall: float | None = None) -> None:
        self.process = process
        self.stall = STREAM_STALL_S if stall is None else stall
        self.fired = False
        self._since: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        self._since = time.monotonic()
        try:
            yield
        finally:
            self._since = None

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(min(1.0, self.stall / 4)):
            since = self._since
            if since is not None and time.monotonic() - since > self.stall:
                self.fired = True
                with contextlib.suppress(OSError):
                    self.process.kill()
                return


def cores() -> int:
    """The cores this process may use (its CPU affinity): for encoding threads and builds."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_builds_at_once = 1


def share_cores(builds: int) -> None:
    """This process is one of *builds* running at once (``build --jobs``): each build's
    speech, preparation and encoding threads use its share of the cores, not all of them."""
    global _builds_at_once
    _builds_at_once = max(1, builds)


def cores_per_build() -> int:
    """The cores one build may keep busy: all of them, or its share (``share_cores``)."""
    return max(1, cores() // _builds_at_once)


M_ARENA_MAX = -8  # glibc's mallopt parameters
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_BLOCK_MB, HEAP_KEPT_MB = 8, 32  # blocks up to this from the heap; free at its top kept


def steady_heap() -> None:
    """Blocks of up to ``HEAP_BLOCK_MB`` from the C heap, and up to ``HEAP_KEPT_MB`` free at
    its top kept for the next. A build prepares clips of a few MB each on several threads,
    and glibc gave every block over its threshold (at first 128 KB) to the system and took
    it back at each free: 180,000 page faults in a cold build of the seed, and on two cores
    the threads waited on each other's unmapping. So: half the faults, a third less system
    time, and no more memory at the peak (``release_memory`` still gives back what a long
    render frees)."""
    with contextlib.suppress(OSError, AttributeError):
        mallopt = _c_library().mallopt
        mallopt(M_MMAP_THRESHOLD, HEAP_BLOCK_MB << 20)
        mallopt(M_TRIM_THRESHOLD, HEAP_KEPT_MB << 20)


def bound_arenas(count: int = 1) -> None:
    """At most *count* malloc arenas. glibc gives a thread that finds the allocator busy
    an arena of its own, each reserving 64 MB of address space (up to eight a core), and
    the busier the machine the more threads find it busy: under an address-space limit
    (``ulimit -v``) a build that fits on a quiet machine ran out on a busy one. With a
    few arenas, what a build reserves no longer depends on the machine's load."""
    with contextlib.suppress(OSError, AttributeError):
        _c_library().mallopt(M_ARENA_MAX, count)


@functools.cache
def _c_library() -> ctypes.CDLL:
    """The C library this process runs on, by its own symbols (finding it by name would
    run ``ldconfig``: milliseconds a command)."""
    return ctypes.CDLL(None)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    with contextlib.suppress(OSError, AttributeError):
        return _c_library().malloc_trim
    return None  # not glibc: nothing to call


def release_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``).

    A long session streams buffers of many sizes (music blocks, mixed chunks, pieces'
    PCM and frames) through several threads; glibc keeps what they free, in holes
    between what lives on, for the next allocation that fits, and a 60-minute build
    with beds ended 40 MB above what it held. Called once a stretch or a piece is done
    (a few hundred times an hour, well under a millisecond each)."""
    if (trim := _malloc_trim()) is not None:
        trim(0)


def settle_process() -> None:
    """What every command runs under: SIGTERM and SIGHUP (a closed terminal) unwind it as
    ``Terminated``, as Ctrl-C does; a write over a file-size limit fails as on a full disk
    (SIGXFSZ ignored); a steady C heap (``steady_heap``); one BLAS thread, in it and the
    programs it starts (voiceguide runs its own work on every core, and OpenBLAS's threads
    would only reserve memory, and end the process when they cannot)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminated)
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    steady_heap()


def _terminated(signum: int, frame: object) -> None:
    raise Terminated()


@functools.cache
def installed_version(name: str) -> str:
    """The version of the installed Python distribution *name*, as
    ``importlib.metadata.version`` gives it (``PackageNotFoundError`` when it is not
    installed). A version goes into the keys of what the store keeps, so every command
    asks for a few; importlib.metadata imports its email parser and parses each
    distribution's metadata (0.02 s of every start), where pip names each distribution's
    folder ``NAME-VERSION.dist-info`` (the wheel format's naming, the name normalised):
    the version is read from that name. Anything else (an egg, two candidates in the
    first place that has one) is asked of importlib.metadata, which searches the import
    path in the same order."""
    wanted = _normalised_name(name)
    for folder in sys.path:
        found = [(stem.rpartition("-")[2], suffix) for stem, suffix in _listed(folder or ".")
                 if _normalised_name(stem.rpartition("-")[0]) == wanted]
        if len(found) == 1 and found[0][0] and found[0][1] == ".dist-info":
            return found[0][0]
        if found:
            break  # an egg, or two candidates: importlib.metadata decides
    import importlib.metadata

    return importlib.metadata.version(name)


@functools.cache
def _listed(folder: str) -> tuple[tuple[str, str], ...]:
    """(stem, suffix) of the metadata folders and files in *folder*: ``.dist-info`` and
    ``.egg-info`` (none when it cannot be listed)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return ()
    return tuple((n[: -len(suffix)], suffix) for n in names
                 for suffix in (".dist-info", ".egg-info") if n.endswith(suffix))


def _normalised_name(name: str) -> str:
    """A distribution's name as PEP 503 compares them (runs of - _ . alike, any case)."""
    return re.sub(r"[-_.]+", "-", name).lower()
