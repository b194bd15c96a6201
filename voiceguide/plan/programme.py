"""A programme's plans together: the table ``plan PROGRAMME`` prints, and its JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator

from voiceguide.durations import clock
from voiceguide.plan.model import Plan
from voiceguide.script.programme import Entry, Programme

PROGRAMME_FORMAT = "voiceguide.programme/1"


def to_json(programme: Programme, plans: list[tuple[Entry, Plan]]) -> dict[str, object]:
    return {
        "format": PROGRAMME_FORMAT,
        "title": programme.title,
        "author": programme.author,
        "description": programme.description,
        "weeks": programme.weeks,
        "duration_s": round(sum(p.duration_ms for _, p in plans) / 1000, 3),
        "sessions": [{"week": e.place.week, "session": e.place.session,
                      "sessions": e.place.sessions, "episode": e.episode, "name": e.name,
                      "script": e.written, "plan": p.to_json()} for e, p in plans],
    }


def dumps(programme: Programme, plans: list[tuple[Entry, Plan]]) -> str:
    return json.dumps(to_json(programme, plans), indent=2, ensure_ascii=False)


def counted(number: int, what: str) -> str:
    """``1 week``, ``4 weeks``."""
    return f"{number} {what}{'' if number == 1 else 's'}"


def summary(programme: Programme, plans: list[tuple[Entry, Plan]]) -> str:
    """``4 weeks, 9 sessions, 2:05:13 in all``."""
    total = sum(p.duration_ms for _, p in plans)
    return (f"{counted(programme.weeks, 'week')}, {counted(len(plans), 'session')}, "
            f"{clock(total)} in all")


def describe(programme: Programme, plans: list[tuple[Entry, Plan]]) -> Iterator[str]:
    """One line per session under a heading per week."""
    yield f"{programme.title} — {summary(programme, plans)}"
    week = 0
    for entry, plan in plans:
        if entry.place.week != week:
            week = entry.place.week
            in_week = sum(p.duration_ms for e, p in plans if e.place.week == week)
            yield ""
            yield f"Week {week}: {counted(entry.place.sessions, 'session')}, {clock(in_week)}"
        yield (f"  {entry.place.session}. {plan.title} — {clock(plan.duration_ms)}, "
               f"{len(plan.chapters)} chapters ({entry.written})")
