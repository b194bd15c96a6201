"""Durations, ranges and offsets as drill scripts write them, in milliseconds.

``90``, ``7.5``, ``"90s"``, ``"2m"``, ``"1m30s"``, ``"1:30"``, ``"1:02:00"``
are durations; ``"90..180"`` and ``[90, 180]`` are ranges; ``"25%"`` is an
offset relative to a stage. Everything returns integer milliseconds, the one
unit voiceguide computes in.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MAX_DURATION_MS = 24 * 3600 * 1000  # a day: longer is surely a typo

_UNITS = {"h": 3_600_000, "m": 60_000, "s": 1000, "ms": 1}
_UNIT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_CLOCK_RE = re.compile(r"(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)")


class DurationError(ValueError):
    """A value is not a valid duration, range or offset; the text says why."""


@dataclass(frozen=True)
class Offset:
    """A point in a stage: fixed milliseconds from its start, or a percentage."""

    ms: int | None = None
    percent: float | None = None

    def resolve(self, stage_ms: int) -> int:
        if self.percent is not None:
            return round(stage_ms * self.percent / 100)
        assert self.ms is not None
        return self.ms

    def __str__(self) -> str:
        if self.percent is not None:
            return f"{self.percent:g}%"
        assert self.ms is not None
        return clock(self.ms)


def parse_duration(value: object) -> int:
    """A duration in milliseconds; it must be positive and at most a day."""
    ms = _parse_unchecked(value)
    if ms <= 0:
        raise DurationError(f"a duration must be more than 0 s, got {_show(value)}")
    if ms > MAX_DURATION_MS:
        raise DurationError(f"{_show(value)} is longer than a day; durations are at most 24:00:00")
    return ms


def parse_range(value: object) -> tuple[int, int]:
    """``MIN..MAX``, ``[MIN, MAX]`` or a single duration (MIN = MAX)."""
    if isinstance(value, list):
        if len(value) != 2:
            raise DurationError(f"a range is a list of two durations, got {len(value)} items")
        low, high = parse_duration(value[0]), parse_duration(value[1])
    elif isinstance(value, str) and ".." in value:
        left, _, right = value.partition("..")
        low, high = parse_duration(left.strip()), parse_duration(right.strip())
    else:
        low = high = parse_duration(value)
    if low > high:
        raise DurationError(f"range {_show(value)}: the minimum is more than the maximum")
    return low, high


def parse_offset(value: object) -> Offset:
    """A duration from the stage start, or a percentage of the stage (``25%``)."""
    if isinstance(value, str) and value.strip().endswith("%"):
        number = value.strip()[:-1].strip()
        if not _NUMBER_RE.fullmatch(number):
            raise DurationError(f"{_show(value)} is not a percentage like 25%")
        percent = float(number)
        if percent > 100:
            raise DurationError(f"{_show(value)} is past the end of the stage (at most 100%)")
        return Offset(percent=percent)
    if value == 0 or (isinstance(value, str) and value.strip() in ("0", "0s", "0:00")):
        return Offset(ms=0)
    return Offset(ms=parse_duration(value))


def resolve_range(low: int, high: int, pace: float) -> int:
    """The point ``pace`` of the way through a range, to the nearest 0.1 s."""
    exact = low + pace * (high - low)
    return math.floor(exact / 100 + 0.5) * 100


def _parse_unchecked(value: object) -> int:
    if isinstance(value, bool) or value is None:
        raise DurationError(f"expected a duration such as 90, 1:30 or 1m30s, got {_show(value)}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise DurationError(f"{_show(value)} is not a finite duration")
        return round(value * 1000)
    if not isinstance(value, str):
        raise DurationError(f"expected a duration such as 90, 1:30 or 1m30s, got {_show(value)}")
    text = value.strip().lower()
    if _NUMBER_RE.fullmatch(text):
        return round(float(text) * 1000)
    clock_match = _CLOCK_RE.fullmatch(text)
    if clock_match:
        hours, minutes, seconds = clock_match.groups()
        if float(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
            raise DurationError(f"{_show(value)}: minutes and seconds must be below 60")
        total = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
        return round(total * 1000)
    return _parse_units(text, value)


def _parse_units(text: str, original: object) -> int:
    compact = text.replace(" ", "")
    position, total, seen = 0, 0.0, []
    for match in _UNIT_RE.finditer(compact):
        if match.start() != position:
            break
        number, unit = match.groups()
        if unit in seen:
            break
        seen.append(unit)
        total += float(number) * _UNITS[unit]
        position = match.end()
    if not seen or position != len(compact):
        raise DurationError(
            f"{_show(original)} is not a duration; write seconds (90), 1:30, 1m30s or 2m"
        )
    return round(total)


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing"
    return str(value)


def clock(ms: int) -> str:
    """``1:30``, ``1:02:00`` or ``0:07.5``: how voiceguide shows times to people."""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    seconds, millis = divmod(ms, 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = f".{millis:03d}".rstrip("0") if millis else ""
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}{fraction}"
    return f"{sign}{minutes}:{secs:02d}{fraction}"


def seconds_text(ms: int, places: int = 1) -> str:
    """``12.3 s``: a short span in messages."""
    return f"{ms / 1000:.{places}f} s"


def needs_and_has(needs: int, has: int) -> tuple[str, str]:
    """Two spans for "needs X but has Y": to 0.1 s, or as finely as it takes to tell them
    apart (never "needs 0.6 s but has 0.6 s")."""
    for places in (1, 2, 3):
        shown = seconds_text(needs, places), seconds_text(has, places)
        if shown[0] != shown[1] or needs == has:
            return shown
    return shown


_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_in_words(n: int) -> str:
    """English words for a whole number (``135`` → ``one hundred thirty-five``)."""
    if n < 0:
        return "minus " + number_in_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    for size, word in ((1_000_000, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return f"{number_in_words(head)} {word}" + (
                f" {number_in_words(rest)}" if rest else ""
            )
    raise AssertionError("unreachable")


_UNIT_WORDS = {
    "en": (("hour", "hours"), ("minute", "minutes"), ("second", "seconds")),
    "de": (("Stunde", "Stunden"), ("Minute", "Minuten"), ("Sekunde", "Sekunden")),
    "es": (("hora", "horas"), ("minuto", "minutos"), ("segundo", "segundos")),
    "fr": (("heure", "heures"), ("minute", "minutes"), ("seconde", "secondes")),
    "it": (("ora", "ore"), ("minuto", "minuti"), ("secondo", "secondi")),
    "nl": (("uur", "uur"), ("minuut", "minuten"), ("seconde", "seconden")),
}


def duration_in_words(ms: int, language: str = "en") -> str:
    """How ``{duration}`` is spoken: words in English, digits elsewhere.

    English gives "two minutes fifteen seconds"; other languages give
    "2 Minuten 15 Sekunden" (digits that the speech engine reads in its own
    language), and an unknown language gives a clock time such as "2:15".
    """
    seconds = round(ms / 1000)
    language = language.split("-")[0].lower()
    if language not in _UNIT_WORDS:
        return clock(seconds * 1000)
    parts = []
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    for amount, (one, many) in zip((hours, minutes, secs), _UNIT_WORDS[language], strict=True):
        if amount:
            number = number_in_words(amount) if language == "en" else str(amount)
            parts.append(f"{number} {one if amount == 1 else many}")
    if not parts:
        return f"{'zero' if language == 'en' else '0'} {_UNIT_WORDS[language][2][1]}"
    return " ".join(parts)
