"""The seed session built as a user builds it, then listened to by measurement.

`voiceguide plan --json` and `voiceguide build` on scripts_yaml/back_engagement.yaml
with real espeak-ng and ffmpeg; the decoded MP3 must match the plan.
"""

from __future__ import annotations

import json
from pathlib import Path

import measure
import pytest
from click.testing import CliRunner

from voiceguide.cli import main

SEED = Path(__file__).resolve().parent.parent.parent / "scripts_yaml" / "back_engagement.yaml"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("seed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
        runner = CliRunner()
        planned = runner.invoke(main, ["plan", str(SEED), "--json", "--pace", "0"])
        assert planned.exit_code == 0, planned.stderr
        target = folder / "back_engagement.mp3"
        result = runner.invoke(main, ["build", str(SEED), "--pace", "0", "-o", str(target)])
        assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{target}\n"
    return {"plan": json.loads(planned.stdout), "mp3": target}


def test_length_matches_the_plan(built: dict) -> None:
    decoded = measure.decode(built["mp3"])
    assert abs(len(decoded) / measure.ANALYSIS_RATE - built["plan"]["duration_s"]) <= 0.050


def test_every_stage_is_a_chapter_of_exactly_its_length(built: dict) -> None:
    plan = built["plan"]
    got = measure.chapters(built["mp3"])
    assert [c[0] for c in got] == [c["title"] for c in plan["chapters"]]
    assert [c[0] for c in got][1:6] == [
        "Stage 1: Lower back, standing", "Stage 2: Walk with the lower back and core",
        "Stage 3: Whole back, standing", "Stage 4: Walk with the whole back",
        "Stage 5: Scapula rotation"]
    for (_, start, end), chapter in zip(got, plan["chapters"], strict=True):
        assert start == pytest.approx(chapter["start_s"], abs=0.002)
        assert end == pytest.approx(chapter["end_s"], abs=0.002)
    assert [round(end - start, 3) for _, start, end in got[1:5]] == [90.0] * 4


def test_every_cue_is_heard_when_the_plan_says(built: dict) -> None:
    timed, late, loud_gaps = measure.heard_as_planned(built["plan"], built["mp3"])
    assert timed >= 0.8
    assert late == {}
    assert loud_gaps == []


def test_loudness_tags_and_no_warnings(built: dict) -> None:
    integrated, peak = measure.loudness(built["mp3"])
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0
    tags = measure.probe(built["mp3"])["format"]["tags"]
    assert tags["title"] == built["plan"]["title"] == "Back engagement for run form"
    assert tags["artist"] == "voiceguide"
    assert built["plan"]["warnings"] == []
