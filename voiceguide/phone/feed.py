"""Publishing sessions as a podcast: the files, ``feed.xml`` and ``index.html`` in one folder.

Each published session leaves ``NAME.mp3``, ``NAME.vtt``, ``NAME.chapters.json``
(Podcasting 2.0 JSON chapters) and ``NAME.svg`` (its timeline) in the folder.
What the feed and the page need of every session is kept in
``.voiceguide-feed.json``, so publishing one script again updates its item and
keeps the others; a session whose MP3 is gone from the folder leaves the feed.
The ``guid`` is the MP3's sha256: it changes exactly when the audio does.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import stat
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from voiceguide.durations import clock
from voiceguide.errors import OutputError
from voiceguide.phone.timeline import picture
from voiceguide.phone.vtt import transcript
from voiceguide.plan import Plan

INDEX = ".voiceguide-feed.json"
FEED = "feed.xml"
PAGE = "index.html"
CHAPTERS_VERSION = "1.2.0"
TITLE = "voiceguide sessions"


@dataclass
class Entry:
    """One published session, as the feed and the page show it."""

    name: str
    title: str
    description: str
    duration_ms: int
    size: int
    guid: str
    published: str  # RFC 2822
    chapters: list[tuple[str, int]] = field(default_factory=list)  # (title, start ms)
    spoken: list[tuple[int, str]] = field(default_factory=list)  # (start ms, text)


def files(name: str) -> dict[str, str]:
    return {"mp3": f"{name}.mp3", "vtt": f"{name}.vtt", "chapters": f"{name}.chapters.json",
            "svg": f"{name}.svg"}


def write_extras(plan: Plan, folder: Path, name: str) -> None:
    """The transcript, the chapters and the timeline beside a session's MP3."""
    from voiceguide.mp3 import write_atomically

    named = files(name)
    write_atomically(folder / named["vtt"], transcript(plan).encode())
    write_atomically(folder / named["chapters"], chapters_json(plan).encode())
    write_atomically(folder / named["svg"], picture(plan).encode())


def chapters_json(plan: Plan) -> str:
    chapters = [{"startTime": round(c.start_ms / 1000, 3), "title": c.title}
                for c in plan.chapters]
    return json.dumps({"version": CHAPTERS_VERSION, "chapters": chapters}, indent=2,
                      ensure_ascii=False) + "\n"


def entry(plan: Plan, mp3: Path, name: str, earlier: Entry | None) -> Entry:
    digest = hashlib.sha256(mp3.read_bytes()).hexdigest()
    same = earlier is not None and earlier.guid == digest
    published = earlier.published if same and earlier else format_datetime(
        datetime.now(UTC).replace(microsecond=0))
    return Entry(name, plan.title, plan.description, plan.duration_ms, mp3.stat().st_size, digest,
                 published, [(c.title, c.start_ms) for c in plan.chapters],
                 [(e.start_ms, e.text or "") for e in plan.events if e.type == "speech"])


MAX_INDEX_BYTES = 64 << 20  # a thousand hour-long sessions' transcripts fit many times over


def load(folder: Path) -> dict[str, Entry]:
    """The sessions published in *folder* whose MP3 is still there; a damaged index (not
    a regular file, too large, not JSON, fields of the wrong types) reads as empty."""
    try:
        stored = json.loads(_read_regular(folder / INDEX, MAX_INDEX_BYTES).decode("utf-8"))
        found = {}
        for e in stored["sessions"]:
            read = _entry(e)
            found[read.name] = read
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    return {name: e for name, e in found.items() if (folder / files(name)["mp3"]).is_file()}


def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of *path* if it is a regular file of at most *limit* bytes (never a device,
    a pipe or a link out of the folder), else ValueError."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        facts = os.fstat(fd)
        if not stat.S_ISREG(facts.st_mode) or facts.st_size > limit:
            raise ValueError(f"{path} is not a regular file of at most {limit} bytes")
        return handle.read(limit + 1)


def _entry(data: dict[str, Any]) -> Entry:
    """An index entry, every field of its type (TypeError otherwise)."""
    texts = ("name", "title", "description", "guid", "published")
    numbers = ("duration_ms", "size")
    if set(data) != {*texts, *numbers, "chapters", "spoken"} \
            or not all(isinstance(data[k], str) for k in texts) \
            or not all(type(data[k]) is int and data[k] >= 0 for k in numbers):
        raise TypeError("an index entry with other fields")
    chapters = [(str(t), int(s)) for t, s in data["chapters"]
                if isinstance(t, str) and type(s) is int]
    spoken = [(int(s), str(t)) for s, t in data["spoken"] if isinstance(t, str) and type(s) is int]
    if len(chapters) != len(data["chapters"]) or len(spoken) != len(data["spoken"]) \
            or files(data["name"])["mp3"] != Path(files(data["name"])["mp3"]).name:
        raise TypeError("an index entry with other fields")
    return Entry(**{**data, "chapters": chapters, "spoken": spoken})


def save(folder: Path, entries: dict[str, Entry], base_url: str | None) -> None:
    """The index, ``feed.xml`` and ``index.html`` for *entries*."""
    from voiceguide.mp3 import write_atomically

    ordered = sorted(entries.values(), key=lambda e: e.name)
    write_atomically(folder / INDEX, (json.dumps(
        {"sessions": [asdict(e) for e in ordered]}, indent=1, ensure_ascii=False) + "\n").encode())
    write_atomically(folder / FEED, feed(ordered, base_url).encode())
    write_atomically(folder / PAGE, page(ordered, base_url).encode())


def url(base_url: str | None, name: str) -> str:
    return (base_url.rstrip("/") + "/" if base_url else "") + quote(name)


def feed(entries: list[Entry], base_url: str | None) -> str:
    """An RSS 2.0 podcast feed with the itunes: and Podcasting 2.0 podcast: tags."""
    items = []
    for e in entries:
        named = files(e.name)
        items.append("\n".join([
            "    <item>",
            f"      <title>{escape(e.title)}</title>",
            # RSS descriptions are HTML: the text is escaped for HTML, then for XML
            f"      <description>{escape(html.escape(e.description or e.title))}</description>",
            f"      <enclosure url={quoteattr(url(base_url, named['mp3']))} length=\"{e.size}\" "
            'type="audio/mpeg"/>',
            f'      <guid isPermaLink="false">{e.guid}</guid>',
            f"      <pubDate>{escape(e.published)}</pubDate>",
            f"      <itunes:duration>{round(e.duration_ms / 1000)}</itunes:duration>",
            f"      <podcast:chapters url={quoteattr(url(base_url, named['chapters']))} "
            'type="application/json+chapters"/>',
            f"      <podcast:transcript url={quoteattr(url(base_url, named['vtt']))} "
            'type="text/vtt"/>',
            "    </item>",
        ]))
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0">',
        "  <channel>",
        f"    <title>{TITLE}</title>",
        f"    <link>{escape(url(base_url, PAGE))}</link>",
        "    <description>Guided drills, built by voiceguide.</description>",
        "    <language>en</language>",
        "    <itunes:author>voiceguide</itunes:author>",
        "    <itunes:explicit>false</itunes:explicit>",
        *items,
        "  </channel>",
        "</rss>",
        "",
    ])


def page(entries: list[Entry], base_url: str | None) -> str:
    """index.html: works as plain files, no fonts, scripts or trackers from elsewhere."""
    sessions = "\n".join(_session(e) for e in entries)
    feed_address = escape(url(base_url, FEED)) if base_url else FEED
    return PAGE_TEMPLATE.format(title=TITLE, feed=feed_address, sessions=sessions,
                                absolute="true" if base_url else "false")


def _session(e: Entry) -> str:
    named = files(e.name)
    chapters = "\n".join(
        f'        <li><button type="button" data-start="{start / 1000:.3f}">'
        f"{escape(title)}</button> <span>{clock(start)}</span></li>"
        for title, start in e.chapters)
    spoken = "\n".join(f"          <li><time>{clock(start)}</time> {escape(text)}</li>"
                       for start, text in e.spoken)
    about = f" · {escape(e.description)}" if e.description else ""
    alt = quoteattr("Timeline of " + e.title)
    svg = quoteattr(quote(named["svg"]))
    return f"""    <section class="session" id={quoteattr(e.name)}>
      <h2>{escape(e.title)}</h2>
      <p class="meta">{clock(e.duration_ms)}{about}</p>
      <audio controls preload="metadata" src={quoteattr(quote(named["mp3"]))}></audio>
      <ol class="chapters">
{chapters}
      </ol>
      <div class="timeline"><img src={svg} alt={alt} loading="lazy"></div>
      <details>
        <summary>Transcript</summary>
        <ol class="transcript">
{spoken}
        </ol>
      </details>
    </section>"""


def check_folder(folder: Path) -> None:
    """DIR must be a folder voiceguide may write into (made if its parent exists)."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is not a folder; --to names a folder to publish into")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot use {folder} for publishing: {exc.strerror}") from exc
    probe = folder / ".voiceguide-write-test"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write to {folder}: {exc.strerror}") from exc


PAGE_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <style>
    :root {{ color-scheme: light dark; --accent: #2f6fdf; }}
    body {{ font: 17px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 44rem;
           padding: 1rem; }}
    h1 {{ font-size: 1.5rem; margin: 0.5rem 0; }}
    .feed code {{ word-break: break-all; }}
    .session {{ border-top: 1px solid #8884; padding: 1rem 0; }}
    .session h2 {{ font-size: 1.25rem; margin: 0; }}
    .meta {{ color: #777; margin: 0.25rem 0 0.75rem; }}
    audio {{ width: 100%; }}
    .timeline {{ overflow-x: auto; }}
    .timeline img {{ height: 160px; max-width: none; }}
    .chapters {{ padding-left: 1.5rem; }}
    .chapters li {{ margin: 0.35rem 0; }}
    .chapters button {{ font: inherit; padding: 0.35rem 0.6rem; border-radius: 0.5rem;
                       border: 1px solid var(--accent); background: none; color: inherit;
                       text-align: left; cursor: pointer; }}
    .chapters span, .transcript time {{ color: #777; font-variant-numeric: tabular-nums; }}
    .transcript {{ list-style: none; padding: 0; }}
    .transcript time {{ margin-right: 0.5rem; }}
  </style>
</head>
<body>
  <h1>{title}</h1>
  <p class="feed">Subscribe in a podcast app to take every session offline:
    <a href="feed.xml"><code id="feed-address">{feed}</code></a></p>
{sessions}
  <script>
    if (!{absolute}) {{
      document.getElementById("feed-address").textContent =
        new URL("feed.xml", location.href).href;
    }}
    for (const button of document.querySelectorAll("button[data-start]")) {{
      button.addEventListener("click", () => {{
        const audio = button.closest("section").querySelector("audio");
        audio.currentTime = parseFloat(button.dataset.start);
        audio.play().catch(() => {{}});
      }});
    }}
  </script>
</body>
</html>
"""
