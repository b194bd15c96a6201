"""Files that appear whole or not at all, for every writer in voiceguide (MP3s,
transcripts, pictures, feeds, pages, covers); a folder's lock; a stretch of
work that signals do not cut short.

Everything goes to a temporary file beside the target, fsynced and renamed
over it, so a reader sees the old file or the new one, never a part. The
temporary file's name carries the process id, so a later write sweeps what a
killed one left. No audio here: the phone's files are written without numpy.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import secrets
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from voiceguide import scratch
from voiceguide.errors import OutputError

KEPT = "any earlier file there is unchanged"
NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def write_atomically(target: Path, data: bytes) -> None:
    """Write the output *data* to *target*: whole or not at all (OutputError if not)."""
    with replacing(Path(target)) as temp:
        temp.write_bytes(data)


def keep(target: Path, data: bytes) -> None:
    """Write *data* to *target* whole or not at all, for what voiceguide keeps for itself
    (the content store): an OSError is the caller's to judge, not an output that failed."""
    with _replaced(Path(target)) as temp:
        temp.write_bytes(data)


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary file beside *target*, fsynced and renamed over it if the block succeeds.

    Whatever happens, the temporary file does not stay behind; an OSError (e.g.
    the disk filled up while syncing) becomes an OutputError.
    """
    started = False
    try:
        with _replaced(target) as temp:
            started = True
            yield temp
    except OSError as exc:
        if not started:  # the folder could not be made, or the temporary file claimed
            raise OutputError(f"cannot write to {target.parent}: {exc.strerror}") from exc
        if exc.errno in NO_SPACE:
            raise OutputError(f"not enough space to write {target}: free some disk space and "
                              f"build again; {KEPT}") from exc
        raise OutputError(f"cannot write {target}: {exc.strerror}; {KEPT}") from exc


@contextlib.contextmanager
def _replaced(target: Path) -> Iterator[Path]:
    """The one atomic replace: ``.<name>.<pid>.<random>.tmp`` beside *target* (the same
    file system, so the rename is atomic), fsynced, renamed over it, never left behind.
    The process id in the name lets a later write remove what a killed one left."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    temp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    try:
        # claimed inside the try: a signal landing just after leaves nothing
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        yield temp
        _fsync(temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    _fsync_folder(target.parent)


def remove_stale_temps(target: Path) -> list[Path]:
    """Deletes temporary files beside *target* whose build process is gone (e.g. SIGKILLed)."""
    prefix = f".{target.name}."
    removed = []
    for entry in target.parent.glob(glob.escape(prefix) + "*.tmp"):
        pid, _, token = entry.name[len(prefix) : -len(".tmp")].partition(".")
        if pid.isdigit() and len(token) == 12 and not scratch.alive(int(pid)):
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every file system lets a folder be fsynced."""
    with contextlib.suppress(OSError):
        _fsync(folder)


@contextlib.contextmanager
def locked(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock file *path* (made if missing) for the block; while another process
    holds it, call *on_wait* once and wait. The lock goes with the process, however it
    ends, so a killed holder never leaves a folder locked."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
                     | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot lock {path}: {exc.strerror}; remove it if it is not "
                          "a file voiceguide made") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OutputError(f"cannot lock {path}: it is not a regular file; remove it")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)  # a signal still interrupts the wait
        yield
    finally:
        os.close(fd)


HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the block is done, then act as they would
    have (a few renames that must happen together are never cut in two by them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: arrived.append(signum))
                for signum in HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if arrived:
            signal.raise_signal(arrived[0])
