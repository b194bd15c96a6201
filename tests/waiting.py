"""Waiting on something a test can see — a file appearing, a process gone — never on a
time being long enough: a busy machine only makes the wait longer, never wrong."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, AnyStr

PATIENCE = 180.0  # seconds before the thing waited for counts as never happening
STEP = 0.005


def until(condition: Callable[[], object], what: str, patience: float = PATIENCE) -> object:
    """The first true value of *condition*, looked at every few milliseconds; a failure
    naming *what* was awaited if it has not happened after *patience* seconds."""
    deadline = time.monotonic() + patience
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {patience:.0f} s for {what}")
        time.sleep(STEP)


def line_of(stream: IO[AnyStr], what: str, patience: float = PATIENCE) -> AnyStr:
    """The next line of *stream* (a program's output), read on a thread of its own so the
    wait has a bound: a failure naming *what* was awaited after *patience* seconds."""
    got: list[AnyStr] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(patience)
    if not got:
        raise AssertionError(f"waited {patience:.0f} s for {what}")
    return got[0]


def children(pid: int) -> list[int]:
    """The processes whose parent is *pid* (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
