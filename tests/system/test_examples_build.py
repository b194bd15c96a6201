"""The training examples built as a user builds them, then measured against their plans.

hill_repeats.yaml (a block with skip_last, tick countdowns) and stride_sets.yaml
(nested blocks), through `plan --json` and `build` with real engines and ffmpeg.
"""

from __future__ import annotations

import json
from pathlib import Path

import measure
import pytest
from click.testing import CliRunner

from voiceguide.cli import main

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "scripts_yaml"


@pytest.fixture(scope="module", params=["hill_repeats", "stride_sets"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    script = EXAMPLES / f"{request.param}.yaml"
    folder = tmp_path_factory.mktemp(request.param)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
        runner = CliRunner()
        planned = runner.invoke(main, ["plan", str(script), "--json", "--pace", "0"])
        assert planned.exit_code == 0, planned.stderr
        target = folder / f"{request.param}.mp3"
        result = runner.invoke(main, ["build", str(script), "--pace", "0", "-o", str(target)])
        assert result.exit_code == 0, result.stderr
    return {"plan": json.loads(planned.stdout), "mp3": target}


def test_chapters_are_the_expanded_stages_with_their_rounds(built: dict) -> None:
    plan = built["plan"]
    got = measure.chapters(built["mp3"])
    assert [c[0] for c in got] == [c["title"] for c in plan["chapters"]]
    rounds = [t for t, _, _ in got if t.endswith(")")]
    assert rounds and all(t.split("(")[-1].rstrip(")").count("/") == 1 for t in rounds)
    for (_, start, end), chapter in zip(got, plan["chapters"], strict=True):
        assert start == pytest.approx(chapter["start_s"], abs=0.002)
        assert end == pytest.approx(chapter["end_s"], abs=0.002)
    decoded = measure.decode(built["mp3"])
    assert abs(len(decoded) / measure.ANALYSIS_RATE - plan["duration_s"]) <= 0.050


def test_every_event_is_heard_when_the_plan_says(built: dict) -> None:
    timed, late, loud_gaps = measure.heard_as_planned(built["plan"], built["mp3"])
    assert timed >= 0.8
    assert late == {}
    assert loud_gaps == []


def test_loudness_holds(built: dict) -> None:
    integrated, peak = measure.loudness(built["mp3"])
    assert integrated == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0
