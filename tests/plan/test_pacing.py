"""Voices and pacing on the seed session, with real espeak-ng speech."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main

SEED = Path(__file__).resolve().parent.parent.parent / "scripts_yaml" / "back_engagement.yaml"


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


def plan(*args: str) -> tuple[dict, str]:
    result = CliRunner().invoke(main, ["plan", str(SEED), "--json", *args])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def stage_lengths(data: dict) -> list[float]:
    return [round(c["end_s"] - c["start_s"], 3) for c in data["chapters"]
            if c["title"].startswith("Stage")]


def test_pace_0_and_1_give_the_ends_of_the_ranges() -> None:
    assert stage_lengths(plan("--pace", "0")[0])[:4] == [90.0] * 4
    assert stage_lengths(plan("--pace", "1")[0])[:4] == [180.0] * 4


@pytest.mark.parametrize("target_s", [600, 720, 800])
def test_length_hits_a_reachable_target_within_one_percent(target_s: int) -> None:
    data, err = plan("--length", str(target_s))
    assert abs(data["duration_s"] - target_s) <= 0.01 * target_s
    assert "pace" in err and "out of reach" not in err


def test_length_out_of_reach_uses_the_nearest_end_and_says_so() -> None:
    short, err = plan("--length", "2m")
    assert "out of reach" in err
    assert short == plan("--pace", "0")[0]
    long, err = plan("--length", "2h")
    assert "out of reach" in err
    assert long == plan("--pace", "1")[0]


def spoken_seconds(data: dict) -> float:
    return sum(e["end_s"] - e["start_s"] for e in data["events"] if e["type"] == "speech"
               and e["voice"] == "coach")


def test_rate_120_speaks_about_twice_as_long_as_rate_240() -> None:
    slow = spoken_seconds(plan("--rate", "120", "--pace", "1")[0])
    fast = spoken_seconds(plan("--rate", "240", "--pace", "1")[0])
    assert 1.7 < slow / fast < 2.3


def test_another_voice_for_the_default_and_for_a_profile() -> None:
    data, _ = plan("--voice", "gmw/en-gb-x-rp", "--voice", "counter=gmw/en-us+f3")
    assert {e["voice"] for e in data["events"] if e["type"] == "speech"} == {"coach", "counter"}
    default, _ = plan()
    assert spoken_seconds(data) != spoken_seconds(default)
