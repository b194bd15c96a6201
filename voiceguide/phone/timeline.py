"""The timeline picture of a plan (spec section 12), as a self-contained SVG.

Time runs across; one band per chapter; every speech event a bar labelled with
the start of its text; sounds as marks; beds as shaded strips; stages with
warnings flagged. Every text is XML-escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from voiceguide.durations import clock
from voiceguide.plan import Plan

MIN_WIDTH = 1200
PX_PER_S = 6  # wide enough that a label can stand over nearly every speech bar
CHAR_PX = 6.2  # an 11 px sans-serif character, about
MAX_LABEL_PX = 320
LANES = (40, 54, 68)  # label rows, taken in turn, so neighbouring labels do not overlap
LEFT, RIGHT = 12, 12
ROWS = {"chapters": 28, "speech": 74, "sounds": 122, "beds": 150}
HEIGHT = 196
COLOURS = {"band": ("#eef3fb", "#f8fafd"), "speech": "#2f6fdf", "sound": "#d9822b",
           "music": "#9bd3b0", "cadence": "#f2c14e", "warning": "#c62828", "text": "#1d2733"}


def picture(plan: Plan) -> str:
    span = max(plan.duration_ms, 1)
    width = max(MIN_WIDTH, round(span / 1000 * PX_PER_S))
    scale = (width - LEFT - RIGHT) / span

    def x(ms: int) -> float:
        return round(LEFT + ms * scale, 2)

    flagged = _stages_with_warnings(plan)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" '
             f'width="{width}" height="{HEIGHT}" font-family="sans-serif" font-size="11" '
             f'role="img" aria-label={quoteattr("Timeline of " + plan.title)}>',
             f"<title>{escape(plan.title)} — {clock(plan.duration_ms)}</title>",
             f'<rect width="{width}" height="{HEIGHT}" fill="white"/>']
    lane_free = [0.0] * len(LANES)  # where each label row is free again
    for index, chapter in enumerate(plan.chapters):
        left, right = x(chapter.start_ms), x(chapter.end_ms)
        fill = COLOURS["band"][index % 2]
        parts.append(f'<rect x="{left}" y="4" width="{round(right - left, 2)}" '
                     f'height="{HEIGHT - 8}" fill="{fill}" stroke="#c8d3e3" stroke-width="0.5">'
                     f"<title>{escape(chapter.title)} ({clock(chapter.start_ms)}–"
                     f"{clock(chapter.end_ms)})</title></rect>")
        number = chapter.stage
        label = chapter.title if number is None else f"{number}"
        warn = number in flagged
        colour = COLOURS["warning"] if warn else COLOURS["text"]
        parts.append(f'<text x="{left + 3}" y="{ROWS["chapters"] - 10}" fill="{colour}" '
                     f'font-weight="bold">{"⚠ " if warn else ""}{escape(label)}</text>')
    for bed in plan.beds:
        left, right = x(bed.start_ms), x(bed.end_ms)
        top = ROWS["beds"] + (0 if bed.type == "music" else 16)
        what = (f"music: {', '.join(bed.files)}" if bed.type == "music"
                else f"cadence {bed.spm} steps per minute")
        parts.append(f'<rect x="{left}" y="{top}" width="{round(right - left, 2)}" height="14" '
                     f'fill="{COLOURS[bed.type]}" opacity="0.7"><title>{escape(what)}</title>'
                     "</rect>")
    speech = [e for e in plan.events if e.type == "speech"]
    following = {id(e): x(n.start_ms) for e, n in zip(speech, speech[1:], strict=False)}
    for event in plan.events:
        left, right = x(event.start_ms), max(x(event.end_ms), x(event.start_ms) + 1)
        if event.type == "speech":
            text = event.text or ""
            parts.append(f'<rect x="{left}" y="{ROWS["speech"]}" width="{round(right - left, 2)}"'
                         f' height="18" rx="2" fill="{COLOURS["speech"]}"><title>'
                         f"{clock(event.start_ms)} {escape(event.voice or '')}: {escape(text)}"
                         "</title></rect>")
            lane = min(range(len(LANES)), key=lambda i: lane_free[i])
            # up to the label after the next one in the other rows, and never under 36 px
            room = min(MAX_LABEL_PX, max(right - left, 36.0,
                                         len(LANES) * (following.get(id(event), 1e9) - left)))
            words = _shorten(text, max(4, int(room / CHAR_PX)))
            if lane_free[lane] <= left:
                parts.append(f'<text x="{left}" y="{LANES[lane]}" '
                             f'fill="{COLOURS["text"]}">{escape(words)}</text>')
                lane_free[lane] = left + len(words) * CHAR_PX + 4
        else:
            parts.append(f'<path d="M{left} {ROWS["sounds"]} l5 10 h-10 z" '
                         f'fill="{COLOURS["sound"]}"><title>{clock(event.start_ms)} '
                         f"{escape(event.sound or '')}</title></path>")
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 6}" fill="#5b6b7f">0:00</text>')
    parts.append(f'<text x="{width - RIGHT}" y="{HEIGHT - 6}" fill="#5b6b7f" '
                 f'text-anchor="end">{clock(plan.duration_ms)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _stages_with_warnings(plan: Plan) -> set[int]:
    found = set()
    for warning in plan.warnings:
        head = warning.split(" ", 2)
        if len(head) > 1 and head[0] == "stage" and head[1].isdigit():
            found.add(int(head[1]))
    return found


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: max(1, limit - 1)] + "…"
