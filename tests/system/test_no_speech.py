"""A session with nothing to say (or nothing to hear at all) is still a session: every
command that takes a script makes all of its outputs, never an internal error."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main

SILENT = {  # no speech at all; no speech and no sound either
    "sounds only": "title: Chimes\nannounce: false\nstages:\n  - name: Quiet\n    duration: 4\n",
    "nothing": "title: Silent\nannounce: false\nstart_sound: null\nfinish_sound: null\n"
               "stages:\n  - name: Quiet\n    duration: 4\n  - name: Still\n    duration: 3\n"
               "    open: true\n",
}
COMMANDS = {
    "check": ["check", "{script}"],
    "plan": ["plan", "{script}"],
    "plan --json": ["plan", "{script}", "--json"],
    "plan --svg": ["plan", "{script}", "--svg", "{dir}/picture.svg"],
    "build, every output": ["build", "{script}", "-o", "{dir}/out.mp3", "--vtt", "--split",
                            "--fit"],
    "publish": ["publish", "{script}", "--to", "{dir}/site", "--base-url",
                "https://example.org/runs/"],
    "publish --split": ["publish", "{script}", "--to", "{dir}/site", "--split"],
}


@pytest.mark.parametrize("kind", sorted(SILENT))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_session_with_nothing_to_say_goes_through_every_command(
        tmp_path: Path, private_cache: Path, kind: str, command: str) -> None:
    script = tmp_path / "silent.yaml"
    script.write_text(SILENT[kind], encoding="utf-8")
    args = [a.format(script=script, dir=tmp_path) for a in COMMANDS[command]]
    result = CliRunner().invoke(main, [*args, "--engine", "espeak-ng"])
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    assert "music and cadence" not in result.output  # there is none to lower
    if command == "plan --svg":
        assert (tmp_path / "picture.svg").read_text(encoding="utf-8").endswith("</svg>\n")
    if command.startswith("publish"):
        site = tmp_path / "site"
        assert {"index.html", "silent.mp3", "silent.fit", "silent.svg"} <= {
            p.name for p in site.iterdir()}
