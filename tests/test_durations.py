"""Durations, ranges and offsets: every written form, and the errors."""

import pytest

from voiceguide.durations import (
    DurationError,
    Offset,
    clock,
    duration_in_words,
    parse_duration,
    parse_offset,
    parse_range,
    resolve_range,
)


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        (90, 90_000),
        (7.5, 7_500),
        ("90", 90_000),
        ("90s", 90_000),
        ("2m", 120_000),
        ("1m30s", 90_000),
        ("1m 30s", 90_000),
        ("1h", 3_600_000),
        ("1:30", 90_000),
        ("0:40", 40_000),
        ("1:02:00", 3_720_000),
        ("0:07.5", 7_500),
        ("250ms", 250),
        (" 45s ", 45_000),
    ],
)
def test_durations_in_every_form(value: object, ms: int) -> None:
    assert parse_duration(value) == ms


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "more than 0 s"),
        (-5, "more than 0 s"),
        ("0s", "more than 0 s"),
        ("ninety", "is not a duration"),
        ("1:75", "below 60"),
        ("1:61:00", "below 60"),
        ("1m1m", "is not a duration"),
        ("5x", "is not a duration"),
        (True, "expected a duration"),
        (None, "expected a duration"),
        ([1], "expected a duration"),
        ("25:00:01", "longer than a day"),
        (float("nan"), "not a finite"),
    ],
)
def test_bad_durations_say_why(value: object, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_duration(value)


def test_ranges() -> None:
    assert parse_range("90..180") == (90_000, 180_000)
    assert parse_range("1:30..3:00") == (90_000, 180_000)
    assert parse_range([90, "3m"]) == (90_000, 180_000)
    assert parse_range(45) == (45_000, 45_000)
    with pytest.raises(DurationError, match="minimum is more than the maximum"):
        parse_range("180..90")
    with pytest.raises(DurationError, match="two durations"):
        parse_range([1, 2, 3])


def test_offsets() -> None:
    assert parse_offset("25%") == Offset(percent=25.0)
    assert parse_offset("0:40") == Offset(ms=40_000)
    assert parse_offset(0) == Offset(ms=0)
    assert parse_offset("50%").resolve(135_000) == 67_500
    with pytest.raises(DurationError, match="past the end"):
        parse_offset("120%")
    with pytest.raises(DurationError, match="percentage"):
        parse_offset("x%")


@pytest.mark.parametrize(
    ("pace", "ms"), [(0, 90_000), (0.5, 135_000), (1, 180_000), (0.333, 120_000),
                     (0.3339, 120_100)],
)
def test_ranges_resolve_to_the_nearest_tenth(pace: float, ms: int) -> None:
    assert resolve_range(90_000, 180_000, pace) == ms


def test_duration_in_words() -> None:
    assert duration_in_words(135_000) == "two minutes fifteen seconds"
    assert duration_in_words(60_000) == "one minute"
    assert duration_in_words(3_725_000) == "one hour two minutes five seconds"
    assert duration_in_words(45_000) == "forty-five seconds"
    assert duration_in_words(135_000, "de") == "2 Minuten 15 Sekunden"
    assert duration_in_words(135_000, "xx") == "2:15"


def test_clock() -> None:
    assert clock(90_000) == "1:30"
    assert clock(3_720_000) == "1:02:00"
    assert clock(7_500) == "0:07.5"


def test_needs_and_has_are_told_apart() -> None:
    from voiceguide.durations import needs_and_has

    assert needs_and_has(2400, 1500) == ("2.4 s", "1.5 s")
    assert needs_and_has(640, 550) == ("0.64 s", "0.55 s")  # both read 0.6 s to 0.1 s
    assert needs_and_has(601, 599) == ("0.601 s", "0.599 s")
    assert needs_and_has(600, 600) == ("0.6 s", "0.6 s")
