"""``voiceguide publish``: sessions built into a folder with their feed, page and covers.

A publish builds each script (with the feed's cover, or the script's own,
embedded), its transcript, chapters and timeline (and its stage files with
``split``), then writes the index, the feed (only where its address is known:
every URL in it is absolute), the player page with its script, style, service
worker and manifest, and the cover. What the publisher chose for the feed
(title, author, email, cover, category, language, base URL) is kept in the
index for the next publish into DIR.

Publishing is a transaction. The folder is locked (a second publish waits for
the first). Everything is built into a hidden staging folder inside DIR, so
nothing in DIR changes while scripts build, fail or are interrupted. Then the
commit: the new index, naming the staged files still to move in, is written
first; the files are renamed into DIR; the index and the feed are written
again, the move done. Signals wait until the commit is over, and a commit cut
short by anything else (SIGKILL, a power cut) is carried through by the next
publish, which finds the staged files named in the index. So after any
interruption the feed describes exactly the files in DIR, or, until the next
publish, the files the index says are on their way.

The feed names each MP3 by its content too: ``NAME.<sha256 start>.mp3``, a hard
link to ``NAME.mp3`` staged with it (``feed.enclosure``). A new MP3 comes in
under a new name, the feed is written naming it, and only then does the old
name go: at every instant, even under SIGKILL, each enclosure of the feed on
disk holds exactly the bytes, length and guid it gives.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide.errors import OptionError, VoiceguideError
from voiceguide.files import locked, signals_held, write_atomically
from voiceguide.phone import cover as covers
from voiceguide.phone import feed, page
from voiceguide.phone.timeline import picture
from voiceguide.phone.vtt import transcript
from voiceguide.store import Store
from voiceguide.watch.fit import workout

if TYPE_CHECKING:
    from voiceguide.plan import Plan
    from voiceguide.script.programme import Entry as ProgrammeEntry
    from voiceguide.script.programme import Programme
    from voiceguide.session import Options

GENERATED = "cover.png"  # the cover made from the feed's title
GIVEN = "cover-own"  # + .png or .jpg: the cover given with --image
LOCK = ".voiceguide-publish.lock"
STAGING = ".voiceguide-staging"  # what a publish builds, until its commit
REPLACED = ".replaced"  # inside STAGING: stage folders moved aside by a commit
DAMAGED = ("the index {index} was damaged; {count} sessions were read back from their files, "
           "and the feed's title, author and address are the defaults unless given again")
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
    start: str | None = None  # a programme's calendar: its first day, ISO 8601
    days: str | None = None  # and its weekdays, mon,wed,sat
    description: str | None = None  # a programme's own


@dataclass(frozen=True)
class Item:
    """One session to publish: its script, the name of its files, its options, and its
    entry when it is a session of a programme."""

    script: Path
    name: str
    options: Options
    entry: ProgrammeEntry | None = None


def items(scripts: list[Path], options: Options) -> list[Item]:
    """Loose scripts: each named by its file."""
    return [Item(script, feed.session_name(script), options) for script in scripts]


def programme_items(programme: Programme, options: Options,
                    plans: list[tuple[ProgrammeEntry, Plan]]) -> list[Item]:
    """A programme's sessions (with their checked *plans*), each titled as its feed item
    (``Week W · Session S: TITLE`` in its script's language) and named by its place, so
    none overwrites another."""
    from voiceguide import session
    from voiceguide.words import item_title

    found = []
    for entry, plan in plans:
        title = item_title(plan.language, entry.place.week, entry.place.session, plan.title)
        found.append(Item(entry.script, entry.name, replace(
            session.entry_options(options, entry), title=title, album=programme.title), entry))
    return found


@dataclass
class Published:
    sessions: list[tuple[Path, Plan]]
    feed: Path | None  # None: no address known, see NO_ADDRESS
    note: str | None
    warnings: list[str] = field(default_factory=list)


def publish(scripts: list[Path], folder: Path, options: Options, choices: Choices,
            split: bool = False, on_built: Callable[[Path, Plan], None] | None = None,
            on_wait: Callable[[], None] | None = None,
            programme: Programme | None = None, scheduler: str | None = None) -> Published:
    """Build *scripts* (or the sessions of *programme*) into *folder* and write its feed,
    page and covers, as one transaction (see above); *on_wait* is called if another
    publish holds the folder."""
    from voiceguide import session

    given = covers.checked(choices.image) if choices.image is not None else None
    if programme is None:
        for script in scripts:  # every problem of the scripts, timing too, before anything
            session.check(script, options)
        chosen = items(scripts, options)
    else:
        chosen = programme_items(programme, options, session.programme_plans(programme, options))
        choices = _programme_choices(programme, choices)
    dates = _dates(chosen, choices)
    feed.check_folder(folder)
    refuse_foreign(folder, chosen)
    return _publish(chosen, folder, choices, given, split, on_built, on_wait, dates, scheduler)


def refuse_foreign(folder: Path, chosen: list[Item]) -> None:
    """Before any work: publishing *chosen* into *folder* replaces only what an earlier
    publish into it wrote, and a session only with the same kind of session (a programme's
    episode with a programme's, a script on its own with one on its own); no file in
    *folder* that voiceguide writes may be a link. OptionError on ``--to`` otherwise."""
    index = feed.read_index(folder)
    known = (folder / feed.INDEX).is_file() or bool(index.entries)
    theirs = [] if known else [folder / name for name in folder_files()]
    written = [folder / GENERATED, *folder.glob(GIVEN + ".*"),
               *(path for name in withdrawn(index.entries, chosen)
                 for path in _session_files(folder, name))]
    for item in chosen:
        earlier = index.entries.get(item.name)
        named = [folder / file for file in feed.files(item.name).values()]
        written += named
        if earlier is None:
            theirs += [*named, *feed.enclosures_of(folder, item.name)]
        else:
            written += feed.enclosures_of(folder, item.name)
        if earlier is not None and bool(earlier.episode) != (item.entry is not None):
            what = (f"episode {earlier.episode} of the programme published there"
                    if earlier.episode else "a session published there on its own")
            raise OptionError(f"{folder / feed.files(item.name)['mp3']} is {what}; "
                              f"publishing {item.script} would replace it: rename the script, "
                              "or publish into another folder", "--to")
    for path in written:
        if path.is_symlink():
            raise OptionError(f"{path} is a link; voiceguide writes its own files in "
                              f"{folder}, never through a link: remove it", "--to")
    for path in theirs:
        if path.exists() or path.is_symlink():
            raise OptionError(f"{path} is not a file voiceguide published; voiceguide removes "
                              "or replaces only its own: move it, or publish into another "
                              "folder", "--to")


def withdrawn(entries: dict[str, feed.Entry], chosen: list[Item]) -> list[str]:
    """The episodes a programme published into the folder before no longer has (a session
    dropped, the rest moved up): a programme's publish takes them out of the feed, and
    their files with them, so no two items share an episode's number and place."""
    if not any(item.entry for item in chosen):
        return []
    names = {item.name for item in chosen}
    return sorted(name for name, e in entries.items() if e.episode and name not in names)


def _session_files(folder: Path, name: str) -> list[Path]:
    """The files a publish writes for the session *name* (its stage folder apart): its
    own, and its script's cover copied beside it (``NAME.cover.png`` or ``.jpg``)."""
    own = [folder / file for file in feed.files(name).values()]
    return own + [folder / f"{name}.cover{suffix}" for suffix in (".png", ".jpg")]


def _link(source: Path, link: Path) -> None:
    """*link* another name of *source* (a hard link: no second copy), or a copy where the
    file system has no hard links."""
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    try:
        os.link(source, link)
    except OSError:
        shutil.copyfile(source, link)


def _withdraw(folder: Path, names: list[str]) -> None:
    """Remove the files of sessions the feed no longer names (``withdrawn``): its own
    files, and in its stage folder what voiceguide wrote there and is unchanged."""
    from voiceguide.files import remove_ours
    from voiceguide.mp3.stages import folder_for

    for name in names:
        for path in [*_session_files(folder, name), *feed.enclosures_of(folder, name)]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        stages = folder_for(folder / f"{name}.mp3")
        if stages.is_dir() and not stages.is_symlink():
            remove_ours(stages)


def _built(chosen: list[Item], staging: Path, cover: bytes, split: bool,
           scheduler: str | None) -> Iterator[Plan]:
    """Each session built into *staging*, here or on the Dask cluster at *scheduler*
    (``batch/cluster.py``); a build that fails fails the publish."""
    from voiceguide import session

    if scheduler is None:
        for item in chosen:
            yield session.build(item.script, staging / f"{item.name}.mp3", item.options,
                                cover=cover, split=split)
        return
    from voiceguide.batch.cluster import built_on

    jobs = [(i.script, staging / f"{i.name}.mp3", i.options) for i in chosen]
    for _, plan in built_on(scheduler, jobs, split, cover):
        if isinstance(plan, VoiceguideError):
            raise plan
        yield plan


def _programme_choices(programme: Programme, choices: Choices) -> Choices:
    """A programme's title and author name its feed unless the command line gives them."""
    return replace(choices, title=choices.title or programme.title,
                   author=choices.author or programme.author,
                   description=programme.description or "")


def _dates(chosen: list[Item], choices: Choices) -> dict[str, str]:
    """Each programme session's day, when a calendar was asked for (now or before: the
    kept choices are applied in ``_publish``, which calls this again)."""
    if not choices.start or not choices.days or not any(i.entry for i in chosen):
        return {}
    from datetime import date

    from voiceguide.phone.calendar import parse_days, schedule

    weeks: dict[int, int] = {}
    for item in chosen:
        if item.entry is not None:
            weeks[item.entry.place.week] = item.entry.place.session
    days = schedule(date.fromisoformat(choices.start), parse_days(choices.days),
                    [weeks[w] for w in sorted(weeks)])
    named = [i.name for i in chosen if i.entry is not None]
    return {name: day.isoformat() for name, day in zip(named, days, strict=True)}


def _publish(chosen: list[Item], folder: Path, choices: Choices,
             given: tuple[bytes, str] | None, split: bool,
             on_built: Callable[[Path, Plan], None] | None,
             on_wait: Callable[[], None] | None, dates: dict[str, str],
             scheduler: str | None = None) -> Published:
    with locked(folder / LOCK, on_wait):
        index = _carried_through(folder)
        warnings = [DAMAGED.format(index=folder / feed.INDEX, count=len(index.entries))
                    ] if index.damaged else []
        changes = {f.name: getattr(choices, f.name) for f in fields(Choices)
                   if f.name != "image" and getattr(choices, f.name) is not None}
        channel = replace(index.channel, **changes)
        if any(item.entry for item in chosen):
            channel = replace(channel, kind="serial")
            if not dates and channel.start and channel.days:  # the calendar kept from before
                dates = _dates(chosen, replace(choices, start=channel.start,
                                               days=channel.days))
        gone = withdrawn(index.entries, chosen)
        entries = {name: e for name, e in index.entries.items() if name not in gone}
        staging = folder / STAGING
        staging.mkdir()
        try:
            image, channel = _feed_cover(folder, staging, channel, given)
            built: list[tuple[Path, Plan]] = []
            for item, plan in zip(chosen, _built(chosen, staging, image, split, scheduler),
                                  strict=True):
                name, options = item.name, item.options
                staged = staging / f"{name}.mp3"
                own = _session_cover(staging, name, plan)
                stages = _stage_files(plan, options.sample_rate, name) if split else []
                write_extras(plan, staging, name)
                entries[name] = feed.entry(plan, staged, name, entries.get(name), cover=own,
                                           language=plan.language, stages=stages)
                _link(staged, staging / feed.enclosure(entries[name]))
                if item.entry is not None:
                    entries[name] = replace(entries[name], week=item.entry.place.week,
                                            session=item.entry.place.session,
                                            episode=item.entry.episode,
                                            date=dates.get(name, ""))
                built.append((folder / f"{name}.mp3", plan))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # nothing in DIR has changed
            raise
        written = _commit(folder, channel, entries, gone)  # cut short: it stays staged
        shutil.rmtree(staging, ignore_errors=True)
    if on_built is not None:
        for target, plan in built:
            on_built(target, plan)
    return Published(built, written, None if written else NO_ADDRESS.format(dir=folder),
                     warnings)


def _carried_through(folder: Path) -> feed.Index:
    """The folder's index, after finishing a commit that was cut short (its staged files
    moved in, its feed written) and removing what an interrupted build staged."""
    index = feed.read_index(folder)
    if index.pending or index.withdrawn:
        _move_in(folder, index.pending)
        index = replace(feed.read_index(folder), pending=[])  # now with the moved-in MP3s
        entries = {name: e if _unchanged(folder, e) else feed.read_back(folder, name)[name]
                   for name, e in index.entries.items() if name not in index.withdrawn}
        save(folder, index.channel, entries, index.withdrawn)
        index = replace(index, entries=entries, withdrawn=[])
    shutil.rmtree(folder / STAGING, ignore_errors=True)
    if (folder / STAGING).exists() or (folder / STAGING).is_symlink():
        (folder / STAGING).unlink()  # not a folder voiceguide made: an OSError says why
    return index


def _unchanged(folder: Path, entry: feed.Entry) -> bool:
    """Whether the session's MP3 is the one *entry* describes."""
    data = (folder / feed.files(entry.name)["mp3"]).read_bytes()
    return len(data) == entry.size and hashlib.sha256(data).hexdigest() == entry.guid


def _commit(folder: Path, channel: feed.Channel, entries: dict[str, feed.Entry],
            gone: list[str]) -> Path | None:
    """Move what was staged into *folder* and write the index and feed that describe it;
    the files of the sessions *gone* go once the feed no longer names them."""
    staged = sorted(p.name for p in (folder / STAGING).iterdir())
    with signals_held():
        write_atomically(folder / feed.INDEX, feed.index_bytes(channel, entries, staged, gone))
        _move_in(folder, staged)
        return save(folder, channel, entries, gone)


def _move_in(folder: Path, names: list[str]) -> None:
    """Rename the staged *names* over their places in *folder* (a stage folder replaces the
    earlier one whole); names already moved are passed over, so this may run again."""
    staging = folder / STAGING
    for name in names:
        source, target = staging / name, folder / name
        if not source.exists():
            continue  # moved in before the commit was cut short
        if source.is_dir() and target.is_dir() and not target.is_symlink():
            aside = staging / REPLACED / name
            aside.parent.mkdir(exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(aside)
            os.replace(target, aside)
        os.replace(source, target)
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    shutil.rmtree(staging / REPLACED, ignore_errors=True)


def folder_files() -> list[str]:
    """The names publish writes once per folder (besides the given cover's, and the hidden
    index, which is its own bookkeeping and is replaced whatever it has become)."""
    return [feed.FEED, feed.PAGE, page.MANIFEST, GENERATED, covers.thumbnail_name(GENERATED),
            feed.CALENDAR, *page.ASSETS]


def write_extras(plan: Plan, folder: Path, name: str) -> None:
    """The transcript, the chapters, the timeline and the watch's workout beside a
    session's MP3."""
    named = feed.files(name)
    write_atomically(folder / named["vtt"], transcript(plan).encode())
    write_atomically(folder / named["chapters"], feed.chapters_json(plan).encode())
    write_atomically(folder / named["svg"], picture(plan).encode())
    write_atomically(folder / named["fit"], workout(plan, Store().entries("watch")))


def save(folder: Path, channel: feed.Channel, entries: dict[str, feed.Entry],
         gone: list[str] | None = None) -> Path | None:
    """The page and its files, the feed (when its address is known), then the files of
    the sessions *gone* removed (nothing written names them now), and last the index
    (which, written, says the commit is done); returns the feed's path, or None when no
    feed could be written."""
    ordered = feed.ordered(entries)
    for e in ordered:  # published before feeds named MP3s by content: named so now
        if not (folder / feed.enclosure(e)).is_file():
            _link(folder / feed.files(e.name)["mp3"], folder / feed.enclosure(e))
    for name, data in page.assets().items():
        write_atomically(folder / name, data)
    _thumbnails(folder, [channel.image, *(e.cover for e in ordered)])
    write_atomically(folder / page.MANIFEST, page.manifest(channel, ordered).encode())
    feed_url = feed.url(channel.base_url, feed.FEED) if channel.base_url else None
    write_atomically(folder / feed.PAGE, page.page(ordered, channel, feed_url).encode())
    target = folder / feed.FEED
    dated = any(e.date for e in ordered)
    if channel.base_url:
        write_atomically(target, feed.feed(ordered, channel).encode())
        if dated:
            from voiceguide.phone.calendar import calendar

            write_atomically(folder / feed.CALENDAR, calendar(ordered, channel))
    else:
        target.unlink(missing_ok=True)  # an older feed.xml with relative URLs must not stay
    if not dated or not channel.base_url:
        (folder / feed.CALENDAR).unlink(missing_ok=True)  # nor a calendar of other days
    for e in ordered:  # the names earlier feeds gave MP3s no feed has now
        for old in feed.enclosures_of(folder, e.name):
            if old.name != feed.enclosure(e):
                old.unlink(missing_ok=True)
    _withdraw(folder, gone or [])
    write_atomically(folder / feed.INDEX, feed.index_bytes(channel, entries))  # the last
    return target if channel.base_url else None


def _thumbnails(folder: Path, names: list[str]) -> None:
    """The page's small copy of each cover in *folder*, made again when the cover is newer
    than it (a cover keeps its name when it changes)."""
    for name in dict.fromkeys(n for n in names if n):
        cover, small = folder / name, folder / covers.thumbnail_name(name)
        if cover.is_file() and (not small.is_file()
                                or small.stat().st_mtime_ns < cover.stat().st_mtime_ns):
            write_atomically(small, covers.thumbnail(cover.read_bytes()))


def _feed_cover(folder: Path, staging: Path, channel: feed.Channel,
                given: tuple[bytes, str] | None) -> tuple[bytes, feed.Channel]:
    """The feed's cover: the one given now, else the one given before (if still in the
    folder), else one made from the feed's title; a new one is staged."""
    if given is not None:
        data = given[0]
        name = GIVEN + covers.suffix(data)
        write_atomically(staging / name, data)
        return data, replace(channel, image=name)
    if channel.image.startswith(GIVEN) and (folder / channel.image).is_file():
        return (folder / channel.image).read_bytes(), channel
    drawn = folder / GENERATED
    if channel.image == GENERATED and channel.drawn_for == channel.title and drawn.is_file():
        return drawn.read_bytes(), channel  # drawing 3000 px costs a quarter of a second
    data = covers.generated(channel.title)
    write_atomically(staging / GENERATED, data)
    return data, replace(channel, image=GENERATED, drawn_for=channel.title)


def _session_cover(folder: Path, name: str, plan: Plan) -> str:
    """The script's own cover, copied beside its MP3 (its file name), or ""."""
    if not plan.cover:
        return ""
    data = covers.judged(Path(plan.cover))[0]  # 8-bit RGB, as the session's check found it
    copied = f"{name}.cover{covers.suffix(data)}"
    write_atomically(folder / copied, data)
    return copied


def _stage_files(plan: Plan, rate: int, name: str) -> list[str]:
    from voiceguide.mp3.stages import layout

    return [s.name for s in layout(plan, rate)]


def publish_outputs(names: list[str], folder: Path, split: bool) -> list[list[Path]]:
    """Every file a publish writes into *folder*, by session *names* (the folder's own
    files with the first: the feed, the page and its files, the index and the covers)."""
    from voiceguide.session import build_outputs

    outputs = []
    for number, name in enumerate(names):
        own = [folder / file for file in feed.files(name).values()]
        shared = [folder / file for file in folder_files()] if number == 0 else []
        outputs.append([*build_outputs(folder / f"{name}.mp3", False, split), *own[1:],
                        *shared])
    return outputs
