"""Several builds at once on this machine: ``build SCRIPT… --jobs N``, in worker processes.

Each build is a pure function of its script and options, and the caches take
whole entries only, so workers share them. What an interrupt must mean here:

- the first failure stops the builds not yet started; the ones running finish;
- Ctrl-C, SIGTERM or SIGHUP stop every build: the running ones unwind (their
  temporary files go, their targets stay as they were) and the queued ones
  never start, whichever process the signal reached first (a stop flag the
  workers share, set by the first to see it, in shared memory without a lock,
  since a handler may run inside another); once the parent is leaving, a worker
  that has unwound its build exits instead of waiting for another;
- a worker whose parent is gone, even SIGKILLed, stops too: the kernel sends
  it SIGTERM when the parent dies (``PR_SET_PDEATHSIG``), and a worker with no
  build to unwind just exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceguide.errors import Terminated, VoiceguideError
from voiceguide.session import build
from voiceguide.tools import share_cores

if TYPE_CHECKING:
    import multiprocessing.process

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Stopped(VoiceguideError):
    """A queued build that did not start, because the builds were stopped."""

    exit_code = 130


def built(scripts: tuple[Path, ...] | list[Path], targets: list[Path], options: Any,
          jobs: int, split: bool = False) -> Iterator[tuple[Path, Any]]:
    """(target, plan) for each script, in order, built *jobs* at a time."""
    if jobs == 1:
        for script, target in zip(scripts, targets, strict=True):
            if options.progress is not None:
                options.progress.label = f"{script.name}: "
            yield target, build(script, target, options, split=split)
        return
    import multiprocessing  # here: a single build does without it (5 ms of every start)
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")  # workers keep the signal handlers
    stop = context.RawValue(ctypes.c_int, 0)  # no lock: signal handlers set it
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_started,
                             initargs=(stop, os.getpid(), jobs)) as pool:
        futures = [pool.submit(_build, script, target, options, split)
                   for script, target in zip(scripts, targets, strict=True)]
        try:
            for target, future in zip(targets, futures, strict=True):
                yield target, future.result()
        except BaseException:
            if isinstance(sys.exc_info()[1], VoiceguideError):
                for future in futures:  # a build failed: the queued ones never start
                    future.cancel()
                raise
            # stopped: the flag keeps queued builds from starting (``_build``), and no
            # future is cancelled, for the pool's own thread fails every pending one once
            # the workers are gone, and a cancelled one made it raise (a thread's traceback)
            stop.value = LEAVING  # before the signal: a worker starts no other build, and
            # one that has unwound its build exits (no one here waits for its result)
            _stop_workers(multiprocessing.active_children())
            raise


UNWIND_S = 30  # for a stopped worker to remove its temporary files and exit
STOPPING, LEAVING = 1, 2  # the shared flag: a process saw a stop; the parent is leaving


def _stop_workers(workers: list[multiprocessing.process.BaseProcess]) -> None:
    """SIGTERM to every worker (they remove their temporary files and exit), then SIGKILL
    to any still there after ``UNWIND_S``: a worker the interrupt reached while it was
    sending a result back died holding the result queue's lock, and the others then wait
    for that lock for ever (their builds are unwound by then; nothing is left behind)."""
    for process in workers:
        if process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
    for process in workers:
        process.join(UNWIND_S)
        if process.is_alive():
            process.kill()
            process.join()


# ---------------------------------------------------------------------------
# In the worker processes

_stop: Any = None  # the shared stop flag (a ctypes int in shared memory)
_parent = 0
_busy = False
_unwinding = 0  # the exit status of the stop raised in the build now unwinding
_exit_after = 0  # a second stop came while it unwound: exit with this once it has


def _started(stop: Any, parent: int, builds: int) -> None:
    """A worker's start: the shared stop flag, death with the parent, and its share of the
    cores (one of *builds* at once: no build's speakers and encoders take every core)."""
    global _stop, _parent
    _stop, _parent = stop, parent
    share_cores(builds)
    for signum, code in ((signal.SIGTERM, 143), (signal.SIGHUP, 143), (signal.SIGINT, 130)):
        signal.signal(signum, _interrupted(code))
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the kernel could be told
        os._exit(143)


def _interrupted(code: int) -> Any:
    """The worker's handler of a stop. It takes no lock: a second signal (Ctrl-C reaches
    every process, then the parent's SIGTERM follows) runs it again inside the first, and a
    lock the first held would wait for ever; a multiprocessing Event did, until the parent
    killed the worker with its temporary file still there."""
    def handler(signum: int, frame: object) -> None:
        global _unwinding, _exit_after
        if _stop is not None and not _stop.value:
            _stop.value = STOPPING
        if not _busy:
            os._exit(code)  # nothing to unwind: no traceback from an idle worker
        if _unwinding:  # raising again could cut short the removal of its temporary file;
            _exit_after = code  # the second stop is the parent's: no one waits for a result
            return
        _unwinding = code
        raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated()
    return handler


def _build(script: Path, target: Path, options: Any, split: bool) -> Any:
    global _busy, _unwinding, _exit_after
    if _stop is not None and _stop.value:
        raise Stopped(f"{script}: not built, the builds were stopped")
    _busy, _unwinding, _exit_after = True, 0, 0
    try:
        return build(script, target, options, None, split)
    except (KeyboardInterrupt, Terminated):
        if os.getppid() != _parent:
            os._exit(143)  # unwound, temporary files gone; no one is left to hear of it
        raise
    finally:
        _busy = False
        if _exit_after or (_unwinding and _stop is not None and _stop.value == LEAVING):
            os._exit(_exit_after or _unwinding)  # unwound; the parent waits for it to end
