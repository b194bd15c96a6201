"""Open stages (spec 18) and targets (spec 19): read with located errors and their bounds,
spoken by {target} in English and German, carried on the plan's chapters, in its table
and its timeline picture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_plan import FakeClips, plan_of

from voiceguide.errors import ScriptError
from voiceguide.plan import Settings, make_plan
from voiceguide.plan.model import describe
from voiceguide.script import parse_script

HEADER = "title: T\nstart_sound: null\nfinish_sound: null\nannounce: false\n"


def stage(extra: str, say: str = "Go.") -> str:
    return HEADER + f"stages:\n  - name: Hill\n    duration: 60\n    say: \"{say}\"\n" + extra


def problems(text: str) -> list[str]:
    with pytest.raises(ScriptError) as caught:
        parse_script(text.encode(), Path("drill.yaml"))
    return [f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems]


def test_an_open_stage_is_on_its_chapter_and_lasts_its_longest() -> None:
    plan = plan_of(HEADER + """stages:
  - name: Hill
    open: true
    duration: 2:00..3:00
    say: Run to the top.
    cues:
      - {every: 45, say: "At the top, tap next."}
  - {name: Jog, duration: 30}
""", pace=1)
    chapters = json.loads(plan.dumps())["chapters"]
    assert [(c["open"], c["end_s"] - c["start_s"]) for c in chapters] == [(True, 180.0),
                                                                         (False, 30.0)]
    cues = [e.start_ms for e in plan.events if e.text == "At the top, tap next."]
    assert cues == [45_000, 90_000, 135_000]  # measured on its longest duration
    assert "open: ends when the runner moves on" in "\n".join(describe(plan))


@pytest.mark.parametrize(("extra", "say", "expected"), [
    ("    open: true\n    countdown: 3\n", "Go.", "10:16: an open stage has no countdown"),
    ("    open: true\n    countdown: {count: 3, sound: tick}\n", "Go.",
     "10:16: an open stage has no countdown"),
    ("    open: true\n    cues:\n      - {before_end: 10, say: Ten.}\n", "Go.",
     "11:10: an open stage has no 'before_end' cue"),
    ("    open: true\n", "{remaining} left.", "8:10: {remaining} has no meaning in an open"),
    ("    open: true\n    announce: \"{name}, {remaining}\"\n", "Go.",
     "10:15: {remaining} has no meaning in an open"),
    ("    open: yes please\n", "Go.", "9:11: open is true or false"),
    ("", "{target}", "8:10: {target} speaks the stage's target, and this stage has none"),
])
def test_what_an_open_stage_cannot_have_is_located(extra: str, say: str,
                                                   expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(stage(extra, say))), \
        problems(stage(extra, say))


@pytest.mark.parametrize(("target", "expected"), [
    ('{pace: "1:59/km"}', "pace must be 2:00..20:00 per km"),
    ('{pace: "20:01/km"}', "pace must be 2:00..20:00 per km"),
    ('{pace: "3:00/mi"}', "pace must be 2:00..20:00 per km"),  # 1:52 per km
    ('{pace: "4:50..4:30/km"}', "the low end (the faster) comes first"),
    ('{pace: "4:30"}', "pace is a time per km or mile"),
    ("{pace: 270}", "pace is a time per km or mile"),
    ("{heart_rate: 39}", "heart_rate must be 40..230"),
    ("{heart_rate: 231}", "heart_rate must be 40..230"),
    ("{heart_rate: 155..140}", "the low end comes first"),
    ("{heart_rate: fast}", "heart_rate is a whole number or a range"),
    ("{zone: 0}", "zone must be 1..5"),
    ("{zone: 6}", "zone must be 1..5"),
    ("{cadence: 99}", "cadence must be 100..220"),
    ("{cadence: 170..221}", "cadence must be 100..220"),
    ("{zone: 2, cadence: 170}", "exactly one of pace, heart_rate, zone or cadence"),
    ("{}", "exactly one of pace, heart_rate, zone or cadence"),
    ("{power: 200}", "unknown key 'power'"),
    ("fast", "target is a mapping"),
])
def test_a_target_out_of_its_bounds_is_located(target: str, expected: str) -> None:
    found = problems(stage(f"    target: {target}\n"))
    assert any(p.startswith("9:") and expected in p for p in found), found


@pytest.mark.parametrize(("target", "language", "spoken", "kind", "low", "high"), [
    ('{pace: "4:30..4:50/km"}', "en", "four thirty to four fifty per kilometre",
     "pace", 270, 290),
    ('{pace: "5:05/km"}', "en", "five oh five per kilometre", "pace", 305, 305),
    ('{pace: "7:30..8:00/mi"}', "en", "seven thirty to eight flat per mile",
     "pace", 279.617, 298.258),
    ("{heart_rate: 140..155}", "en", "a heart rate of 140 to 155", "heart_rate", 140, 155),
    ("{zone: 2}", "en", "zone two", "zone", 2, 2),
    ("{cadence: 170..180}", "en", "170 to 180 steps a minute", "cadence", 170, 180),
    ('{pace: "4:30..4:50/km"}', "de", "4 Minuten 30 bis 4 Minuten 50 pro Kilometer",
     "pace", 270, 290),
    ("{heart_rate: 140..155}", "de", "einen Puls von 140 bis 155", "heart_rate", 140, 155),
    ("{zone: 2}", "de", "Zone 2", "zone", 2, 2),
    ("{cadence: 170}", "de", "170 Schritte pro Minute", "cadence", 170, 170),
])
def test_a_target_is_spoken_and_on_the_chapter(target: str, language: str, spoken: str,
                                               kind: str, low: float, high: float) -> None:
    text = stage(f"    target: {target}\n", "Hold {target}.").replace(
        "title: T\n", f"title: T\nlanguage: {language}\n")
    plan = make_plan(parse_script(text.encode(), Path("drill.yaml")), Settings(), FakeClips())
    assert f"Hold {spoken}." in [e.text for e in plan.events]
    chapter = json.loads(plan.dumps())["chapters"][0]
    unit = {"pace": "s/km", "heart_rate": "bpm", "zone": "zone", "cadence": "spm"}[kind]
    assert chapter["target"] == {"kind": kind, "low": low, "high": high, "unit": unit}


def test_a_stage_without_a_target_has_none_on_its_chapter() -> None:
    assert json.loads(plan_of(stage("")).dumps())["chapters"][0]["target"] is None


def test_the_timeline_marks_an_open_stage() -> None:
    from voiceguide.phone.timeline import picture

    plain = picture(plan_of(stage("")))
    marked = picture(plan_of(stage("    open: true\n")))
    assert 'class="band open"' in marked and "⏵ " in marked
    assert 'class="band open"' not in plain and "⏵" not in plain
