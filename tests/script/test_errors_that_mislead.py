"""Errors point at what is wrong, and only at that (hostile input, kind 8): whatever the
line ends, however a value is nested, wherever an alias reuses a bad stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceguide.errors import ScriptError
from voiceguide.script import load_script

ENDS = {"LF": "\n", "CRLF": "\r\n", "CR": "\r"}
# (what is wrong on line 5, its text there, what the message says)
FAULTS = {
    "a byte that is not UTF-8": (b'    say: "caf\xff"', "not UTF-8"),
    "a NUL": (b'    say: "caf\x00"', "NUL"),
    "a control character": (b'    say: "caf\x07"', "U+0007"),
    "an unknown key": (b"    bogus: 1", "unknown key 'bogus'"),
    "a bad value": (b"    countdown: 99", "countdown must be 0..10"),
}


def problems(tmp_path: Path, data: bytes) -> list[tuple[int, int, str]]:
    path = tmp_path / "drill.yaml"
    path.write_bytes(data)
    with pytest.raises(ScriptError) as caught:
        load_script(path)
    return [(p.line, p.column, p.message) for p in caught.value.problems]


@pytest.mark.parametrize("ends", sorted(ENDS))
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_problem_is_located_on_its_line_whatever_the_line_ends(
        tmp_path: Path, ends: str, fault: str) -> None:
    bad, says = FAULTS[fault]
    lines = [b"title: Ends", b"stages:", b"  - name: A", b"    duration: 5", bad]
    found = problems(tmp_path, ENDS[ends].encode().join(lines) + ENDS[ends].encode())
    assert len(found) == 1 and found[0][0] == 5 and says in found[0][2], found


@pytest.mark.parametrize("count", ["{count: 3}", "[3]", "'3'", "true", "{}", "2.5"])
def test_a_countdowns_count_nested_wrongly_is_reported_beside_its_neighbours(
        tmp_path: Path, count: str) -> None:
    text = ("title: Counts\nstages:\n  - name: A\n    duration: 20\n"
            f"    countdown: {{count: {count}}}\n"
            "  - name: B\n    duration: 20\n    countdown: {count: 3, sound: nope}\n"
            "  - name: C\n    duration: 20\n    countdown: 11\n")
    found = problems(tmp_path, text.encode())
    assert [line for line, _, _ in found] == [5, 8, 11], found
    assert "count" in found[0][2]


def test_a_bad_stage_reused_by_an_alias_is_blamed_for_its_own_problem_only(
        tmp_path: Path) -> None:
    text = ("title: Aliases\nstages:\n  - &bad\n    name: Bad\n    duration: -2\n"
            "  - repeat: 1\n    stages:\n      - *bad\n      - name: Rest\n"
            "        duration: 5\n        skip_last: true\n  - *bad\n")
    found = problems(tmp_path, text.encode())
    assert found == [(5, 15, "a duration must be more than 0 s, got -2")], found


def test_a_block_that_really_expands_to_nothing_still_says_so(tmp_path: Path) -> None:
    """The control: every stage skip_last, once."""
    text = ("title: Empty\nstages:\n  - repeat: 1\n    stages:\n      - name: Rest\n"
            "        duration: 5\n        skip_last: true\n")
    found = problems(tmp_path, text.encode())
    assert len(found) == 1 and "expands to no stage" in found[0][2]
