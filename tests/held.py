"""Builds that stay running until a test lets them go: a voice whose program, the first
time it runs for a script, says so (a line in STARTED) and waits on the fifo GATE until
the test opens it (a build may ask for more than one clip: only the first waits).
Needs ``--allow-commands``."""

from __future__ import annotations

import os
from pathlib import Path

HELD = """\
title: TITLE
voices: {held: {engine: command, command: [sh, -c, 'grep -qx TITLE "$0" 2>/dev/null || {
  echo TITLE >> "$0"; cat "$1" >/dev/null; }; exec espeak-ng -w "$2" "Held a while."',
  STARTED, GATE, '{output}']}}
voice: held
stages:
  - name: Held
    duration: 5
    say: TITLE is held until the gate opens.
"""


def held(folder: Path, *names: str) -> tuple[list[str], Path, Path]:
    """Scripts that start building and wait; (their names, the STARTED file, the gate)."""
    started, gate = folder / "started.txt", folder / "gate"
    os.mkfifo(gate)
    for name in names:
        text = HELD.replace("STARTED", str(started)).replace("GATE", str(gate))
        (folder / f"{name}.yaml").write_text(text.replace("TITLE", name), encoding="utf-8")
    return [f"{name}.yaml" for name in names], started, gate


def begun(started: Path) -> list[str]:
    return started.read_text().split() if started.exists() else []


def open_gate(gate: Path) -> None:
    """Lets every build waiting at the gate go on (their readers see the end of the fifo)."""
    os.close(os.open(gate, os.O_WRONLY | os.O_NONBLOCK))
