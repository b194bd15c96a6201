"""Reading programme files (spec 17): every problem located, the bounds, the places."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceguide.errors import ScriptError
from voiceguide.script import load_script
from voiceguide.script.model import MAX_PROGRAMME_SESSIONS, MAX_WEEKS, Place
from voiceguide.script.programme import is_programme, load_programme, programmes_among

DRILL = """\
title: Drill
intro: Week {week} of {weeks}, session {session} of {sessions}.
stages:
  - name: Go
    duration: 20
    say: Go.
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "a.yaml").write_text(DRILL, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text(DRILL, encoding="utf-8")
    return tmp_path


def programme(folder: Path, text: str, name: str = "p.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, explicit: frozenset[Path] = frozenset()) -> list[str]:
    with pytest.raises(ScriptError) as caught:
        load_programme(path, explicit)
    return [str(p) for p in caught.value.problems]


def test_weeks_sessions_and_places(folder: Path) -> None:
    path = programme(folder, """\
programme: 1
title: Four weeks
author: Coach Dana
weeks:
  - sessions: [a.yaml, sub/b.yaml]
  - sessions:
      - {script: a.yaml, pace: 1, title: Longer, rate: coach=150, voice: gmw/en-us}
      - {script: a.yaml, length: 2m, speed: 1.5, rate: 170}
      - a.yaml
""")
    read = load_programme(path)
    assert is_programme(path) and not is_programme(folder / "a.yaml")
    assert (read.title, read.author, read.weeks) == ("Four weeks", "Coach Dana", 2)
    assert [(e.place, e.episode) for e in read.entries] == [
        (Place(1, 2, 1, 2), 1), (Place(1, 2, 2, 2), 2), (Place(2, 2, 1, 3), 3),
        (Place(2, 2, 2, 3), 4), (Place(2, 2, 3, 3), 5)]
    longer, timed = read.entries[2], read.entries[3]
    assert (longer.pace, longer.title, longer.rate, longer.voice) == (
        1.0, "Longer", ("coach", 150.0), (None, "gmw/en-us"))
    assert (timed.length_ms, timed.speed, timed.rate) == (120_000, 1.5, (None, 170.0))
    names = [e.name for e in read.entries]
    assert len(set(names)) == len(names)  # one script three times: three files
    assert read.entries[1].resolved == (folder / "sub" / "b.yaml").resolve()


def test_every_problem_is_located_at_once(folder: Path) -> None:
    (folder.parent / "outside.yaml").write_text(DRILL, encoding="utf-8")
    (folder / "other.yaml").write_text("programme: 1\ntitle: O\nweeks: [{sessions: [a.yaml]}]\n",
                                       encoding="utf-8")
    path = programme(folder, """\
programme: 1
title: Bad
autor: me
weeks:
  - sessions: [missing.yaml, p.yaml, ../outside.yaml, other.yaml, sub]
  - sessions: []
  - sessions:
      - {script: a.yaml, pace: 2, speed: 9, rate: fast}
      - {script: a.yaml, length: -1}
      - {script: a.yaml, pace: 0.5, length: 3m}
      - {scrip: a.yaml}
  - {sesions: [a.yaml]}
""")
    assert problems(path) == [
        f"{path}:3:1: unknown key 'autor' in a programme; did you mean 'author'?",
        f"{path}:5:16: script 'missing.yaml' does not exist",
        f"{path}:5:30: 'p.yaml' is this programme itself; name drill scripts",
        f"{path}:5:38: script '../outside.yaml' is outside the programme's folder; move it "
        "beside the programme, or name it on the command line too",
        f"{path}:5:55: 'other.yaml' is a programme; a programme's sessions are drill scripts",
        f"{path}:5:67: script 'sub' is a folder",
        f"{path}:6:15: a week with no sessions; give its sessions as a list of scripts, or "
        "leave the week out",
        f"{path}:8:32: pace must be in [0, 1], got 2",
        f"{path}:8:42: speed must be in [0.25, 4], got 9",
        f"{path}:8:51: rate 'fast' is words per minute (e.g. 160) or NAME=WPM (e.g. coach=160)",
        f"{path}:9:34: a duration must be more than 0 s, got -1",
        f"{path}:10:45: pace and length both choose the pace: give one of them",
        f"{path}:11:9: missing required key 'script'",
        f"{path}:11:10: unknown key 'scrip' in a session; did you mean 'script'?",
        f"{path}:12:5: missing required key 'sessions'",
        f"{path}:12:6: unknown key 'sesions' in a week; did you mean 'sessions'?",
    ]


def test_a_script_outside_may_be_named_when_the_user_names_it(folder: Path) -> None:
    outside = folder.parent / "shared.yaml"
    outside.write_text(DRILL, encoding="utf-8")
    path = programme(folder, "programme: 1\ntitle: T\nweeks:\n  - sessions: [../shared.yaml]\n")
    assert problems(path)
    found, loose = programmes_among((path, outside))
    assert loose == [] and found[0].entries[0].resolved == outside.resolve()


def test_the_bounds(folder: Path) -> None:
    weeks = "".join("  - sessions: [a.yaml]\n" for _ in range(MAX_WEEKS + 1))
    path = programme(folder, f"programme: 1\ntitle: Long\nweeks:\n{weeks}")
    assert problems(path) == [f"{path}:{4 + MAX_WEEKS}:5: more than {MAX_WEEKS} weeks in the "
                              "programme; split it into several"]
    per_week = MAX_PROGRAMME_SESSIONS // 10 + 1
    week = "  - sessions: [" + ", ".join(["a.yaml"] * per_week) + "]\n"
    path = programme(folder, f"programme: 1\ntitle: Many\nweeks:\n{week * 10}")
    assert len(problems(path)) == 1 and "more than 1,000 sessions" in problems(path)[0]


@pytest.mark.parametrize(("text", "message"), [
    ("programme: 2\ntitle: T\nweeks: [{sessions: [a.yaml]}]\n",
     "1:12: unsupported programme format 2: this voiceguide reads programme format 1"),
    ("programme: 1\nweeks: [{sessions: [a.yaml]}]\n", "1:1: missing required key 'title'"),
    ("programme: 1\ntitle: T\nweeks: {sessions: [a.yaml]}\n",
     "3:8: weeks is a list of weeks, each {sessions: [...]}"),
    ("programme: 1\ntitle: T\nweeks: [a.yaml]\n",
     "3:9: a week is a mapping {sessions: [...]}, got 'a.yaml'"),
])
def test_structure(folder: Path, text: str, message: str) -> None:
    path = programme(folder, text)
    assert problems(path) == [f"{path}:{message}"]


def test_programme_placeholders_speak_only_in_a_programme(folder: Path) -> None:
    with pytest.raises(ScriptError) as caught:
        load_script(folder / "a.yaml")
    assert [str(p) for p in caught.value.problems] == [
        f"{folder / 'a.yaml'}:2:8: {{week}}, {{weeks}}, {{session}}, {{sessions}} only mean "
        "something in a session of a programme, which gives its week and session"]
    placed = load_script(folder / "a.yaml", Place(2, 4, 1, 3))
    assert placed.place == Place(2, 4, 1, 3)
    (folder / "typo.yaml").write_text(DRILL.replace("{weeks}", "{wekes}"), encoding="utf-8")
    with pytest.raises(ScriptError) as caught:
        load_script(folder / "typo.yaml", Place(1, 1, 1, 1))
    assert "unknown placeholder {wekes}" in str(caught.value)
    assert "{week}, {weeks}" in str(caught.value)  # a programme's script may use them


def test_the_plan_speaks_the_place(folder: Path) -> None:
    from voiceguide.plan import Settings, make_plan

    class Lengths:
        def speech_ms(self, request: object) -> int:
            return 1000

        def sound_ms(self, name: str) -> int:
            return 500

    plan = make_plan(load_script(folder / "a.yaml", Place(2, 4, 1, 3)), Settings(), Lengths())
    assert plan.events[0].text == "Week 2 of 4, session 1 of 3."
