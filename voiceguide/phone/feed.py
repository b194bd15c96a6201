"""The podcast feed of a published folder, and the index that remembers what is in it.

Each published session leaves ``NAME.mp3``, ``NAME.vtt``, ``NAME.chapters.json``
(Podcasting 2.0 JSON chapters) and ``NAME.svg`` (its timeline) in the folder.
What the feed and the page need of every session, and what the publisher
chose for the feed (title, author, cover, address: the ``Channel``), is kept
in ``.voiceguide-feed.json``, so publishing one script again updates its item
and keeps the others and the choices; a session whose MP3 is gone from the
folder leaves the feed. The ``guid`` is the MP3's sha256: it changes exactly
when the audio does. Every URL in the feed is absolute (spec 15.3), so a feed
is written only when its address is known.
"""

from __future__ import annotations

import glob
import hashlib
import html
import json
import os
import stat
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from voiceguide.errors import OutputError
from voiceguide.phone.cover import thumbnail_name
from voiceguide.phone.text import attr, xml
from voiceguide.plan import Plan
from voiceguide.plan.model import target_text

INDEX = ".voiceguide-feed.json"
FEED = "feed.xml"
PAGE = "index.html"
CHAPTERS_VERSION = "1.2.0"
TITLE = "voiceguide sessions"
CATEGORY = "Health & Fitness › Fitness"
KINDS = ("episodic", "serial")  # itunes:type
CALENDAR = "programme.ics"  # a programme's sessions on their days
MAX_INDEX_BYTES = 64 << 20  # a thousand hour-long sessions' transcripts fit many times over


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
    cover: str = ""  # the session's own cover in the folder, if its script names one
    language: str = "en"
    stages: list[str] = field(default_factory=list)  # stage files, in order (--split)
    week: int = 0  # in a programme: its week (the feed's season), session and episode
    session: int = 0
    episode: int = 0  # 0: a session on its own
    date: str = ""  # in a programme with a calendar: its day, ISO 8601
    workout: str = ""  # the watch's workout file beside the MP3 (spec 20), if written
    open: list[int] = field(default_factory=list)  # the chapters (by index) the runner ends
    # each chapter's target as the page shows it ("": none), or [] when no chapter has one
    # (what a damaged index, read back from the files, knows of neither)
    targets: list[str] = field(default_factory=list)


@dataclass
class Channel:
    """What the publisher chose for the feed as a whole; kept for the next publish."""

    title: str = TITLE
    author: str = "voiceguide"
    email: str = ""
    category: str = CATEGORY
    language: str = ""  # "": the sessions' own, when they agree
    base_url: str = ""  # "": not known; no feed.xml is written
    image: str = ""  # the cover's file name in the folder
    drawn_for: str = ""  # the title a generated cover shows (redrawn when it changes)
    description: str = ""  # "": a line made from the author
    kind: str = "episodic"  # a programme's feed is "serial": its episodes in order
    start: str = ""  # a programme's calendar: its first day (ISO 8601) and its weekdays
    days: str = ""

    def feed_language(self, entries: list[Entry]) -> str:
        if self.language:
            return self.language
        spoken = {e.language for e in entries}
        return spoken.pop() if len(spoken) == 1 else "en"


def session_name(script: Path) -> str:
    """The name a loose script's published files take: its file's stem, without leading
    dots (``.warmup.yaml`` is published as ``warmup.mp3``: a hidden file is never served)."""
    return script.stem.lstrip(".") or "session"


def files(name: str) -> dict[str, str]:
    return {"mp3": f"{name}.mp3", "vtt": f"{name}.vtt", "chapters": f"{name}.chapters.json",
            "svg": f"{name}.svg", "fit": f"{name}.fit",
            # the page's copy of the session's own cover (NAME.cover.png or .jpg)
            "thumbnail": thumbnail_name(f"{name}.cover.png")}


ENCLOSURE_HEX = 12  # of the MP3's sha256, in the name the feed gives it


def enclosure(entry: Entry) -> str:
    """The name the feed gives the session's MP3: ``NAME.<sha256 start>.mp3``, a hard link
    to ``NAME.mp3`` made with it. So a feed on disk names the very bytes it describes at
    any instant: a new MP3 comes in under a new name, the feed follows it, and the old name
    goes only once no feed names it (a publish killed between the two leaves the old
    feed's MP3 in place)."""
    return f"{entry.name}.{entry.guid[:ENCLOSURE_HEX]}.mp3"


def enclosures_of(folder: Path, name: str) -> list[Path]:
    """Every ``NAME.<hex>.mp3`` in *folder*: the session *name*'s MP3 under the names feeds
    gave it."""
    width = len(name) + 1 + ENCLOSURE_HEX + len(".mp3")
    return sorted(p for p in folder.glob(glob.escape(name) + ".*.mp3")
                  if len(p.name) == width
                  and all(c in "0123456789abcdef" for c in p.name[len(name) + 1:-4]))


def chapters_json(plan: Plan) -> str:
    chapters = [{"startTime": round(c.start_ms / 1000, 3), "title": c.title}
                for c in plan.chapters]
    return json.dumps({"version": CHAPTERS_VERSION, "chapters": chapters}, indent=2,
                      ensure_ascii=False) + "\n"


def entry(plan: Plan, mp3: Path, name: str, earlier: Entry | None, *, cover: str = "",
          language: str = "en", stages: list[str] | None = None) -> Entry:
    digest = hashlib.sha256(mp3.read_bytes()).hexdigest()
    same = earlier is not None and earlier.guid == digest
    published = earlier.published if same and earlier else format_datetime(
        datetime.now(UTC).replace(microsecond=0))
    workout = files(name)["fit"]
    return Entry(name, plan.title, plan.description, plan.duration_ms, mp3.stat().st_size, digest,
                 published, [(c.title, c.start_ms) for c in plan.chapters],
                 [(e.start_ms, e.text or "") for e in plan.events if e.type == "speech"],
                 cover, language, stages or [],
                 workout=workout if (mp3.parent / workout).is_file() else "",
                 open=[n for n, c in enumerate(plan.chapters) if c.open],
                 targets=[target_text(c.target) if c.target else "" for c in plan.chapters]
                 if any(c.target for c in plan.chapters) else [])


# ---------------------------------------------------------------------------
# The index


def load(folder: Path) -> dict[str, Entry]:
    """The sessions published in *folder* whose MP3 is still there."""
    return load_all(folder)[1]


def load_all(folder: Path) -> tuple[Channel, dict[str, Entry]]:
    """The kept channel and the sessions whose MP3 is still there."""
    index = read_index(folder)
    return index.channel, index.entries


@dataclass
class Index:
    """What the index says of a folder."""

    channel: Channel
    entries: dict[str, Entry]  # the sessions whose MP3 is still there
    pending: list[str] = field(default_factory=list)  # a commit cut short: see publish.py
    # sessions a commit takes out (a programme's episodes it no longer has): their files go
    withdrawn: list[str] = field(default_factory=list)
    damaged: bool = False  # unreadable: the entries were read back from the files


def read_index(folder: Path) -> Index:
    """The index of *folder*. A damaged one (not a regular file, too large, not JSON,
    fields of the wrong types), or none, gives the sessions read back from their files
    (``read_back``), so no session whose files are there leaves the feed."""
    path = folder / INDEX
    try:
        stored = json.loads(_read_regular(path, MAX_INDEX_BYTES).decode("utf-8"))
        found = {}
        for e in stored["sessions"]:
            read = _entry(e)
            found[read.name] = read
        pending, withdrawn = stored.get("pending", []), stored.get("withdrawn", [])
        if not all(isinstance(names, list) and all(isinstance(p, str) and _plain_name(p)
                                                   for p in names)
                   for names in (pending, withdrawn)):
            raise TypeError("pending or withdrawn names that are not plain names")
    except FileNotFoundError:
        return Index(Channel(), read_back(folder))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Index(Channel(), read_back(folder), damaged=True)
    return Index(_channel(stored.get("channel", {})),
                 {name: e for name, e in found.items()
                  if (folder / files(name)["mp3"]).is_file()}, pending, withdrawn=withdrawn)


def read_back(folder: Path, only: str | None = None) -> dict[str, Entry]:
    """The sessions of *folder* (or just the one named *only*) as their own files tell
    them, for a folder whose index is lost: each ``NAME.mp3`` whose tag voiceguide wrote
    (title, description, chapters, language), with its transcript ``NAME.vtt`` and its
    ``NAME.chapters.json`` beside it."""
    from voiceguide.mp3 import id3
    from voiceguide.words import BY_LANGUAGE

    codes = {w.code: language for language, w in BY_LANGUAGE.items()}
    found: dict[str, Entry] = {}
    for mp3 in sorted(folder.glob(f"{glob.escape(only)}.mp3" if only else "*.mp3")):
        name = mp3.name[: -len(".mp3")]
        named = files(name)
        if not _plain_name(mp3.name) or mp3.is_symlink() or not mp3.is_file() \
                or not all((folder / named[k]).is_file() for k in ("vtt", "chapters")):
            continue
        try:
            data = mp3.read_bytes()
            tag = id3.read(data)
            vtt = _read_regular(folder / named["vtt"], MAX_INDEX_BYTES).decode("utf-8")
        except (OSError, ValueError):
            continue
        if tag is None or not tag["chapters"]:
            continue
        chapters = tag["chapters"]
        assert isinstance(chapters, list)
        covers = [c for c in (f"{name}.cover.png", f"{name}.cover.jpg")
                  if (folder / c).is_file()]
        found[name] = Entry(
            name, str(tag["title"]) or name, str(tag["comment"]), chapters[-1][2],
            len(data), hashlib.sha256(data).hexdigest(),
            format_datetime(datetime.fromtimestamp(int(mp3.stat().st_mtime), UTC)),
            [(t, start) for t, start, _ in chapters], _cues(vtt),
            covers[0] if covers else "", codes.get(str(tag["language"]), "en"),
            _playlist(folder / name / f"{name}.m3u8"),
            workout=named["fit"] if (folder / named["fit"]).is_file() else "")
    return found


def _cues(vtt: str) -> list[tuple[int, str]]:
    """(start ms, text) of each cue of a transcript ``vtt.transcript`` wrote."""
    found = []
    for block in vtt.replace("\r\n", "\n").split("\n\n"):
        lines = block.strip("\n").split("\n")
        timed = [n for n, line in enumerate(lines) if " --> " in line]
        if not timed:
            continue
        start = lines[timed[0]].split(" --> ")[0].strip()
        try:
            h, m, rest = start.split(":")
            ms = (int(h) * 3600 + int(m) * 60) * 1000 + round(float(rest) * 1000)
        except ValueError:
            continue
        text = " ".join(lines[timed[0] + 1 :])
        found.append((ms, html.unescape(text)))
    return found


def _playlist(path: Path) -> list[str]:
    """The stage files an M3U8 beside them lists (those still there), or none."""
    try:
        lines = _read_regular(path, MAX_INDEX_BYTES).decode("utf-8").splitlines()
    except (OSError, ValueError):
        return []
    names = [unquote(line) for line in lines if line and not line.startswith("#")]
    return [n for n in names if _plain_name(n) and (path.parent / n).is_file()]


def _read_regular(path: Path, limit: int) -> bytes:
    """The bytes of *path* if it is a regular file of at most *limit* bytes (never a device,
    a pipe or a link out of the folder), else ValueError."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        facts = os.fstat(fd)
        if not stat.S_ISREG(facts.st_mode) or facts.st_size > limit:
            raise ValueError(f"{path} is not a regular file of at most {limit} bytes")
        return handle.read(limit + 1)


_TEXTS = ("name", "title", "description", "guid", "published")
_NUMBERS = ("duration_ms", "size")
_OPTIONAL = {"cover": "", "language": "en", "stages": [],  # added after the first format
             "week": 0, "session": 0, "episode": 0, "date": "", "workout": "", "open": [],
             "targets": []}
_PLACES = ("week", "session", "episode")


def _entry(data: dict[str, Any]) -> Entry:
    """An index entry, every field of its type (TypeError otherwise)."""
    data = {**_OPTIONAL, **data}
    if set(data) != {*_TEXTS, *_NUMBERS, "chapters", "spoken", *_OPTIONAL} \
            or not all(isinstance(data[k], str) for k in (*_TEXTS, "cover", "language")) \
            or not all(type(data[k]) is int and data[k] >= 0 for k in (*_NUMBERS, *_PLACES)) \
            or not isinstance(data["date"], str) \
            or not all(isinstance(s, str) and _plain_name(s) for s in data["stages"]) \
            or not isinstance(data["workout"], str) \
            or (data["workout"] and data["workout"] != files(str(data["name"]))["fit"]) \
            or not isinstance(data["open"], list) \
            or not all(type(n) is int and 0 <= n < len(data["chapters"]) for n in data["open"]) \
            or not isinstance(data["targets"], list) \
            or not all(isinstance(t, str) for t in data["targets"]):
        raise TypeError("an index entry with other fields")
    chapters = [(str(t), int(s)) for t, s in data["chapters"]
                if isinstance(t, str) and type(s) is int]
    spoken = [(int(s), str(t)) for s, t in data["spoken"] if isinstance(t, str) and type(s) is int]
    if len(chapters) != len(data["chapters"]) or len(spoken) != len(data["spoken"]) \
            or not _plain_name(files(data["name"])["mp3"]) \
            or (data["cover"] and not _plain_name(data["cover"])):
        raise TypeError("an index entry with other fields")
    return Entry(**{**data, "chapters": chapters, "spoken": spoken})


def _channel(data: object) -> Channel:
    """The kept channel; a field of the wrong type is left at its default."""
    if not isinstance(data, dict):
        return Channel()
    kept = {f.name: data[f.name] for f in fields(Channel)
            if isinstance(data.get(f.name), str)}
    if kept.get("image") and not _plain_name(kept["image"]):
        kept.pop("image")
    if kept.get("kind") not in KINDS:
        kept.pop("kind", None)
    if kept.get("base_url") and address_problem(kept["base_url"]):
        kept.pop("base_url")  # kept by an older voiceguide, perhaps with a password: unknown
    elif kept.get("base_url"):
        try:
            kept["base_url"] = normal_address(kept["base_url"])
        except UnicodeError:
            kept.pop("base_url")
    if kept.get("category") and category(kept["category"]) is None:
        kept.pop("category")
    return Channel(**kept)


def _plain_name(name: str) -> bool:
    """A file name in the folder itself: no folder part, not hidden."""
    return name == Path(name).name and not name.startswith(".") and "\0" not in name


def ordered(entries: dict[str, Entry]) -> list[Entry]:
    """The sessions as the feed and the page list them: a programme's in its order (by
    episode), then any others by name."""
    return sorted(entries.values(), key=lambda e: (e.episode == 0, e.episode, e.name))


def index_bytes(channel: Channel, entries: dict[str, Entry],
                pending: list[str] | None = None, withdrawn: list[str] | None = None) -> bytes:
    ordered = sorted(entries.values(), key=lambda e: e.name)
    kept: dict[str, Any] = {"channel": asdict(channel), "sessions": [asdict(e) for e in ordered]}
    if pending:
        kept["pending"] = pending
    if withdrawn:
        kept["withdrawn"] = withdrawn
    return (json.dumps(kept, indent=1, ensure_ascii=False) + "\n").encode()


# ---------------------------------------------------------------------------
# The feed


MAX_ADDRESS = 1000  # with the files' names after it, well within what apps fetch


def address_problem(address: str) -> str | None:
    """Why *address* cannot be where a published folder is fetched from (said after a short
    quote of it), or None: an absolute http(s) address, with no query, no fragment and no
    user name or password (the feed, the page and the calendar would publish them)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        parts = None
    if parts is not None and parts.scheme in ("http", "https") and "@" in parts.netloc:
        return ("carries a user name or password, which the feed, the page and the calendar "
                "would publish; give the address without them")
    if "?" in address or "#" in address:
        return ("has a query or fragment (?, #); give the folder's own address, such as "
                "https://example.org/runs/")
    if len(address) > MAX_ADDRESS or (parts is not None and len(parts.hostname or "") > 253):
        return f"is too long for an address (at most {MAX_ADDRESS} characters, a host 253)"
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
            or not address.isprintable() \
            or " " in (parts.netloc or "") \
            or any((c.isspace() and c != " ") or c in '"<>\\^`{|}' for c in address):
        return "is not an http:// or https:// address such as https://example.org/runs/"
    return None


def normal_address(address: str) -> str:
    """*address* (one ``address_problem`` passes) as feeds, pages and calendars carry it:
    the host in ASCII (IDNA), every other character of the path percent-encoded, one
    trailing slash."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(address)
    host = (parts.hostname or "").encode("idna").decode("ascii")
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    path = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    return urlunsplit((parts.scheme, netloc, path.rstrip("/") + "/", "", ""))


# Apple Podcasts' categories and their subcategories
CATEGORIES: dict[str, tuple[str, ...]] = {
    "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
    "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing",
                 "Non-Profit"),
    "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
    "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
    "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
    "Government": (),
    "History": (),
    "Health & Fitness": ("Alternative Health", "Fitness", "Medicine", "Mental Health",
                         "Nutrition", "Sexuality"),
    "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
    "Leisure": ("Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies",
                "Home & Garden", "Video Games"),
    "Music": ("Music Commentary", "Music History", "Music Interviews"),
    "News": ("Business News", "Daily News", "Entertainment News", "News Commentary",
             "Politics", "Sports News", "Tech News"),
    "Religion & Spirituality": ("Buddhism", "Christianity", "Hinduism", "Islam", "Judaism",
                                "Religion", "Spirituality"),
    "Science": ("Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics",
                "Natural Sciences", "Nature", "Physics", "Social Sciences"),
    "Society & Culture": ("Documentary", "Personal Journals", "Philosophy",
                          "Places & Travel", "Relationships"),
    "Sports": ("Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf",
               "Hockey", "Rugby", "Running", "Soccer", "Swimming", "Tennis", "Volleyball",
               "Wilderness", "Wrestling"),
    "Technology": (),
    "True Crime": (),
    "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews",
                  "TV Reviews"),
}


def category(text: str) -> str | None:
    """*text* (``Main``, ``Main › Sub`` or ``Main > Sub``, any case) as Apple spells the
    category, or None when it is not one of Apple's."""
    parts = [" ".join(p.split()).lower() for p in text.replace("›", ">").split(">")]
    main = next((m for m in CATEGORIES if m.lower() == parts[0]), None)
    if main is None or len(parts) > 2:
        return None
    if len(parts) == 1:
        return main
    sub = next((s for s in CATEGORIES[main] if s.lower() == parts[1]), None)
    return None if sub is None else f"{main} › {sub}"


def url(base_url: str | None, name: str) -> str:
    return (base_url.rstrip("/") + "/" if base_url else "") + quote(name)


def feed(entries: list[Entry], channel: Channel) -> str:
    """An RSS 2.0 podcast feed with the itunes:, podcast: and atom: tags apps ask for;
    *channel* must know its base URL (every URL in a feed is absolute)."""
    base = channel.base_url
    assert base, "a feed needs its address"
    cover = url(base, channel.image) if channel.image else ""
    items = []
    for e in entries:
        named = files(e.name)
        image = url(base, e.cover) if e.cover else cover
        items.append("\n".join([
            "    <item>",
            f"      <title>{xml(e.title)}</title>",
            # RSS descriptions are HTML: the text is escaped for HTML, then for XML
            f"      <description>{xml(html.escape(e.description or e.title))}</description>",
            f"      <enclosure url={attr(url(base, enclosure(e)))} length=\"{e.size}\" "
            'type="audio/mpeg"/>',
            f'      <guid isPermaLink="false">{e.guid}</guid>',
            f"      <pubDate>{xml(e.published)}</pubDate>",
            f"      <itunes:duration>{round(e.duration_ms / 1000)}</itunes:duration>",
            *([f"      <itunes:image href={attr(image)}/>"] if image else []),
            "      <itunes:explicit>false</itunes:explicit>",
            f"      <podcast:chapters url={attr(url(base, named['chapters']))} "
            'type="application/json+chapters"/>',
            f"      <podcast:transcript url={attr(url(base, named['vtt']))} "
            'type="text/vtt"/>',
            *([f"      <itunes:season>{e.week}</itunes:season>",
               f"      <itunes:episode>{e.episode}</itunes:episode>",
               "      <itunes:episodeType>full</itunes:episodeType>",
               f"      <podcast:season>{e.week}</podcast:season>",
               f"      <podcast:episode>{e.episode}</podcast:episode>"] if e.episode else []),
            "    </item>",
        ]))
    page = url(base, "")
    owner = [f"      <itunes:name>{xml(channel.author)}</itunes:name>"]
    if channel.email:
        owner.append(f"      <itunes:email>{xml(channel.email)}</itunes:email>")
    about = channel.description or f"Guided drills by {channel.author}, built by voiceguide."
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0" '
        'xmlns:atom="http://www.w3.org/2005/Atom">',
        "  <channel>",
        f"    <title>{xml(channel.title)}</title>",
        f"    <link>{xml(page)}</link>",
        f"    <description>{xml(about)}</description>",
        f"    <language>{xml(channel.feed_language(entries))}</language>",
        f'    <atom:link href={attr(url(base, FEED))} rel="self" type="application/rss+xml"/>',
        f"    <itunes:author>{xml(channel.author)}</itunes:author>",
        "    <itunes:owner>", *owner, "    </itunes:owner>",
        *_category(channel.category),
        *([f"    <itunes:image href={attr(cover)}/>",
           f"    <image><url>{xml(cover)}</url><title>{xml(channel.title)}</title>"
           f"<link>{xml(page)}</link></image>"] if cover else []),
        "    <itunes:explicit>false</itunes:explicit>",
        f"    <itunes:type>{xml(channel.kind)}</itunes:type>",
        *items,
        "  </channel>",
        "</rss>",
        "",
    ])


def _category(category: str) -> list[str]:
    """``Health & Fitness › Fitness`` (or ``>``) as nested itunes:category tags."""
    names = [part.strip() for part in category.replace("›", ">").split(">") if part.strip()]
    if not names:
        return []
    if len(names) == 1:
        return [f"    <itunes:category text={attr(names[0])}/>"]
    return [f"    <itunes:category text={attr(names[0])}>",
            f"      <itunes:category text={attr(names[1])}/>", "    </itunes:category>"]


def check_folder(folder: Path) -> None:
    """DIR must be a folder voiceguide may write into (made if its parent exists)."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is not a folder; --to names a folder to publish into")
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot use {folder} for publishing: {exc.strerror}") from exc
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write to {folder}: permission denied")
