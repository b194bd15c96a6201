"""The commands that get sessions onto the phone: ``publish`` (a folder with a feed, a
calendar and the player page) and ``serve`` (that folder, to phones on the network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from voiceguide.cli import main
from voiceguide.cli.options import (
    BaseUrlType,
    CategoryType,
    DateType,
    DaysType,
    EmailType,
    FeedTextType,
    LanguageTagType,
    SchedulerType,
    build_options,
    echo,
    session_options,
    warn,
)
from voiceguide.errors import OutputError, UsageError, shown
from voiceguide.script.programme import programmes_among


@main.command()
@click.argument("scripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--to", "folder", required=True, type=click.Path(path_type=Path),
              help="The folder to publish into (made if missing).")
@click.option("--base-url", type=BaseUrlType(),
              help="Where the folder will be served from (kept for the next publish); "
              "`serve` fills in its own.")
@click.option("--title", type=FeedTextType(), help="The feed's title (kept).")
@click.option("--author", type=FeedTextType(), help="The feed's author and owner (kept).")
@click.option("--email", type=EmailType(), help="The owner's e-mail, for podcast directories "
              "(kept).")
@click.option("--image", type=click.Path(path_type=Path, dir_okay=False),
              help="The feed's cover: a square JPEG or PNG of 1400-3000 px (kept); default: "
              "one made from the title.")
@click.option("--category", type=CategoryType(), help="The podcast category, e.g. "
              "'Health & Fitness > Fitness' (the default; kept).")
@click.option("--language", "feed_language", type=LanguageTagType(),
              help="The feed's language (default: the sessions' own; kept).")
@click.option("--split", is_flag=True, help="Also a file per stage and an M3U8 playlist.")
@click.option("--start", type=DateType(), help="A programme's first day (YYYY-MM-DD): with "
              "--days, also programme.ics, each session on its day (kept).")
@click.option("--scheduler", type=SchedulerType(), help="Build the sessions on the workers "
              "of this Dask cluster (tcp://HOST:PORT; pip install 'voiceguide[dask]').")
@click.option("--days", type=DaysType(), help="The weekdays a programme's sessions fall on, "
              "in order within each week, e.g. mon,wed,sat (kept).")
@build_options
def publish(scripts: tuple[Path, ...], folder: Path, base_url: str | None, title: str | None,
            author: str | None, email: str | None, image: Path | None, category: str | None,
            feed_language: str | None, split: bool, start: str | None, days: str | None,
            scheduler: str | None, **choices: Any) -> None:
    """Build each SCRIPT into FOLDER as a podcast: MP3s, transcripts, chapters, covers,
    feed.xml and the player page index.html. Publishing again updates those sessions
    and keeps the others, and what was chosen for the feed.

    \b
    Example:
        voiceguide publish drill.yaml hills.yaml --to runs --title "Club runs" \\
            --author "Coach Dana" --base-url https://example.org/runs/
        voiceguide serve runs
    """
    from voiceguide.files import refuse_clashes
    from voiceguide.phone.calendar import ScheduleError
    from voiceguide.phone.feed import CALENDAR
    from voiceguide.phone.publish import Choices, publish_outputs
    from voiceguide.phone.publish import publish as publish_into

    programmes, loose = programmes_among(scripts)
    named = [e.script for p in programmes for e in p.entries]
    for script in (*scripts, *named):
        if not script.name.isprintable() or not _is_utf8(script.name):
            raise click.BadParameter(f"{shown(script.name)}: the session's files and addresses "
                                     "take the script's name, which is not printable UTF-8; "
                                     "rename the script", param_hint="SCRIPTS")
    options = session_options(choices)
    if programmes and (len(programmes) > 1 or loose):
        raise UsageError("publish one programme into a folder (with the scripts it names "
                         "outside its folder), or scripts on their own")
    programme = programmes[0] if programmes else None
    if (start is None) != (days is None) and programme is not None:
        raise click.BadParameter("give --start and --days together", param_hint="--start"
                                 if start is None else "--days")
    if (start or days) and programme is None:
        raise click.BadParameter("a calendar is for a programme's sessions; publish a "
                                 "programme", param_hint="--start" if start else "--days")
    if programme is not None:
        sources = tuple(e.script for e in programme.entries)
        names = [e.name for e in programme.entries]
        refuse_clashes((programme.path, *sources), [[], *publish_outputs(names, folder, split)],
                       "--to")
    else:
        from voiceguide.phone.feed import session_name

        sources, names = scripts, [session_name(script) for script in scripts]
        refuse_clashes(scripts, publish_outputs(names, folder, split), "--to")
    targets = [folder / f"{name}.mp3" for name in names]
    wanted = Choices(title=title, author=author, email=email, category=category,
                     language=feed_language, base_url=base_url, image=image, start=start,
                     days=days)

    def built(target: Path, plan: Any) -> None:
        entry = programme.entries[targets.index(target)] if programme else None
        warn(plan, programme.where(entry) if programme and entry else
             scripts[targets.index(target)])
        echo(str(target))

    def waiting() -> None:
        echo(f"voiceguide: another publish is writing {folder}; waiting for it to finish",
              err=True)

    try:
        done = publish_into(list(scripts), folder, options, wanted, split=split, on_built=built,
                            on_wait=waiting, programme=programme, scheduler=scheduler)
    except ScheduleError as exc:
        raise click.BadParameter(str(exc), param_hint="--days") from None
    for warning in done.warnings:
        echo(f"warning: {warning}", err=True)
    echo(str(folder / "index.html"))
    if done.feed is not None:
        echo(str(done.feed))
        if programme is not None and (folder / CALENDAR).is_file():
            echo(str(folder / CALENDAR))
    else:
        echo(f"voiceguide: {done.note}", err=True)


def _is_utf8(name: str) -> bool:
    """A file name the file system gave as UTF-8 (else Python holds its bytes as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), required=False)
@click.option("--host", default="0.0.0.0", show_default=True,
              help="The address to listen on (0.0.0.0: every network of this machine).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="The port to listen on (0: any free one).")
@click.option("--base-url", type=BaseUrlType(),
              help="The address phones use, if not this machine's own (e.g. behind a proxy).")
def serve(folder: Path | None, host: str, port: int, base_url: str | None) -> None:
    """Serve a FOLDER that publish wrote (default: this folder, if publish wrote it),
    read-only, to phones on the same network; prints the feed's address and a QR code
    of it. Ctrl-C stops it.

    \b
    Example:
        voiceguide serve runs --port 8000
    """
    from voiceguide.phone import feed, qr, server

    where = folder if folder is not None else Path(".")
    shown_as = str(where) if folder is not None else "this folder"
    if not where.is_dir():
        raise OutputError(f"{where} is not a folder; serve a folder made by voiceguide publish")
    if not (where / feed.INDEX).is_file():
        raise OutputError(f"{shown_as} was not written by voiceguide publish, so serve shares "
                          "nothing from it; publish first: voiceguide publish drill.yaml --to "
                          "runs && voiceguide serve runs")
    try:
        httpd = server.server(where, host, port, base_url)
    except OSError as exc:
        raise OutputError(f"cannot listen on {host}:{port}: {exc.strerror}; try another "
                          "--port") from exc
    feed_url = server.advertised(httpd) + feed.FEED
    echo(f"serving {where} — feed: {feed_url}")
    for line in qr.terminal_lines(feed_url):
        click.echo(line, color=True)  # the colours are the code, wherever it goes
    echo("add the feed in a podcast app on your phone; Ctrl-C stops the server")
    try:
        httpd.serve_forever()  # Ctrl-C ends it: the usual way to stop a server, so exit 0
    finally:
        httpd.server_close()
    echo("voiceguide: stopped serving", err=True)
