"""The feed as podcast apps read it (spec 15), through two real parsers: feedparser and
gPodder's podcastparser. Every URL absolute, the cover present, square and decodable, the
owner, the category, the self link; what a publish was given kept for the next one; and
bad choices refused before anything is written."""

from __future__ import annotations

import io
import json
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner
from PIL import Image

from voiceguide.cli import main
from voiceguide.phone import feed

pytestmark = pytest.mark.slow

BASE = "https://runs.example/club/"
HOSTILE = 'Hills <&> "q" ]]> \u202eevil\u202c z\u200bw \ufffe end'
SCRIPT = """\
title: TITLE
description: Hills & more.
stages:
  - name: NAME
    duration: 12
    say: Up.
  - name: Down
    duration: 4
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def script(folder: Path, name: str = "hills", title: str = "Hills", stage: str = "Up") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(SCRIPT.replace("TITLE", json.dumps(title)).replace("NAME", json.dumps(stage)),
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("apps")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
        code, _, err = run("publish", str(script(folder)), str(script(folder, "weird", HOSTILE,
                                                                      HOSTILE)),
                           "--to", str(folder / "site"), "--engine", "espeak-ng", "--split",
                           "--base-url", BASE, "--title", "Club runs", "--author", "Coach Dana",
                           "--email", "dana@example.org")
    assert code == 0, err
    return folder / "site"


def absolute(address: str) -> bool:
    parts = urlsplit(address)
    return parts.scheme == "https" and parts.netloc == "runs.example" and \
        parts.path.startswith("/club/")


def test_feedparser_reads_the_channel_and_every_item(site: Path) -> None:
    parsed = feedparser.parse((site / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    channel = parsed.feed
    assert channel.title == "Club runs" and channel.author == "Coach Dana"
    assert channel.publisher_detail == {"name": "Coach Dana", "email": "dana@example.org"}
    assert channel.image.href == BASE + "cover.png"
    assert [t.term for t in channel.tags] == ["Health & Fitness", "Fitness"]
    explicit = ET.fromstring((site / "feed.xml").read_bytes()).find(
        "channel/{http://www.itunes.com/dtds/podcast-1.0.dtd}explicit")
    assert explicit is not None and explicit.text == "false"
    assert any(link.rel == "self" and link.href == BASE + "feed.xml" for link in channel.links)
    titles = {entry.title for entry in parsed.entries}
    assert titles == {"Hills", HOSTILE.replace("\ufffe", "\ufffd")}
    for entry in parsed.entries:
        assert all(absolute(e.href) for e in entry.enclosures)
        assert absolute(entry.image.href)


def test_podcastparser_reads_it_as_gpodder_does(site: Path) -> None:
    parsed = podcastparser.parse(BASE + "feed.xml", io.BytesIO((site / "feed.xml").read_bytes()))
    assert parsed["title"] == "Club runs" and parsed["cover_url"] == BASE + "cover.png"
    assert parsed["link"] == BASE
    assert len(parsed["episodes"]) == 2
    for episode in parsed["episodes"]:
        (enclosure,) = episode["enclosures"]
        assert absolute(enclosure["url"]) and enclosure["mime_type"] == "audio/mpeg"
        name = Path(urlsplit(enclosure["url"]).path).name
        assert enclosure["file_size"] == (site / name).stat().st_size
        assert absolute(episode["episode_art_url"]) and episode["total_time"] > 0


def test_every_url_in_the_feed_is_absolute(site: Path) -> None:
    root = ET.fromstring((site / "feed.xml").read_bytes())
    urls = [v for element in root.iter() for k, v in element.attrib.items()
            if k in ("url", "href")]
    urls += [e.text or "" for e in root.iter() if e.tag in ("link", "url")]
    assert len(urls) > 10 and all(absolute(u) for u in urls), urls


def test_the_generated_cover_is_square_and_embedded(site: Path) -> None:
    from mutagen.id3 import ID3

    data = (site / "cover.png").read_bytes()
    with Image.open(io.BytesIO(data)) as cover:
        assert cover.format == "PNG" and cover.size == (3000, 3000)
        shades = cover.convert("L").histogram()
        assert sum(1 for count in shades if count) > 2  # the title is drawn on it
    (apic,) = ID3(site / "hills.mp3").getall("APIC")
    assert apic.type == 3 and apic.data == data
    (apic,) = ID3(site / "hills" / "01 Stage 1 - Up.mp3").getall("APIC")
    assert apic.data == data


def test_hostile_titles_are_escaped_everywhere_and_stay_in_the_folder(site: Path) -> None:
    for name in ("feed.xml", "weird.svg"):
        ET.fromstring((site / name).read_bytes())  # well-formed XML
    page = (site / "index.html").read_text(encoding="utf-8")
    assert "<&>" not in page and "&lt;&amp;&gt;" in page
    stage_files = sorted(p.name for p in (site / "weird").iterdir())
    assert all("/" not in n and "\u202e" not in n and "\u200b" not in n and '"' not in n
               and "<" not in n for n in stage_files)
    listing = (site / "weird" / "weird.m3u8").read_text(encoding="utf-8")
    assert "\u202e" not in listing and len(listing.splitlines()) == 2 + 2 * 3
    for line in listing.splitlines():
        if not line.startswith("#"):
            assert (site / "weird" / urllib.parse.unquote(line)).is_file()


def test_choices_are_kept_for_the_next_publish(site: Path, tmp_path: Path) -> None:
    kept = json.loads((site / feed.INDEX).read_text())["channel"]
    assert kept["base_url"] == BASE and kept["email"] == "dana@example.org"
    copy = tmp_path / "site"
    import shutil

    shutil.copytree(site, copy)
    code, _, err = run("publish", str(script(tmp_path, "more", "More")), "--to", str(copy),
                       "--engine", "espeak-ng")
    assert code == 0, err
    parsed = feedparser.parse((copy / "feed.xml").read_bytes())
    assert parsed.feed.title == "Club runs" and len(parsed.entries) == 3
    assert all(absolute(e.enclosures[0].href) for e in parsed.entries)


def test_without_an_address_no_feed_is_left_and_one_line_says_how(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert run("publish", str(script(tmp_path)), "--to", str(site), "--engine",
               "espeak-ng")[0] == 0
    (site / "feed.xml").write_text("<rss>relative, from an older voiceguide</rss>")
    code, out, err = run("publish", str(script(tmp_path)), "--to", str(site), "--engine",
                         "espeak-ng")
    assert code == 0
    assert not (site / "feed.xml").exists()
    assert len(err.splitlines()) == 1 and "--base-url" in err and "voiceguide serve" in err
    assert out.splitlines()[-1] == str(site / "index.html")


def image(path: Path, size: tuple[int, int], kind: str = "PNG") -> Path:
    Image.new("RGB", size, (10, 80, 160)).save(path, kind)
    return path


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--image", "missing.png", "no such file"),
    ("--image", "text.png", "not a complete JPEG or PNG image"),
    ("--image", "wide.png", "is not square"),
    ("--image", "tiny.png", "1400-3000 px"),
    ("--image", "huge.png", "1400-3000 px"),
    ("--image", "cover.gif", "give a JPEG or PNG"),
    ("--email", "dana@", "is not an e-mail address"),
    ("--email", "dana example.org", "is not an e-mail address"),
    ("--base-url", "ftp://runs.example/", "is not an http:// or https:// address"),
    ("--base-url", "https://runs.example/\x07", "is not an http:// or https:// address"),
    ("--title", "\x1b[2J", "printable"),
    ("--language", "english!", "not a language tag"),
])
def test_bad_choices_are_one_line_and_nothing_is_written(tmp_path: Path, option: str,
                                                        value: str, message: str) -> None:
    (tmp_path / "text.png").write_text("not an image")
    image(tmp_path / "wide.png", (1600, 1400))
    image(tmp_path / "tiny.png", (600, 600))
    image(tmp_path / "huge.png", (3200, 3200))
    image(tmp_path / "cover.gif", (1500, 1500), "GIF")
    if option == "--image":
        value = str(tmp_path / value)
    site = tmp_path / "site"
    code, _, err = run("publish", str(script(tmp_path)), "--to", str(site), option, value)
    assert code == 2, err
    assert message in err and "Traceback" not in err and "internal error" not in err
    assert not site.exists()


def test_a_given_cover_is_used_and_kept(tmp_path: Path) -> None:
    given = image(tmp_path / "mine.jpg", (1400, 1400), "JPEG")
    site = tmp_path / "site"
    code, _, err = run("publish", str(script(tmp_path)), "--to", str(site), "--image", str(given),
                       "--base-url", BASE, "--engine", "espeak-ng")
    assert code == 0, err
    assert (site / "cover-own.jpg").read_bytes() == given.read_bytes()
    code, _, err = run("publish", str(script(tmp_path, "two")), "--to", str(site), "--engine",
                       "espeak-ng")
    assert code == 0, err
    parsed = feedparser.parse((site / "feed.xml").read_bytes())
    assert parsed.feed.image.href == BASE + "cover-own.jpg"


def test_a_scripts_own_cover_is_its_items_image(tmp_path: Path) -> None:
    from mutagen.id3 import ID3

    own = image(tmp_path / "own.png", (1400, 1400))
    path = script(tmp_path)
    path.write_text(path.read_text() + "cover: own.png\n", encoding="utf-8")
    site = tmp_path / "site"
    code, _, err = run("publish", str(path), "--to", str(site), "--base-url", BASE, "--engine",
                       "espeak-ng")
    assert code == 0, err
    (entry,) = feedparser.parse((site / "feed.xml").read_bytes()).entries
    assert entry.image.href == BASE + "hills.cover.png"
    assert ID3(site / "hills.mp3").getall("APIC")[0].data == own.read_bytes()


def test_the_generated_cover_is_redrawn_when_the_title_changes(site: Path, tmp_path: Path) -> None:
    import shutil

    from voiceguide.phone.cover import generated

    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    assert (copy / "cover.png").read_bytes() == generated("Club runs")
    code, _, err = run("publish", str(script(tmp_path)), "--to", str(copy), "--engine",
                       "espeak-ng", "--title", "Hill club")
    assert code == 0, err
    assert (copy / "cover.png").read_bytes() == generated("Hill club")
