"""The player page, ``index.html`` (spec 13), and the files that make it a web app.

The page is plain HTML from the published sessions: per session its cover,
title, an audio element, controls, now-playing line, chapters, timeline and
transcript. What it does on the run (one session at a time, now playing,
Media Session for the earbuds and the lock screen, resume, offline copies)
is ``player/player.js``; the offline copies are served by ``player/sw.js``,
the service worker. Those files, and ``player/player.css``, ship in the
package and are copied beside the page: nothing is loaded from outside the
folder. The page's words follow the feed's language (``words.py``).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from voiceguide.phone.cover import thumbnail_name
from voiceguide.phone.feed import CALENDAR, Channel, Entry, files
from voiceguide.phone.text import attr, xml
from voiceguide.words import words

PLAYER = Path(__file__).with_name("player")
ASSETS = ("player.js", "player.css", "sw.js")  # copied beside index.html
MANIFEST = "manifest.webmanifest"


def _icon(path: str, name: str) -> str:
    return (f'<svg class="icon {name}" viewBox="0 0 24 24" width="24" height="24" '
            f'aria-hidden="true"><path d="{path}" fill="currentColor"/></svg>')


ICONS = {  # drawn, not characters: no symbol font is needed
    "play": _icon("M7 4v16l13-8z", "play"),
    "pause": _icon("M6 4h4v16H6zM14 4h4v16h-4z", "pause"),
    "previous": _icon("M5 4h3v16H5zM20 4v16L9 12z", "previous"),
    "next": _icon("M16 4h3v16h-3zM4 4v16l11-8z", "next"),
}


CONTROLS = (  # (action, the word for its label, what it shows)
    ("previous", "previous", ICONS["previous"]), ("back", "back", "−15"),
    ("toggle", "play", ICONS["play"] + ICONS["pause"]), ("forward", "forward", "+15"),
    ("next", "following", ICONS["next"]),
)


def _controls(said: dict[str, str]) -> str:
    return "\n".join(f'        <button type="button" class="control" data-action="{action}" '
                     f"aria-label={attr(said[word])}>{shows}</button>"
                     for action, word, shows in CONTROLS)


def mmss(ms: int) -> str:
    """``m:ss``, or ``h:mm:ss`` past an hour: whole seconds, as a runner reads a clock."""
    hours, rest = divmod(max(0, ms) // 1000, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def assets() -> dict[str, bytes]:
    """The page's own script, style and service worker, as shipped."""
    return {name: (PLAYER / name).read_bytes() for name in ASSETS}


def manifest(channel: Channel, entries: list[Entry]) -> str:
    """The web app manifest that makes the page installable."""
    icons = [{"src": quote(channel.image), "sizes": "any",
              "type": "image/png" if channel.image.endswith(".png") else "image/jpeg"}] \
        if channel.image else []
    return json.dumps({"name": channel.title, "short_name": channel.title[:30],
                       "lang": channel.feed_language(entries), "start_url": "./", "scope": "./",
                       "display": "standalone", "background_color": "#101820",
                       "theme_color": "#16335c", "icons": icons},
                      indent=1, ensure_ascii=False) + "\n"


def page(entries: list[Entry], channel: Channel, feed_url: str | None) -> str:
    """index.html for *entries*; *feed_url* is the absolute feed address, if known."""
    language = channel.feed_language(entries)
    said = words(language).page
    data = {"title": channel.title, "words": said, "cover": quote(channel.image),
            "sessions": [_data(e, channel) for e in entries]}
    if feed_url:
        feed = (f'<p class="feed">{xml(said["subscribe"])} <a href={attr(feed_url)}>'
                f'<code id="feed-address">{xml(feed_url)}</code></a></p>')
    else:
        feed = f'<p class="feed">{xml(said["no_feed"])}</p>'
    sessions = _grouped(entries, channel, language)
    if any(e.date for e in entries) and feed_url:
        feed += (f'\n    <p class="calendar"><a href={attr(quote(CALENDAR))} download>'
                 f'{xml(said["calendar"])}</a></p>')
    # JSON inside <script>: no '<', '>' or '&' can end the element or start a comment
    blob = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(
        ">", "\\u003e").replace("&", "\\u0026")
    icon = (f'\n  <link rel="icon" href={attr(quote(thumbnail_name(channel.image)))}>'
            if channel.image else "")
    lead = (f'\n    <p class="lead" hidden>{xml(said["up_next"])}: <a href="#"></a></p>'
            if any(e.week for e in entries) else "")
    return f"""<!doctype html>
<html lang={attr(language)}>
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <meta name="theme-color" content="#16335c">
  <title>{xml(channel.title)}</title>
  <meta name="description" content={attr(describe(channel, entries))}>
  <link rel="manifest" href="{MANIFEST}">{icon}
  <link rel="stylesheet" href="player.css">
  <script src="player.js" defer></script>
</head>
<body>
  <header class="site">
    <h1>{xml(channel.title)}</h1>
    {feed}
    <p class="offline-note" hidden>{xml(said["no_offline"])}</p>
  </header>
  <main>{lead}
{sessions}
  </main>
  <script type="application/json" id="voiceguide-data">{blob}</script>
</body>
</html>
"""


def describe(channel: Channel, entries: list[Entry]) -> str:
    """The page's description for search results and link previews: the feed's own, else
    its sessions' titles."""
    if channel.description:
        return channel.description
    titles = ", ".join(e.title for e in entries[:6]) + (" …" if len(entries) > 6 else "")
    return f"{channel.title}: {titles}" if titles else channel.title


def _grouped(entries: list[Entry], channel: Channel, language: str) -> str:
    """The sessions, under a heading per week where they belong to a programme."""
    parts, week = [], 0
    for e in entries:
        if e.week != week and week:
            parts.append("    </section>")
        if e.week and e.week != week:
            parts.append(f'    <section class="week" id="week-{e.week}" '
                         f'aria-labelledby="week-{e.week}-title">\n'
                         f'    <h2 class="week-title" id="week-{e.week}-title">'
                         f"{xml(words(language).week)} {e.week} "
                         '<span class="week-done"></span></h2>')
        week = e.week
        parts.append(_session(e, channel, words(e.language).page, heading="h3" if week else "h2"))
    if week:
        parts.append("    </section>")
    return "\n".join(parts)


def _data(e: Entry, channel: Channel) -> dict[str, object]:
    named = files(e.name)
    starts = [start for _, start in e.chapters]
    targets = e.targets if len(e.targets) == len(e.chapters) else [""] * len(e.chapters)
    chapters = [{"title": title, "start": start / 1000, "end": end / 1000,
                 "open": n in e.open, "target": targets[n]}
                for n, ((title, start), end) in enumerate(zip(e.chapters,
                                                              [*starts[1:], e.duration_ms],
                                                              strict=True))]
    cover = e.cover or channel.image
    return {"name": e.name, "title": e.title, "duration": e.duration_ms / 1000,
            "words": words(e.language).page, "language": e.language,
            "chapters": chapters, "cover": quote(cover) if cover else "",
            "files": [quote(f) for f in (named["mp3"], named["vtt"], named["chapters"],
                                         named["svg"], *([e.workout] if e.workout else []),
                                         *([cover, thumbnail_name(cover)] if cover else []))]}


def _session(e: Entry, channel: Channel, said: dict[str, str], heading: str = "h2") -> str:
    named = files(e.name)
    cover = e.cover or channel.image
    chapters = "\n".join(
        f'          <li><button type="button" class="chapter" data-start="{start / 1000:.3f}">'
        f'<span class="chapter-title">{xml(title)}</span> <time>{mmss(start)}</time>'
        "</button></li>" for title, start in e.chapters)
    spoken = "\n".join(f'          <li data-start="{start / 1000:.3f}"><time>{mmss(start)}</time>'
                       f" {xml(text)}</li>" for start, text in e.spoken)
    about = f" · {xml(e.description)}" if e.description else ""
    # a programme's day: the page writes it in the reader's words and marks today's
    day = (f'<time class="day" datetime="{e.date}">{e.date}</time> · ' if e.date else "")
    image = (f'<img class="cover" src={attr(quote(thumbnail_name(cover)))} alt="" width="72" '
             'height="72">' if cover else "")
    watch = (f'\n      <p class="watch"><a href={attr(quote(e.workout))} download>'
             f'{xml(said["watch"])}</a></p>' if e.workout else "")
    stages = ""
    if e.stages:
        listed = "\n".join(f'          <li><a href={attr(quote(e.name) + "/" + quote(s))}>'
                           f"{xml(s)}</a></li>" for s in e.stages)
        playlist = attr(quote(e.name) + "/" + quote(e.name + ".m3u8"))
        stages = f"""
      <details class="stage-files">
        <summary>{xml(said["stage_files"])}</summary>
        <p><a href={playlist}>{xml(e.name)}.m3u8</a></p>
        <ol>
{listed}
        </ol>
      </details>"""
    return f"""    <section class="session" id={attr("session-" + e.name)} data-name={attr(e.name)}
             lang={attr(e.language)}>
      <div class="head">
        {image}
        <div>
          <{heading}>{xml(e.title)}</{heading}>
          <p class="meta">{day}{mmss(e.duration_ms)}{about}</p>
          <p class="done-badge" hidden>✓ {xml(said["done"])}</p>
        </div>
      </div>
      <p class="resume" hidden><button type="button" class="resume-go">{xml(said["resume"])}
        <time></time></button> <button type="button" class="resume-restart">
        {xml(said["from_start"])}</button></p>
      <audio preload="metadata" controls src={attr(quote(named["mp3"]))}></audio>
      <div class="now" aria-live="polite" hidden>
        <p class="now-stage"><span class="label">{xml(said["now"])}</span> <strong></strong></p>
        <p class="now-target" hidden><span class="label">{xml(said["target"])}</span>
          <span></span></p>
        <p class="now-wait" role="status" hidden>{xml(said["waiting"])}</p>
        <p class="now-left"><time></time> {xml(said["left"])}</p>
        <p class="now-next"><span class="label">{xml(said["next"])}</span> <span></span></p>
        <p class="now-position"><span class="label">{xml(said["position"])}</span> <time></time></p>
      </div>
      <div class="controls">
{_controls(said)}
      </div>
      <p class="offline-row"><button type="button" class="offline">{xml(said["offline"])}</button>
        <span class="offline-state" role="status"></span>
        <button type="button" class="done-toggle" aria-pressed="false">
          {xml(said["mark_done"])}</button></p>{watch}
      <details class="chapters-box" open>
        <summary>{xml(said["chapters"])}</summary>
        <ul class="chapters">
{chapters}
        </ul>
      </details>
      <div class="timeline">
        <div class="zoom"><span>{xml(said["timeline"])}</span>
          <button type="button" class="zoom-out" aria-label={attr(said["zoom_out"])}>−</button>
          <button type="button" class="zoom-in" aria-label={attr(said["zoom_in"])}>+</button></div>
        <div class="scroller"><div class="track">
          <img src={attr(quote(named["svg"]))} alt={attr("Timeline of " + e.title)}>
          <div class="playhead" hidden></div>
        </div></div>
      </div>
      <details class="transcript-box">
        <summary>{xml(said["transcript"])}</summary>
        <ol class="transcript">
{spoken}
        </ol>
      </details>{stages}
    </section>"""
