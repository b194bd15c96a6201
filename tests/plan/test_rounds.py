"""Rounds, the new placeholders and sound countdowns (drill-script format, sections 7–9).

Timing logic with the fake clip lengths of test_plan (every word 200 ms, every
sound 1 s); real builds of the examples are in test_examples_build.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_plan import FakeClips, plan_of

from voiceguide.errors import ScriptError
from voiceguide.plan import Settings, make_plan, speech_requests
from voiceguide.script import MAX_STAGES, parse_script

HEADER = "title: T\nstart_sound: null\nfinish_sound: null\nannounce: false\n"


def texts(plan) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    return [(e.start_ms, e.text or f"♪ {e.sound}") for e in plan.events]


def titles(plan) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    return [(c.title, c.start_ms, c.end_ms) for c in plan.chapters]


def test_a_block_expands_round_by_round_with_skip_last() -> None:
    plan = plan_of(HEADER + """stages:
  - {name: Warm up, duration: 60}
  - repeat: 3
    name: Hills
    stages:
      - {name: Up, duration: 30, say: "Round {round} of {rounds}, stage {number} of {stages}."}
      - {name: Down, duration: 45, skip_last: true}
  - {name: Cool down, duration: 60}
""")
    assert titles(plan) == [
        ("Stage 1: Warm up", 0, 60_000),
        ("Stage 2: Up (1/3)", 60_000, 90_000), ("Stage 3: Down (1/3)", 90_000, 135_000),
        ("Stage 4: Up (2/3)", 135_000, 165_000), ("Stage 5: Down (2/3)", 165_000, 210_000),
        ("Stage 6: Up (3/3)", 210_000, 240_000),
        ("Stage 7: Cool down", 240_000, 300_000),
    ]
    assert texts(plan) == [(60_000, "Round 1 of 3, stage 2 of 7."),
                           (135_000, "Round 2 of 3, stage 4 of 7."),
                           (210_000, "Round 3 of 3, stage 6 of 7.")]
    assert plan.duration_ms == 300_000 and plan.warnings == ()


def test_nested_blocks_count_the_innermost_round() -> None:
    plan = plan_of(HEADER + """stages:
  - repeat: 2
    stages:
      - repeat: 3
        stages:
          - {name: Stride, duration: 20, say: "{round}/{rounds}"}
          - {name: Walk, duration: 40, skip_last: true}
      - {name: Rest, duration: 90, skip_last: true, say: "set {round}/{rounds}"}
""")
    assert [t for t, _, _ in titles(plan)] == [
        "Stage 1: Stride (1/3)", "Stage 2: Walk (1/3)", "Stage 3: Stride (2/3)",
        "Stage 4: Walk (2/3)", "Stage 5: Stride (3/3)", "Stage 6: Rest (1/2)",
        "Stage 7: Stride (1/3)", "Stage 8: Walk (1/3)", "Stage 9: Stride (2/3)",
        "Stage 10: Walk (2/3)", "Stage 11: Stride (3/3)"]
    assert [t for _, t in texts(plan)] == ["1/3", "2/3", "3/3", "set 1/2", "1/3", "2/3", "3/3"]


def test_time_placeholders_speak_the_scheduled_moment() -> None:
    plan = plan_of(HEADER + """intro: In all, {total} over {stages} stages.
stages:
  - name: Run
    duration: 2m
    say: "{duration} of running; {elapsed} gone, {remaining} left."
    cues:
      - at: 30.4
        say: "{elapsed} gone, {remaining} left. Next, {next}."
      - every: 50
        say: "{remaining}"
  - {name: Walk, duration: 1m}
""")
    spoken = [t for _, t in texts(plan)]
    assert spoken[0] == "In all, three minutes over 2 stages."
    assert spoken[1] == ("Two minutes of running; zero seconds gone, two minutes left.")
    assert "Thirty seconds gone, one minute thirty seconds left. Next, Walk." in spoken
    assert "One minute ten seconds" in spoken and "Twenty seconds" in spoken  # at 50 s, 100 s


@pytest.mark.parametrize(("length", "at", "elapsed", "remaining"), [
    ("45.3", "50%", "Twenty-three seconds", "twenty-three seconds"),  # 22.65 s of 45.3 s
    ("10.4", "4.6", "Five seconds", "six seconds"),  # 5.8 s left: six, never five
    ("10.6", "4.4", "Four seconds", "six seconds"),  # 6.2 s left
])
def test_elapsed_and_remaining_are_each_rounded_to_the_nearest_second(
        length: str, at: str, elapsed: str, remaining: str) -> None:
    """Spec 8: both are whole seconds, rounded to nearest, each on its own (the time left
    is not the stage's length less the rounded time gone)."""
    plan = plan_of(HEADER + f"""stages:
  - name: Run
    duration: {length}
    cues:
      - {{at: "{at}", say: "{{elapsed}} gone, {{remaining}} left."}}
""")
    assert f"{elapsed} gone, {remaining} left." in [t for _, t in texts(plan)]


def test_next_in_the_last_stage_is_left_out_with_a_warning() -> None:
    plan = plan_of(HEADER + """stages:
  - repeat: 2
    stages:
      - name: Hill
        duration: 30
        say: [Go., "Next up, {next}.", "{{braces}} stay."]
""")
    assert [t for _, t in texts(plan)] == ["Go.", "Next up, Hill.", "{braces} stay.",
                                           "Go.", "{braces} stay."]
    assert plan.warnings == ("stage 2 'Hill': the last stage has no next stage; left out: "
                             "'Next up, {next}.'",)


def test_cues_that_wait_wait_in_every_round() -> None:
    plan = plan_of(HEADER + """stages:
  - repeat: 2
    stages:
      - name: A
        duration: 20
        say: one two three four five
        cues:
          - {at: 0.5, say: six}
""")
    starts = [(start, text) for start, text in texts(plan) if text == "six"]
    waited = 1000 + 500  # five words, then the cue's gap
    assert starts == [(waited, "six"), (20_000 + waited, "six")]
    assert len(plan.warnings) == 2 and all("waits 1.0 s" in w for w in plan.warnings)


def test_a_countdown_with_a_sound() -> None:
    plan = plan_of(HEADER + """stages:
  - {name: A, duration: 10, countdown: {count: 3, sound: tick}}
  - {name: B, duration: 10, countdown: {count: 2}}
""", )
    assert texts(plan) == [(7_000, "♪ tick"), (8_000, "♪ tick"), (9_000, "♪ tick"),
                           (18_000, "two"), (19_000, "one")]


def test_a_countdown_sound_longer_than_a_second_is_an_error() -> None:
    class LongTicks(FakeClips):
        def sound_ms(self, name: str) -> int:
            return 1200

    script = parse_script((HEADER + "stages:\n  - {name: A, duration: 10, countdown: "
                           "{count: 3, sound: tick}}\n").encode(), Path("d.yaml"))
    with pytest.raises(ScriptError, match="countdown sound 'tick' lasts 1.2 s but has 1.0 s"):
        make_plan(script, Settings(), LongTicks())


def test_a_problem_in_every_round_is_reported_once_naming_the_stages() -> None:
    with pytest.raises(ScriptError) as raised:
        plan_of(HEADER + """stages:
  - repeat: 3
    stages:
      - name: A
        duration: 2
        say: far too many words for so short a stage, whatever the round it plays in
""")
    assert [str(p) for p in raised.value.problems] == [
        "drill.yaml:8:9: stages 1, 2 and 3 'A': the start (sound, announcement and say) needs "
        "3.0 s but the stage has 2.0 s before its end"]


def test_a_cue_that_fits_in_no_round_is_one_line_with_its_worst_round() -> None:
    """Round 4's {next} is longer, so its numbers differ from rounds 1-3: still one line,
    naming every stage, with the worst round's figures (spec 7.5)."""
    with pytest.raises(ScriptError) as raised:
        plan_of(HEADER + """stages:
  - repeat: 4
    stages:
      - name: Run
        duration: 20
        cues:
          - at: 19.5
            say: Soon {next} now.
  - name: Cool down easy and slowly
    duration: 10
""")
    assert [str(p) for p in raised.value.problems] == [
        "drill.yaml:11:13: stages 1, 2, 3 and 4 'Run', cue 1 (at 0:19.5) due at 0:19.5: "
        "needs 1.4 s but has 0.5 s before its end"]


def test_limits_are_located_at_the_outermost_block() -> None:
    with pytest.raises(ScriptError) as raised:
        plan_of(HEADER + "stages:\n  - repeat: 100\n    stages:\n      - repeat: 100\n"
                "        stages: [{name: A, duration: 5}]\n")
    assert [(p.line, p.column) for p in raised.value.problems] == [(6, 13)]
    assert f"more than {MAX_STAGES:,}" in raised.value.problems[0].message


# ---------------------------------------------------------------------------
# Properties of any expansion


def stage_doc(name: str, seconds: int, skip: bool, in_block: bool) -> dict:
    doc: dict = {"name": name, "duration": seconds}
    if in_block and skip:
        doc["skip_last"] = True
    return doc


@st.composite
def items(draw: st.DrawFn, depth: int = 0, in_block: bool = False) -> tuple[list, int, int]:
    """(YAML items, stages they expand to, the sum of their durations in s)."""
    docs, count, total = [], 0, 0
    for n in range(draw(st.integers(1, 3))):
        if depth < 2 and draw(st.booleans()):
            rounds = draw(st.integers(1, 4))
            inner, inner_count, inner_total = draw(items(depth + 1, True))
            body = [i for i in inner]
            skipped = [d for d in body if isinstance(d, dict) and d.get("skip_last")]
            last = inner_count - sum(1 for _ in skipped)
            if inner_count * (rounds - 1) + last == 0:
                continue  # expands to nothing: an error, tested in the corpus
            skipped_s = sum(d["duration"] for d in skipped)
            docs.append({"repeat": rounds, "stages": body})
            count += inner_count * rounds - len(skipped)
            total += inner_total * rounds - skipped_s
        else:
            seconds = draw(st.integers(5, 90))
            docs.append(stage_doc(f"S{depth}{n}", seconds, draw(st.booleans()), in_block))
            count += 1
            total += seconds
    return docs, count, total


@settings(deadline=None, max_examples=100)
@given(items())
def test_any_expansion_keeps_part_one(drawn: tuple[list, int, int]) -> None:
    docs, count, total = drawn
    if count == 0:
        return
    doc = {"title": "T", "start_sound": None, "finish_sound": None, "announce": False,
           "intro": "Hello.", "stages": docs}
    script = parse_script(json.dumps(doc).encode(), Path("drill.yaml"))
    plan = make_plan(script, Settings(), FakeClips())
    stage_chapters = [c for c in plan.chapters if c.stage is not None]
    assert len(script.stages) == len(stage_chapters) == count  # Σ rounds − skipped
    assert [s.number for s in script.stages] == list(range(1, count + 1))
    for stage, chapter in zip(script.stages, stage_chapters, strict=True):
        assert chapter.end_ms - chapter.start_ms == stage.duration[0]  # exactly its duration
    intro = plan.chapters[0]
    assert intro.title == "Intro"
    assert plan.duration_ms == intro.end_ms + total * 1000  # intro, then the stages
    asked = {r.text for r in speech_requests(script, Settings())}
    assert asked == {e.text for e in plan.events if e.type == "speech"}


def test_placeholders_that_begin_a_sentence_begin_it_in_capitals() -> None:
    from voiceguide.plan.layout import fill

    values = {"remaining": "six minutes", "name": "hill", "number": "2"}
    assert fill("Up the {name}. {remaining} left!", values) == "Up the hill. Six minutes left!"
    assert fill("{remaining} to go; {remaining} more", values) == "Six minutes to go; six minutes more"
    assert fill("Stage {number}? {name} it is", values) == "Stage 2? Hill it is"
    assert fill("Climb the {name}", values) == "Climb the hill"
