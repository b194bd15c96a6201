"""The timing rules (format section 3) on small scripts, with a fake clip source.

Clip lengths come from a fake so every expected time can be computed by hand:
each word of speech lasts 200 ms at 300 wpm-equivalent, each sound 1 s.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from voiceguide.durations import parse_duration
from voiceguide.errors import ScriptError
from voiceguide.plan import (
    AFTER_INTRO_MS,
    AFTER_SOUND_MS,
    BETWEEN_SPEECH_MS,
    CUE_WAIT_MS,
    INTRO_LEAD_MS,
    TAIL_MS,
    Settings,
    make_plan,
    speech_requests,
)
from voiceguide.script import parse_script

WORD_MS = 200
SOUND_MS = 1000


class FakeClips:
    """Every word lasts 200 ms (scaled by rate/175 when a rate is set); sounds 1 s."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def speech_ms(self, request) -> int:  # type: ignore[no-untyped-def]
        self.asked.append(request.text)
        words = len(request.text.split())
        scale = 175 / request.rate if request.rate else 1.0
        return round(words * WORD_MS * scale)

    def sound_ms(self, name: str) -> int:
        return SOUND_MS


def plan_of(text: str, **choices) -> object:  # type: ignore[no-untyped-def]
    script = parse_script(text.encode(), Path("drill.yaml"))
    return make_plan(script, Settings(**choices), FakeClips())


def starts(plan, kind: str | None = None) -> list[tuple[float, str]]:  # type: ignore[no-untyped-def]
    return [(e.start_ms, e.text or e.sound) for e in plan.events
            if kind is None or e.type == kind]


QUIET = "title: T\nannounce: false\nstart_sound: null\nfinish_sound: null\n"

BASIC = """\
title: Basic
announce: false
start_sound: null
finish_sound: null
stages:
  - name: A
    duration: 60
    cues:
      - {at: 10, say: one two}
      - {at: 50%, say: half}
      - {before_end: 5, say: five left}
  - name: B
    duration: 30..90
"""


def test_stages_are_exact_and_chapters_touch() -> None:
    plan = plan_of(BASIC)
    assert [(c.title, c.start_ms, c.end_ms) for c in plan.chapters] == [
        ("Stage 1: A", 0, 60_000),
        ("Stage 2: B", 60_000, 120_000),
    ]
    assert plan.duration_ms == 120_000
    assert starts(plan) == [(10_000, "one two"), (30_000, "half"), (55_000, "five left")]
    assert plan.warnings == ()


@pytest.mark.parametrize(("pace", "b_ms"), [(0, 30_000), (0.5, 60_000), (1, 90_000)])
def test_pace_picks_the_point_in_each_range(pace: float, b_ms: int) -> None:
    plan = plan_of(BASIC, pace=pace)
    assert plan.chapters[1].end_ms - plan.chapters[1].start_ms == b_ms
    assert plan.duration_ms == 60_000 + b_ms


def test_script_pace_and_stage_pace() -> None:
    text = BASIC.replace("title: Basic", "title: Basic\npace: 1")
    assert plan_of(text).duration_ms == 150_000
    text = text.replace("duration: 30..90", "duration: 30..90\n    pace: 0")
    assert plan_of(text).duration_ms == 90_000
    assert plan_of(text, pace=0.5).duration_ms == 120_000  # the command line wins


def test_stage_start_sequence_with_intro_and_outro() -> None:
    plan = plan_of("""\
title: Seq
intro: [a b c, d e]
outro: bye now
stages:
  - name: Run
    duration: 20
    say: [go go, {pause: 2}, more]
""")
    intro_1 = INTRO_LEAD_MS
    intro_2 = intro_1 + 3 * WORD_MS + BETWEEN_SPEECH_MS
    stage = intro_2 + 2 * WORD_MS + AFTER_INTRO_MS
    announce = stage + SOUND_MS + AFTER_SOUND_MS
    say_1 = announce + 3 * WORD_MS + BETWEEN_SPEECH_MS  # "Stage 1. Run."
    say_2 = say_1 + 2 * WORD_MS + 2000
    finish = stage + 20_000
    outro = finish + SOUND_MS + AFTER_SOUND_MS
    assert starts(plan) == [
        (intro_1, "a b c"), (intro_2, "d e"), (stage, "chime"), (announce, "Stage 1. Run."),
        (say_1, "go go"), (say_2, "more"), (finish, "bell"), (outro, "bye now"),
    ]
    assert [(c.title, c.start_ms, c.end_ms) for c in plan.chapters] == [
        ("Intro", 0, stage), ("Stage 1: Run", stage, finish),
        ("Outro", finish, outro + 2 * WORD_MS + TAIL_MS),
    ]
    assert plan.duration_ms == outro + 2 * WORD_MS + TAIL_MS


def test_placeholders_are_filled() -> None:
    plan = plan_of("""\
title: P
announce: "Part {number} of {stages}: {name}, {duration}."
start_sound: null
stages:
  - {name: Warm up, duration: 135}
""")
    assert plan.events[0].text == "Part 1 of 1: Warm up, two minutes fifteen seconds."


def test_a_cue_waits_for_speech_and_warns() -> None:
    plan = plan_of(QUIET + """\
stages:
  - name: A
    duration: 60
    say: w w w w w w w w w w
    cues:
      - {at: 1, say: late cue}
""")
    assert starts(plan)[1] == (10 * WORD_MS + CUE_WAIT_MS, "late cue")
    assert len(plan.warnings) == 1
    assert "waits 1.5 s for speech to finish" in plan.warnings[0]


def test_every_repeats_from_and_until() -> None:
    plan = plan_of(QUIET + """\
stages:
  - name: A
    duration: 100
    cues:
      - {every: 20, say: tick}
      - {every: 15, from: 0:30, until: 60%, say: tock}
""")
    assert starts(plan) == [
        (20_000, "tick"), (30_000, "tock"), (40_000, "tick"), (45_000, "tock"),
        (60_000, "tick"), (60_000 + WORD_MS + CUE_WAIT_MS, "tock"), (80_000, "tick"),
    ]
    assert any("waits" in w for w in plan.warnings)
    assert plan.warned == tuple(sorted({c.stage for c in plan.chapters if c.stage}))  # carried
    from voiceguide.phone.timeline import picture

    assert picture(plan).count("⚠ ") == len(plan.warned)  # flagged from it, not from text


def test_every_occurrence_that_cannot_fit_is_dropped() -> None:
    plan = plan_of(QUIET + """\
stages:
  - name: A
    duration: 30
    countdown: 3
    cues:
      - {every: 9, say: a b c d e f g h}
""")
    # due at 9 and 18 fit; at 27 it would run past the countdown at 27.
    assert starts(plan, "speech")[:2] == [(9_000, "a b c d e f g h"), (18_000, "a b c d e f g h")]
    assert [t for t, _ in starts(plan, "speech")][2:] == [27_000, 28_000, 29_000]
    assert len(plan.warnings) == 1 and "dropped" in plan.warnings[0]


def test_every_dropped_when_the_next_repeat_is_due() -> None:
    plan = plan_of(QUIET + """\
stages:
  - name: A
    duration: 60
    say: [a b c d e f g h i j k l m n o p q r s t u v w x y z]
    cues:
      - {every: 2, until: 8, say: rep}
""")
    # The opening speech runs to 5.2 s: the repeat due at 2 could only start
    # at 5.7, after its successor is due (4), so it is dropped; the one due at
    # 4 waits until 5.7; those due at 6 and 8 start on time.
    reps = [t for t, text in starts(plan) if text == "rep"]
    assert reps == [5_200 + CUE_WAIT_MS, 6_000, 8_000]
    assert sum("dropped" in w for w in plan.warnings) == 1


def test_countdown_numbers() -> None:
    plan = plan_of(QUIET + """\
stages:
  - {name: A, duration: 20, countdown: 3}
  - {name: B, duration: 10, countdown: 2}
""")
    assert starts(plan) == [(17_000, "three"), (18_000, "two"), (19_000, "one"),
                            (28_000, "two"), (29_000, "one")]


def test_countdown_in_digits_outside_english() -> None:
    plan = plan_of("title: C\nlanguage: de\nannounce: false\nstart_sound: null\n"
                   "stages:\n  - {name: A, duration: 20, countdown: 2}\n")
    assert [e.text for e in plan.events if e.type == "speech"] == ["2", "1"]


def test_a_say_that_does_not_fit_is_an_error_with_seconds() -> None:
    with pytest.raises(ScriptError) as info:
        plan_of("""\
title: F
announce: false
start_sound: null
stages:
  - name: Short
    duration: 5
    countdown: 3
    say: one two three four five six seven eight nine ten eleven
""")
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (5, 5)
    assert "stage 1 'Short'" in problem.message
    assert "needs 2.2 s but the stage has 2.0 s before its countdown" in problem.message


def test_a_cue_that_does_not_fit_is_an_error() -> None:
    with pytest.raises(ScriptError) as info:
        plan_of("""\
title: F
announce: false
start_sound: null
stages:
  - name: A
    duration: 30
    countdown: 5
    cues:
      - at: 24
        say: a b c d e f g h
""")
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (9, 9)
    assert "cue 1 (at 0:24) due at 0:24: needs 1.6 s but has 1.0 s before its countdown" \
        in problem.message


def test_cue_outside_the_stage_is_an_error() -> None:
    with pytest.raises(ScriptError, match="outside the stage"):
        plan_of("title: F\nstages:\n  - name: A\n    duration: 10\n    cues:\n"
                "      - {before_end: 20, say: x}\n")


def test_length_picks_the_closest_pace() -> None:
    plan = plan_of(BASIC, length_ms=100_000)
    assert plan.duration_ms == 100_000
    assert "pace 0.167" in plan.notes[0]


def test_length_out_of_reach_says_so() -> None:
    plan = plan_of(BASIC, length_ms=10 * 60_000)
    assert plan.duration_ms == 150_000
    assert "out of reach" in plan.notes[0]
    assert "1:30 at pace 0 to 2:30 at pace 1" in plan.notes[0]


def test_plan_json_shape() -> None:
    data = json.loads(plan_of(BASIC).dumps())
    assert data["format"] == "voiceguide.plan/1"
    assert data["duration_s"] == 120.0
    assert data["events"][0] == {"type": "speech", "start_s": 10.0, "end_s": 10.4, "stage": 1,
                                 "text": "one two", "voice": "default"}


def test_voices_and_overrides() -> None:
    text = """\
title: V
voices:
  coach: {voice: gmw/en-us, rate: 160}
  counter: {voice: gmw/en-gb, rate: 190, volume: 0.5}
voice: coach
announce: false
start_sound: null
stages:
  - name: A
    duration: 30
    say: hello
    cues:
      - {at: 10, say: ten, voice: counter}
      - {at: 20, say: twenty, voice: gmw/de}
"""
    plan = plan_of(text)
    voices = [(e.voice, e.request.voice, e.request.rate, e.volume) for e in plan.events
              if e.type == "speech"]
    assert voices == [("coach", "gmw/en-us", 160, 1.0), ("counter", "gmw/en-gb", 190, 0.5),
                      ("gmw/de", "gmw/de", None, 1.0)]
    plan = plan_of(text, voice="gmw/en-gb-x-rp", rate=120, profile_rates=(("counter", 200),),
                   speed=2.0)
    voices = [(e.voice, e.request.voice, e.request.rate) for e in plan.events
              if e.type == "speech"]
    assert voices == [("coach", "gmw/en-gb-x-rp", 240), ("counter", "gmw/en-gb", 400),
                      ("gmw/de", "gmw/de", 350)]


def test_speech_requests_cover_what_the_plan_asks() -> None:
    script = parse_script(BASIC.encode(), Path("d.yaml"))
    clips = FakeClips()
    make_plan(script, Settings(), clips)
    assert set(clips.asked) <= {r.text for r in speech_requests(script, Settings())}


stage_strategy = st.fixed_dictionaries({
    "duration": st.integers(5, 200),
    "countdown": st.integers(0, 5),
    "cues": st.lists(st.one_of(
        st.builds(lambda at, n: {"at": f"{at}%", "say": " ".join(["w"] * n)},
                  st.integers(0, 99), st.integers(1, 4)),
        st.builds(lambda every, n: {"every": every, "say": " ".join(["w"] * n)},
                  st.integers(1, 40), st.integers(1, 4)),
    ), max_size=4),
})


def assert_justified(message: str) -> None:
    """A timing error's own figures show it: what is needed does not fit what there is."""
    order = re.search(r"'from' (\S+) is after 'until' (\S+)$", message)
    if order:
        assert parse_duration(order.group(1)) > parse_duration(order.group(2)), message
        return
    found = re.search(r"needs (a stage longer than )?([\d.]+) s.*?has ([\d.]+) s", message)
    assert found, message
    longer_than, needed, has = found.group(1), float(found.group(2)), float(found.group(3))
    assert has <= needed if longer_than else needed > has, message


@settings(deadline=None)
@given(st.lists(stage_strategy, min_size=1, max_size=4), st.floats(0, 1))
@example([{"duration": 5, "countdown": 0, "cues": []},  # once read "needs 0.6 s but has 0.6 s"
          {"duration": 155, "countdown": 1, "cues": [{"at": "99%", "say": "w w w"}]}], 0.0)
def test_plan_invariants(stages: list[dict], pace: float) -> None:
    """Every drawn script either plans with all the invariants, or each of its errors is
    justified by its own numbers; either way the speech requests cover what was asked."""
    doc = {"title": "Fuzz", "stages": [{"name": f"S{i}", **s} for i, s in enumerate(stages)]}
    script = parse_script(json.dumps(doc).encode(), Path("drill.yaml"))
    clips = FakeClips()
    try:
        plan = make_plan(script, Settings(pace=pace), clips)
    except ScriptError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert_justified(problem.message)
        return
    finally:
        assert set(clips.asked) <= {r.text for r in speech_requests(script, Settings(pace=pace))}
    chapters = plan.chapters
    assert chapters[0].start_ms == 0 and chapters[-1].end_ms == plan.duration_ms
    for a, b in zip(chapters, chapters[1:], strict=False):
        assert a.end_ms == b.start_ms
    stage_chapters = [c for c in chapters if c.stage is not None]
    for chapter, stage in zip(stage_chapters, stages, strict=True):
        assert chapter.end_ms - chapter.start_ms == stage["duration"] * 1000
    assert [e.start_ms for e in plan.events] == sorted(e.start_ms for e in plan.events)
    for event in plan.events:
        if event.stage is None:
            continue
        chapter = stage_chapters[event.stage - 1]
        assert chapter.start_ms <= event.start_ms and event.end_ms <= chapter.end_ms
        countdown = stages[event.stage - 1]["countdown"] * 1000
        if event.text not in ("one", "two", "three", "four", "five"):
            assert event.end_ms <= chapter.end_ms - countdown


def test_the_planner_imports_no_audio_library() -> None:
    """Planning needs no numpy, no engine and no YAML parser loaded: a fresh interpreter shows."""
    code = ("import sys, voiceguide.plan; print(sorted(m for m in sys.modules if m.split('.')[0]"
            " in ('numpy', 'onnxruntime', 'pyttsx3', 'hibari') or m.startswith('voiceguide.speech.')"
            " and m != 'voiceguide.speech.request'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
