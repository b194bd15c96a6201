"""The timeline picture of a plan (spec sections 12 and 13.6), as a self-contained SVG.

Time runs across; one band per chapter named by its stage; every speech event
a bar labelled with the start of its text; sounds as marks; beds as shaded
strips; stages with warnings flagged, open stages (spec 18) marked ⏵ and dashed; a
minute scale underneath.

Positions are percentages of the picture's width and text is in pixels, so the
picture fits any width (a phone's 360 px or a desktop's) with text that stays
readable; the page zooms by making it wider. Each label has the room up to
where the next one begins, and shows only at picture widths where it fits
whole (media queries on the picture's own width, in steps of the page's
zoom): labels never overlap and are never cut to fragments, and more of them
show as the picture widens. Colours follow the system's dark mode. Every text
is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Callable

from voiceguide.durations import clock
from voiceguide.phone.text import attr, xml
from voiceguide.plan import Plan

HEIGHT = 150
# The picture's widths, in px, at which a label may first show: a phone's, then the
# page's zoom steps (2x to 16x); a label that fits none of them is left out.
WIDTHS = (300, 600, 1200, 2400, 4800)  # a 360 px phone shows the picture about 300 px wide
CHAR_PX = {"label": 7.5, "name": 9.5}  # a wide average letter at the labels' sizes, with margin
ROWS = {"chapters": 4, "names": 20, "speech": 40, "labels": 74, "sounds": 84, "beds": 100,
        "scale": 124}
STYLE = """
  .band { fill: #eef3fb; stroke: #c8d3e3; stroke-width: 0.5; }
  .band.odd { fill: #f8fafd; }
  .band.open { stroke-dasharray: 4 3; stroke-width: 1.5; }
  .name { fill: #1d2733; font-weight: bold; }
  .warn { fill: #c62828; }
  .speech { fill: #2f6fdf; }
  .label { fill: #1d2733; }
  .sound { fill: #d9822b; }
  .music { fill: #9bd3b0; opacity: 0.8; }
  .cadence { fill: #f2c14e; opacity: 0.8; }
  .tick { stroke: #5b6b7f; stroke-width: 1; }
  .minute { fill: #5b6b7f; }
  .fits { display: none; }
""" + "".join(f"  @media (min-width: {w}px) {{ .w{w} {{ display: inline; }} }}\n"
             for w in WIDTHS) + """  @media (prefers-color-scheme: dark) {
    .band { fill: #1b2636; stroke: #33445c; }
    .band.odd { fill: #152030; }
    .name, .label { fill: #e4ecf7; }
    .warn { fill: #ff8a80; }
    .speech { fill: #6f9ff5; }
    .minute { fill: #9fb0c5; }
    .tick { stroke: #9fb0c5; }
  }
"""


def picture(plan: Plan) -> str:
    span = max(plan.duration_ms, 1)

    def x(ms: int) -> str:
        return f"{max(0.0, min(100.0, ms * 100 / span)):.3f}%"

    def width(start: int, end: int) -> str:
        return f"{max(0.0, (end - start) * 100 / span):.3f}%"

    flagged = set(plan.warned)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{HEIGHT}" '
             'font-family="system-ui, sans-serif" font-size="13" class="timeline-picture" '
             f'role="img" aria-label={attr("Timeline of " + plan.title)}>',
             f"<title>{xml(plan.title)} — {clock(plan.duration_ms)}</title>",
             f"<style>{STYLE}</style>"]
    for index, chapter in enumerate(plan.chapters):
        where = f'x="{x(chapter.start_ms)}" width="{width(chapter.start_ms, chapter.end_ms)}"'
        odd = " odd" if index % 2 else ""
        kind = " open" if chapter.open else ""
        ends = ", open: ends when the runner moves on, at most" if chapter.open else ""
        parts.append(f'<rect class="band{odd}{kind}" {where} y="{ROWS["chapters"]}" '
                     f'height="{ROWS["scale"] - ROWS["chapters"]}"><title>{xml(chapter.title)} '
                     f"({clock(chapter.start_ms)}–{clock(chapter.end_ms)}{ends})</title></rect>")
        warn = chapter.stage is not None and chapter.stage in flagged
        label = ("⚠ " if warn else "") + ("⏵ " if chapter.open else "") + chapter.title
        fits = _fits(label, chapter.end_ms - chapter.start_ms, span, "name")
        if fits:
            parts.append(f'<svg {where} y="0" height="{ROWS["speech"]}"><text x="3" '
                         f'y="{ROWS["names"] + 8}" class="{"name warn" if warn else "name"} '
                         f'{fits}">{xml(label)}</text></svg>')
    for bed in plan.beds:
        top = ROWS["beds"] + (0 if bed.type == "music" else 10)
        what = (f"music: {', '.join(bed.files)}" if bed.type == "music"
                else f"cadence {bed.spm} steps per minute")
        parts.append(f'<rect class="{bed.type}" x="{x(bed.start_ms)}" '
                     f'width="{width(bed.start_ms, bed.end_ms)}" y="{top}" height="9">'
                     f"<title>{xml(what)}</title></rect>")
    speech = [e for e in plan.events if e.type == "speech"]
    for event, following in zip(speech, [*speech[1:], None][:len(speech)], strict=True):
        text = " ".join((event.text or "").split())
        parts.append(f'<rect class="speech" x="{x(event.start_ms)}" '
                     f'width="{width(event.start_ms, max(event.end_ms, event.start_ms + 1))}" '
                     f'y="{ROWS["speech"]}" height="18" rx="2"><title>{clock(event.start_ms)} '
                     f"{xml(event.voice or '')}: {xml(text)}</title></rect>")
        until = following.start_ms if following is not None else plan.duration_ms
        fits = _fits(text, until - event.start_ms, span, "label")
        if fits:
            parts.append(f'<svg x="{x(event.start_ms)}" width="{width(event.start_ms, until)}" '
                         f'y="{ROWS["labels"] - 14}" height="18"><text x="0" y="13" '
                         f'class="label {fits}" font-size="11">{xml(text)}</text></svg>')
    for event in plan.events:
        if event.type == "sound":
            parts.append(f'<svg x="{x(event.start_ms)}" y="{ROWS["sounds"]}" width="10" '
                         f'height="10" overflow="visible"><path class="sound" '
                         f'd="M0 0 l5 10 h-10 z"><title>{clock(event.start_ms)} '
                         f"{xml(event.sound or '')}</title></path></svg>")
    parts += _scale(plan.duration_ms, x)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _fits(text: str, room_ms: int, span_ms: int, kind: str) -> str:
    """The classes that show *text* from the first picture width at which it fits whole
    in *room_ms* of the *span_ms* the picture spans; "" where it fits at none."""
    needs = len(text) * CHAR_PX[kind] + 8  # the text starts 3 px into its box
    for width in WIDTHS:
        if width * room_ms / span_ms >= needs:
            return f"fits w{width}"
    return ""


def _scale(duration_ms: int, place: Callable[[int], str]) -> list[str]:
    """A tick every minute (every 5 or 10 in long sessions), labelled in minutes."""
    minutes = duration_ms // 60_000
    step = 1 if minutes <= 15 else 5 if minutes <= 60 else 10
    parts = []
    for minute in range(0, minutes + 1, step):
        at = place(minute * 60_000)
        parts.append(f'<line class="tick" x1="{at}" x2="{at}" y1="{ROWS["scale"]}" '
                     f'y2="{ROWS["scale"] + 6}"/>')
        anchor = "start" if minute == 0 else "middle"
        parts.append(f'<text class="minute" x="{at}" y="{ROWS["scale"] + 20}" font-size="11" '
                     f'text-anchor="{anchor}">{minute}′</text>')
    return parts
