"""``programme.ics`` (spec 17.4): a programme's sessions on their days, for any calendar.

``publish PROGRAMME --start DATE --days mon,wed,sat`` gives each session a day:
week W is the seven days from DATE + 7·(W − 1), and its sessions take, in
order, the days of that week that are among ``--days``. The calendar (RFC 5545,
written by the ``icalendar`` package, which folds and escapes as the RFC
asks) has one all-day event per session, titled as its feed item, linking to
the session on the player page and attaching its MP3. Like the feed, it is
written only where its address is known; ``serve`` makes it with its own.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

from voiceguide.errors import quoted
from voiceguide.phone.feed import Channel, Entry, enclosure, url

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as date.weekday() counts


class ScheduleError(ValueError):
    """--start or --days cannot place the sessions; the message says why."""


def parse_days(text: str) -> tuple[int, ...]:
    """``mon,wed,sat`` → (0, 2, 5); ScheduleError for anything else."""
    days = []
    for part in text.split(","):
        name = part.strip().lower()[:3]
        if part.strip().lower() not in (name, _full(name)) or name not in WEEKDAYS:
            raise ScheduleError(f"{quoted(part.strip())} is not a weekday; give days such as "
                                "mon,wed,sat")
        days.append(WEEKDAYS.index(name))
    if len(set(days)) != len(days):
        raise ScheduleError(f"{quoted(text)} names a day twice")
    return tuple(sorted(days))


def _full(short: str) -> str:
    return {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday",
            "fri": "friday", "sat": "saturday", "sun": "sunday"}.get(short, "")


def days_text(days: tuple[int, ...]) -> str:
    return ",".join(WEEKDAYS[d] for d in days)


def schedule(start: date, days: tuple[int, ...], weeks: list[int]) -> list[date]:
    """The day of every session: *weeks* gives each week's number of sessions."""
    found = []
    for number, count in enumerate(weeks):
        first = start + timedelta(days=7 * number)
        open_days = [first + timedelta(days=n) for n in range(7)
                     if (first + timedelta(days=n)).weekday() in days]
        if count > len(open_days):
            raise ScheduleError(f"week {number + 1} has {count} sessions and --days gives "
                                f"{len(open_days)} days a week; name more days")
        found += open_days[:count]
    return found


def calendar(entries: list[Entry], channel: Channel) -> bytes:
    """The calendar of the sessions that have a day; *channel* must know its address."""
    from icalendar import Calendar, Event, vText

    base = channel.base_url
    assert base, "a calendar needs its address"
    made = Calendar()
    made.add("prodid", "-//voiceguide//programme//EN")
    made.add("version", "2.0")
    made.add("calscale", "GREGORIAN")
    made.add("method", "PUBLISH")
    made.add("x-wr-calname", vText(channel.title))  # escaped as TEXT (\\ ; ,), as RFC 5545 asks
    page = url(base, "")
    for e in entries:
        if not e.date:
            continue
        day = date.fromisoformat(e.date)
        mp3 = url(base, enclosure(e))  # the bytes the feed describes, as it names them
        session = f"{page}#session-{e.name}"
        event = Event()
        uid = hashlib.sha256(f"{base}\0{e.name}".encode()).hexdigest()[:32]
        event.add("uid", f"{uid}@voiceguide")
        event.add("dtstamp", _stamp(e.published))
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", e.title)
        event.add("description", "\n".join(filter(None, (e.description, session))))
        event.add("url", session)
        event.add("attach", mp3, parameters={"FMTTYPE": "audio/mpeg"})
        event.add("transp", "TRANSPARENT")  # a run in the day, not a busy slot
        made.add_component(event)
    return made.to_ical()


def _stamp(published: str) -> datetime:
    """The item's publication time (stays while its audio does), as DTSTAMP."""
    try:
        return parsedate_to_datetime(published).astimezone(UTC)
    except (TypeError, ValueError):
        return datetime(1970, 1, 1, tzinfo=UTC)
