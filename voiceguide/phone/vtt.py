"""A WebVTT transcript of a session: one cue per speech event, at the plan's times."""

from __future__ import annotations

from voiceguide.plan import Plan


def stamp(ms: int) -> str:
    """``HH:MM:SS.mmm``, as WebVTT writes times."""
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def escape(text: str) -> str:
    """Cue text as WebVTT reads it: &, < and > escaped (so no '-->' or tag can form)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def transcript(plan: Plan) -> str:
    lines = ["WEBVTT", ""]
    number = 0
    for event in plan.events:
        if event.type != "speech" or not event.text:
            continue
        number += 1
        lines += [str(number), f"{stamp(event.start_ms)} --> {stamp(event.end_ms)}",
                  escape(" ".join(event.text.split())), ""]
    return "\n".join(lines)
