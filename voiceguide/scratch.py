"""Scratch folders in the temporary directory that no build leaves behind for good.

Each is named ``voiceguide-<pid>-<random>``. A build that is killed outright
(SIGKILL, a power cut) cannot remove its own; the first scratch folder any
later build makes removes those whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

PREFIX = "voiceguide-"
_OWNED = re.compile(rf"{re.escape(PREFIX)}(\d+)-")
_swept = False


def alive(pid: int) -> bool:
    """Whether a process with this id exists (someone else's counts). A zombie does not:
    it has ended, and only waits for a parent to read its status (one whose parent was
    killed waits for good where no init process reaps orphans, as in some containers)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[:1] != [b"Z"]
    except OSError:  # no /proc (not Linux), or ended meanwhile
        return os.path.exists(f"/proc/{pid}") or not os.path.isdir("/proc")


def make() -> Path:
    """A new scratch folder of this process; the caller removes it."""
    global _swept
    if not _swept:
        _swept = True
        sweep()
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))


@contextlib.contextmanager
def folder() -> Iterator[Path]:
    """A scratch folder for the length of a ``with`` block."""
    path = make()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep(where: Path | None = None) -> list[Path]:
    """Removes the scratch folders of processes that are gone; returns what it removed."""
    base = where or Path(tempfile.gettempdir())
    removed = []
    with contextlib.suppress(OSError):
        for entry in base.iterdir():
            match = _OWNED.match(entry.name)
            pid = int(match.group(1)) if match else os.getpid()
            if pid != os.getpid() and not alive(pid) and entry.is_dir() \
                    and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed
