"""The command line's option types, shared options and display: validated at the edge,
failing with click's usage errors (exit 2), and the progress line and warnings on stderr."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from voiceguide import engines
from voiceguide.durations import DurationError, clock, parse_duration
from voiceguide.errors import UsageError, quoted, shown
from voiceguide.script.model import MAX_SPEED, MIN_SPEED

ALLOW_COMMANDS_ENV = "VOICEGUIDE_ALLOW_COMMANDS"
PACE_HELP = "Where each duration range resolves: 0 = shortest, 1 = longest."


def echo(text: str, err: bool = False) -> None:
    """One line of output with control characters shown escaped (see ``shown``)."""
    click.echo(shown(text), err=err)


class DurationType(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration(value)
        except DurationError as exc:
            self.fail(str(exc), param, ctx)


class PaceType(click.ParamType):
    name = "P"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        try:
            pace = float(value)
        except ValueError:
            self.fail(f"{quoted(str(value))} is not a number between 0 and 1", param, ctx)
        if not 0 <= pace <= 1:
            self.fail(f"{value} is not between 0 and 1", param, ctx)
        return pace


class RateType(click.ParamType):
    """``WPM`` for the default voice, or ``NAME=WPM`` for a named profile."""

    name = "[NAME=]WPM"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str | None, float]:
        if isinstance(value, tuple):
            return value
        name, _, number = value.rpartition("=")
        try:
            rate = float(number)
        except ValueError:
            self.fail(f"{quoted(str(value))} is not a rate in words per minute (e.g. 160 or "
                      "coach=160)",
                      param, ctx)
        if not 0 < rate <= 1000:
            self.fail(f"rate {number} is not between 0 and 1000 words per minute", param, ctx)
        return (name or None), rate


class VoiceType(click.ParamType):
    """``ID`` (or a profile name) for the default voice, or ``NAME=ID`` for a profile."""

    name = "[NAME=]ID"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str | None, str]:
        if isinstance(value, tuple):
            return value
        name, sep, voice = value.partition("=")
        if not sep:
            return None, value
        if not name or not voice:
            self.fail(f"{quoted(str(value))}: write ID, or NAME=ID to change a voice profile",
                      param, ctx)
        return name, voice


def build_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``build``, ``plan`` and ``check`` share."""
    options = [
        click.option("--pace", type=PaceType(), help=PACE_HELP),
        click.option("--length", "length", type=DurationType(),
                     help="Choose the pace whose session length is closest to this (e.g. 20m)."),
        click.option("--voice", "voices", type=VoiceType(), multiple=True,
                     help="The default voice (an engine voice id or a profile name), or "
                     "NAME=ID to change a profile's voice. Repeatable."),
        click.option("--rate", "rates", type=RateType(), multiple=True,
                     help="The default voice's rate in words per minute, or NAME=WPM for a "
                     "profile. Repeatable."),
        click.option("--engine", type=click.Choice(engines.BUILT_IN),
                     help="The default voice's engine; alone, it speaks with that engine's "
                     "voice for the script's language."),
        click.option("--speed", type=FiniteRange(MIN_SPEED, MAX_SPEED), default=1.0,
                     show_default=True, help="Multiply every voice's rate by this."),
        click.option("--allow-commands", is_flag=True, envvar=ALLOW_COMMANDS_ENV,
                     help="Let the script's voice profiles with engine: command run their "
                     f"programs (or set {ALLOW_COMMANDS_ENV}=1). Only for scripts you trust."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class FiniteRange(click.FloatRange):
    """click's FloatRange, refusing nan (which every range comparison lets through)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{quoted(str(value))} is not a number", param, ctx)
        return number


def settings(pace: float | None, length: int | None, voices: tuple, rates: tuple,
              engine: str | None, speed: float) -> Any:
    from voiceguide.plan import Settings

    if pace is not None and length is not None:
        raise click.UsageError("--pace and --length both choose the pace: give one of them")
    default_voice = [v for n, v in voices if n is None]
    default_rate = [r for n, r in rates if n is None]
    return Settings(
        pace=pace,
        length_ms=length,
        voice=default_voice[-1] if default_voice else None,
        rate=default_rate[-1] if default_rate else None,
        engine=engine,
        profile_voices=tuple((n, v) for n, v in voices if n is not None),
        profile_rates=tuple((n, r) for n, r in rates if n is not None),
        speed=speed,
    )


def session_options(choices: dict[str, Any], quiet: bool = True, **audio: Any) -> Any:
    """The session's options from the shared command-line choices (see build_options)."""
    from voiceguide.session import Options
    from voiceguide.store import CacheError, cache_limit

    try:
        cache_limit()  # a junk limit is found before any work, not after the MP3 is written
    except CacheError as exc:
        raise UsageError(str(exc)) from exc
    allow_commands = choices.pop("allow_commands")
    progress = None if quiet or not sys.stderr.isatty() else Progress()
    return Options(settings=settings(**choices), progress=progress,
                   allow_commands=allow_commands, **audio)


class Progress:
    """A one-line progress display on stderr for terminals: counts, percent and time left."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.last = ""
        self.label = ""
        self.clock = clock
        self.started: dict[str, float] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        now = self.clock()
        began = self.started.setdefault(what, now)
        left = ""
        if 0 < done < total and now - began >= 1:
            left = f", about {clock(round((now - began) * (total - done) / done * 1000))} left"
        count = f"{done:,}/{total:,} " if what.endswith("clips") else ""
        what = shown(self.label + what)
        line = (f"\r{what}: {count}{100 * done // max(total, 1):3d}%{left}" if done
                else f"\r{what}…")
        if line != self.last:
            padding = " " * max(0, len(self.last) - len(line))
            click.echo(line + padding, nl=False, err=True)
            self.last = line
        if done and done >= total:
            click.echo("\r" + " " * len(line) + "\r", nl=False, err=True)
            self.last = ""
            self.started.pop(what, None)


def warn(plan: Any, script: Path | str | None = None) -> None:
    """The plan's notes and warnings on stderr; named by *script* where several are built."""
    of = f"{script}: " if script is not None else ""
    for note in plan.notes:
        echo(f"voiceguide: {of}{note}", err=True)
    for warning in plan.warnings:
        echo(f"warning: {of}{warning}", err=True)



class SayTargetType(click.Path):
    """A file name that ``say`` can write: .mp3 or .wav."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        path = super().convert(value, param, ctx)
        if Path(str(path)).suffix.lower() not in AUDITION_SUFFIXES:
            self.fail(f"{quoted(str(value))}: say writes {' or '.join(AUDITION_SUFFIXES)} files",
                      param, ctx)
        return path


AUDITION_SUFFIXES = (".mp3", ".wav")


class BaseUrlType(click.ParamType):
    """An absolute http(s) address where the published folder can be fetched: no query or
    fragment (the files' names follow it), and never a user name or password, which the
    feed, the page and the calendar would publish."""

    name = "URL"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from voiceguide.phone.feed import address_problem, normal_address

        problem = address_problem(str(value))
        if problem:
            self.fail(f"{quoted(without_secrets(str(value)))} {problem}", param, ctx)
        try:
            return normal_address(str(value))
        except UnicodeError:  # a host IDNA cannot write (an empty label, one too long)
            self.fail(f"{quoted(str(value))} has a host name that is not one", param, ctx)


def without_secrets(address: str) -> str:
    """*address* with any user name and password left out, to quote in an error."""
    scheme, found, rest = address.partition("://")
    if not found or "@" not in rest.split("/", 1)[0]:
        return address
    return f"{scheme}://…@{rest.split('/', 1)[0].rpartition('@')[2]}/{rest.partition('/')[2]}"


class EmailType(click.ParamType):
    """An e-mail address for the feed's owner: one @, a dotted domain, nothing else."""

    name = "EMAIL"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        import re

        text = str(value)
        if not re.fullmatch(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+",
                            text) or len(text) > 254:
            self.fail(f"{quoted(str(value))} is not an e-mail address such as coach@example.org",
                      param,
                      ctx)
        return text


class SchedulerType(click.ParamType):
    """A Dask scheduler's address: tcp://HOST:PORT (or tls://)."""

    name = "ADDRESS"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from urllib.parse import urlsplit

        text = str(value)
        try:
            parts = urlsplit(text)
            good = parts.scheme in ("tcp", "tls") and bool(parts.hostname) \
                and parts.port is not None and parts.path in ("", "/") \
                and not ("?" in text or "#" in text or "@" in parts.netloc)
        except ValueError:
            good = False
        if not good:
            self.fail(f"{quoted(without_secrets(str(value)))} is not a Dask scheduler's "
                      "address such as tcp://127.0.0.1:8786 (no query, fragment or user)",
                      param, ctx)
        return text.rstrip("/")


class DateType(click.ParamType):
    """A calendar day, YYYY-MM-DD; kept as that text."""

    name = "DATE"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        import re
        from datetime import date

        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value).strip()):
                raise ValueError(value)
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{quoted(str(value))} is not a date such as 2027-01-04 (YYYY-MM-DD)",
                      param, ctx)
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            self.fail(f"{quoted(str(value))}: a programme's first day is in the years "
                      f"{FIRST_YEAR}-{LAST_YEAR}", param, ctx)
        return day.isoformat()


FIRST_YEAR, LAST_YEAR = 1970, 2999  # a calendar app's reach, with years of weeks to spare


class DaysType(click.ParamType):
    """Weekdays such as ``mon,wed,sat``; kept in that short form."""

    name = "DAYS"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from voiceguide.phone.calendar import ScheduleError, days_text, parse_days

        try:
            return days_text(parse_days(str(value)))
        except ScheduleError as exc:
            self.fail(str(exc), param, ctx)


class CategoryType(click.ParamType):
    """One of Apple Podcasts' categories, ``Main`` or ``Main › Sub`` (or ``>``), in any
    case; kept as Apple spells it."""

    name = "CATEGORY"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from voiceguide.phone.feed import category

        found = category(str(value))
        if found is None:
            self.fail(f"{quoted(str(value))} is not one of Apple Podcasts' categories, such as "
                      "'Health & Fitness › Fitness' or 'Sports › Running'", param, ctx)
        return found


class LanguageTagType(click.ParamType):
    """A feed's language as a BCP 47 tag: de, en-GB, pt-BR (never pt_BR)."""

    name = "LANGUAGE"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from voiceguide.words import is_language_tag

        if not is_language_tag(str(value)):
            self.fail(f"{quoted(str(value))} is not a language tag such as en, de or pt-BR",
                      param, ctx)
        return str(value)


class FeedTextType(click.ParamType):
    """A line of text for the feed (a title, an author): printable, not empty."""

    name = "TEXT"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = " ".join(str(value).split())
        if not text or not text.isprintable() or len(text) > 300:
            self.fail(f"{quoted(str(value))}: give a line of printable text (at most 300 "
                      "characters)",
                      param, ctx)
        return text
