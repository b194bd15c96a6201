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
import functools
import glob
import os
import re
import secrets
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path, PosixPath

from voiceguide import scratch
from voiceguide.errors import OptionError, OutputError, UsageError

KEPT = "any earlier file there is unchanged"
NO_SPACE = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def write_atomically(target: Path, data: bytes) -> None:
    """Write the output *data* to *target*: whole or not at all (OutputError if not)."""
    with replacing(Path(target)) as temp:
        temp.write_bytes(data)


def write_new(target: Path, data: bytes) -> None:
    """Write *data* to *target*, which must not exist: whole (written to a temporary file
    first), and never over a file, even one that appears meanwhile (OutputError)."""
    target = Path(target)
    temp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    try:
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        temp.write_bytes(data)
        _fsync(temp)
        os.link(temp, target)  # atomic, and refuses to replace
    except FileExistsError:
        raise UsageError(f"{target} exists; voiceguide never replaces it: choose another "
                          "name with -o") from None
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}") from exc
    finally:
        temp.unlink(missing_ok=True)
    _fsync_folder(target.parent)


def keep(target: Path, data: bytes) -> None:
    """Write *data* to *target* whole or not at all, for what voiceguide keeps for itself
    (the content store): an OSError is the caller's to judge, not an output that failed.
    Not synced to the disk: every entry carries its own checksum, so one that a power cut
    left short is found and made again, and syncing each would cost a build two waits on
    the disk an entry (hundreds of entries a cold build)."""
    with _replaced(Path(target), durable=False) as temp:
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
def _replaced(target: Path, durable: bool = True) -> Iterator[Path]:
    """The one atomic replace: ``.<name>.<pid>.<random>.tmp`` beside *target* (the same
    file system, so the rename is atomic), fsynced (when *durable*), renamed over it,
    never left behind. The process id in the name lets a later write remove what a
    killed one left."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    temp = target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    try:
        # claimed inside the try: a signal landing just after leaves nothing
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        yield temp
        if durable:
            _fsync(temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    if durable:
        _fsync_folder(target.parent)


def remove_stale_temps(target: Path) -> list[Path]:
    """Deletes temporary files beside *target* whose build process is gone (e.g. SIGKILLed)."""
    prefix = f".{target.name}."
    removed = []
    for entry in target.parent.glob(glob.escape(prefix) + "*.tmp"):
        if stale_temp(entry, target.name):
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def stale_temp(path: Path, name: str | None = None) -> bool:
    """*path* is one of ``_replaced``'s temporary files (for a file called *name*, or any)
    and the process that was writing it is gone."""
    if not (path.name.startswith(".") and path.name.endswith(".tmp")):
        return False
    parts = path.name[1 : -len(".tmp")].rsplit(".", 2)
    if len(parts) != 3 or (name is not None and parts[0] != name):
        return False
    _, pid, token = parts
    return pid.isdigit() and len(token) == 12 and not scratch.alive(int(pid))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def start_writeback(fd: int, start: int, end: int) -> int:
    """Asks the system to start writing bytes *start* .. *end* of the file open as *fd* to
    the disk (Linux's ``sync_file_range``), not waiting for it: a long file's sync, once
    it is all written, then waits for its last stretch only. Where the system has no such
    call, nothing; gives *end*."""
    if (call := _sync_file_range()) is not None:
        call(fd, start, end - start, SYNC_FILE_RANGE_WRITE)
    return end


SYNC_FILE_RANGE_WRITE = 2  # Linux's flag: start writing the range's dirty pages


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    import ctypes

    from voiceguide.tools import _c_library

    with contextlib.suppress(OSError, AttributeError):
        call = _c_library().sync_file_range
        call.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
        return call
    return None


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


# ---------------------------------------------------------------------------
# The output rules: every file voiceguide writes is checked by them before any work


def target_for(script: Path, output: Path | None, count: int) -> Path:
    """Where a script's MP3 goes, given ``-o`` (*output*) and how many scripts there are;
    checked before any work so a typo costs nothing.

    A symbolic link is followed (the file it points to is updated); anything at the
    target but a regular, writable file is refused rather than replaced.
    """
    name = script.stem + ".mp3"
    if output is None:
        folder = Path("output")
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot use the default output folder {folder}: "
                              f"{exc.strerror}; give -o FILE") from exc
        if not folder.is_dir():
            raise OutputError(f"{folder} is not a folder; remove it, or give -o FILE")
        output, count = folder / name, 1
    elif count > 1:
        if not output.is_dir():
            raise OutputError(f"{output} is not a folder; with several scripts, -o names an "
                              "existing folder")
        output = output / name
    elif output.is_dir():
        raise OutputError(f"{output} is a folder; give a file name such as {output / name}")
    if output.is_symlink():
        output = Path(os.path.realpath(output))
    if output.exists() and not output.is_file():
        raise OptionError(f"{output} is not a regular file; voiceguide replaces only "
                          "regular files", "-o")
    if output.exists() and not os.access(output, os.W_OK):
        raise OutputError(f"{output} is read-only; make it writable or choose another -o")
    folder = output.parent
    if not folder.is_dir():
        raise OutputError(f"folder {folder} does not exist; create it first (mkdir -p "
                          f"{folder})")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write to folder {folder}: permission denied")
    return output


def refuse_clashes(scripts: tuple[Path, ...], outputs: list[list[Path]],
                   option: str = "-o") -> None:
    """The output rules, before any work: nothing is written over a script, no two outputs
    go to one file, and each output is a regular file voiceguide may replace (or new)."""
    seen: dict[Path, tuple[Path, Path]] = {}
    inputs = {identity(s): s for s in scripts}
    for script, written in zip(scripts, outputs, strict=True):
        for output in written:
            where = identity(output)
            if where in inputs:
                raise OptionError(f"{output} is the script {inputs[where]}; write it "
                                  "somewhere else", option)
            if where in seen:
                first, _ = seen[where]
                what = (f"{first} and {script} would both be written to {output}" if first !=
                        script else f"{script} would write two of its files to {output}")
                raise OptionError(f"{what}; choose other names with {option}", option)
            seen[where] = (script, output)
            _replaceable(output, option)


class Folder(PosixPath):
    """An output that is a folder voiceguide writes files into (a session's stage files),
    not a file: told apart by what it is, never by its name (``hill.v2/`` has a suffix).
    ``writes`` matches the names it may write there; anything else in it is never
    touched, so it may stay."""

    writes: re.Pattern[str] = re.compile(r".*", re.DOTALL)


RECORD = ".voiceguide-files.json"  # in a Folder: the files voiceguide wrote there


def written_here(folder: Path) -> dict[str, str]:
    """The files voiceguide wrote in *folder* (name → sha256 of what it wrote), from the
    record it keeps there; {} where there is none or it cannot be read."""
    import json

    try:
        with open(folder / RECORD, "rb", opener=_no_follow) as source:
            kept = json.loads(source.read(1 << 20))
        files = kept["files"]
        if isinstance(files, dict) and all(isinstance(k, str) and isinstance(v, str)
                                           for k, v in files.items()):
            return files
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return {}


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def digest(path: Path) -> str | None:
    """The sha256 of the regular file *path* (a link is not followed), or None."""
    import hashlib

    try:
        with open(path, "rb", opener=_no_follow) as source:
            if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
                return None
            return hashlib.file_digest(source, "sha256").hexdigest()
    except OSError:
        return None


def unchanged(path: Path, expected: str) -> bool:
    """*path* is a regular file (not a link) that still holds what voiceguide wrote."""
    return digest(path) == expected


def remove_ours(folder: Path) -> None:
    """Remove what voiceguide wrote in *folder* and is still as it wrote it (its record
    says), the record, and the folder if nothing else is left in it."""
    for name, kept in written_here(folder).items():
        if Path(name).name == name and (not kept or unchanged(folder / name, kept)):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
    with contextlib.suppress(FileNotFoundError):
        (folder / RECORD).unlink()
    with contextlib.suppress(OSError):  # not empty: the user's own files stay, and it too
        folder.rmdir()


def record(folder: Path, files: dict[str, str]) -> None:
    """Note in *folder* the files voiceguide wrote there (name → sha256)."""
    import json

    write_atomically(folder / RECORD, json.dumps({"files": files}, indent=1, sort_keys=True)
                     .encode())


def foreign(folder: Folder) -> Path | None:
    """The first thing in *folder* that voiceguide could write over or remove but did not
    write there, or that was changed since (its record says what it wrote); None when
    a build may go ahead."""
    written = written_here(folder)
    for entry in sorted(folder.iterdir()):
        if entry.name == RECORD or stale_temp(entry) or not (
                entry.name in written or folder.writes.fullmatch(entry.name)):
            continue
        kept = written.get(entry.name)
        if kept is None or (kept and not unchanged(entry, kept)):
            return entry  # "": a file a build cut short was about to write
    return None


def _replaceable(output: Path, option: str) -> None:
    """A file voiceguide will write: anything there but a regular file (or, for a stage
    folder, a folder that holds only what voiceguide wrote there) is refused, and so is
    a read-only file."""
    if isinstance(output, Folder):
        if output.is_symlink() or (output.exists() and not output.is_dir()):
            raise OptionError(f"{output} is not a folder; the stage files go into a folder "
                              "of that name: move it away", option)
        if output.is_dir() and (theirs := foreign(output)) is not None:
            raise OptionError(f"{theirs} is not a file voiceguide wrote (or it was changed "
                              f"since); voiceguide removes or replaces only its own: move it "
                              f"out of {output}", option)
        return
    if output.exists() and not output.is_file():
        raise OptionError(f"{output} is not a regular file; voiceguide replaces only "
                          "regular files", option)
    if output.is_file() and not os.access(output, os.W_OK):
        raise OutputError(f"{output} is read-only; make it writable or choose another {option}")


def identity(path: Path) -> Path:
    """One name per file: the resolved path (the same file however it is named)."""
    return Path(os.path.realpath(path))
