"""``voiceguide publish``: sessions built into a folder with their feed, page and covers.

A publish builds each script into DIR (with the feed's cover, or the script's
own, embedded), writes its transcript, chapters and timeline beside it (and
its stage files with ``split``), then the index, the feed (only where its
address is known: every URL in it is absolute), the player page with its
script, style, service worker and manifest, and the cover. What the publisher
chose for the feed (title, author, email, cover, category, language, base
URL) is kept in the index for the next publish into DIR.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.files import write_atomically
from voiceguide.phone import cover as covers
from voiceguide.phone import feed, page
from voiceguide.phone.timeline import picture
from voiceguide.phone.vtt import transcript

if TYPE_CHECKING:
    from voiceguide.plan import Plan
    from voiceguide.session import Options

GENERATED = "cover.png"  # the cover made from the feed's title
GIVEN = "cover-own"  # + .png or .jpg: the cover given with --image
NO_ADDRESS = ("no feed.xml was written: its addresses must be absolute. Give --base-url "
              "https://HOST/PATH/ (kept for the next publish), or run voiceguide serve {dir}, "
              "which gives the feed its own address")


@dataclass(frozen=True)
class Choices:
    """What this publish was given for the feed; None keeps what DIR had."""

    title: str | None = None
    author: str | None = None
    email: str | None = None
    category: str | None = None
    language: str | None = None
    base_url: str | None = None
    image: Path | None = None


@dataclass
class Published:
    sessions: list[tuple[Path, Plan]]
    feed: Path | None  # None: no address known, see NO_ADDRESS
    note: str | None



def publish(scripts: list[Path], folder: Path, options: Options, choices: Choices,
            split: bool = False, on_built: Callable[[Path, Plan], None] | None = None
            ) -> Published:
    """Build *scripts* into *folder* and write its feed, page and covers."""
    from voiceguide import session

    given = covers.checked(choices.image) if choices.image is not None else None
    feed.check_folder(folder)
    channel, entries = feed.load_all(folder)
    changes = {f.name: getattr(choices, f.name) for f in fields(Choices)
               if f.name != "image" and getattr(choices, f.name) is not None}
    channel = replace(channel, **changes)
    image, channel = _feed_cover(folder, channel, given)
    built: list[tuple[Path, Plan]] = []
    for script in scripts:
        name = script.stem
        target = folder / f"{name}.mp3"
        plan = session.build(script, target, options, cover=image, split=split)
        own = _session_cover(folder, name, plan)
        stages = _stage_files(plan, options.sample_rate, name) if split else []
        write_extras(plan, folder, name)
        entries[name] = feed.entry(plan, target, name, entries.get(name), cover=own,
                                   language=plan.language, stages=stages)
        built.append((target, plan))
        if on_built is not None:
            on_built(target, plan)
    written = save(folder, channel, entries)
    return Published(built, written, None if written else NO_ADDRESS.format(dir=folder))


def folder_files() -> list[str]:
    """The names publish writes once per folder (besides the given cover's, and the hidden
    index, which is its own bookkeeping and is replaced whatever it has become)."""
    return [feed.FEED, feed.PAGE, page.MANIFEST, GENERATED, *page.ASSETS]


def write_extras(plan: Plan, folder: Path, name: str) -> None:
    """The transcript, the chapters and the timeline beside a session's MP3."""
    named = feed.files(name)
    write_atomically(folder / named["vtt"], transcript(plan).encode())
    write_atomically(folder / named["chapters"], feed.chapters_json(plan).encode())
    write_atomically(folder / named["svg"], picture(plan).encode())


def save(folder: Path, channel: feed.Channel, entries: dict[str, feed.Entry]) -> Path | None:
    """The index, the feed (when its address is known), the page and its files; returns
    the feed's path, or None when no feed could be written."""
    ordered = sorted(entries.values(), key=lambda e: e.name)
    write_atomically(folder / feed.INDEX, feed.index_bytes(channel, entries))
    for name, data in page.assets().items():
        write_atomically(folder / name, data)
    write_atomically(folder / page.MANIFEST, page.manifest(channel, ordered).encode())
    feed_url = feed.url(channel.base_url, feed.FEED) if channel.base_url else None
    write_atomically(folder / feed.PAGE, page.page(ordered, channel, feed_url).encode())
    target = folder / feed.FEED
    if not channel.base_url:
        target.unlink(missing_ok=True)  # an older feed.xml with relative URLs must not stay
        return None
    write_atomically(target, feed.feed(ordered, channel).encode())
    return target


def _feed_cover(folder: Path, channel: feed.Channel,
                given: tuple[bytes, str] | None) -> tuple[bytes, feed.Channel]:
    """The feed's cover: the one given now, else the one given before (if still in the
    folder), else one made from the feed's title."""
    if given is not None:
        data = given[0]
        name = GIVEN + covers.suffix(data)
        write_atomically(folder / name, data)
        return data, replace(channel, image=name)
    if channel.image.startswith(GIVEN) and (folder / channel.image).is_file():
        return (folder / channel.image).read_bytes(), channel
    drawn = folder / GENERATED
    if channel.image == GENERATED and channel.drawn_for == channel.title and drawn.is_file():
        return drawn.read_bytes(), channel  # drawing 3000 px costs a quarter of a second
    data = covers.generated(channel.title)
    write_atomically(drawn, data)
    return data, replace(channel, image=GENERATED, drawn_for=channel.title)


def _session_cover(folder: Path, name: str, plan: Plan) -> str:
    """The script's own cover, copied beside its MP3 (its file name), or ""."""
    if not plan.cover:
        return ""
    data = Path(plan.cover).read_bytes()
    copied = f"{name}.cover{covers.suffix(data)}"
    write_atomically(folder / copied, data)
    return copied


def _stage_files(plan: Plan, rate: int, name: str) -> list[str]:
    from voiceguide.split import layout

    return [s.name for s in layout(plan, rate)]
