"""Getting sessions to the phone: transcripts, the timeline, the feed, the page and the server,
checked with real parsers (feedparser, webvtt-py, an XML parser), a real HTTP server on
127.0.0.1 and a real headless browser."""

from __future__ import annotations

import hashlib
import html
import http.client
import json
import re
import shutil
import socket
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import feedparser
import jsonschema
import pytest
import webvtt
from click.testing import CliRunner
from waiting import line_of

from voiceguide.cli import main
from voiceguide.phone import server

pytestmark = pytest.mark.slow

WEIRD = """\
title: "Hills <&> \\"fast\\" ü"
description: "Speed & <power>"
stages:
  - name: "A <b>&"
    duration: 12
    say: ["Go & <run>", "Then --> stop."]
  - name: Walk
    duration: 6
"""
EASY = """\
title: Easy
stages:
  - name: Jog
    duration: 10
    say: Easy jogging.
    cues: [{at: 5, say: Halfway.}]
  - name: Walk
    duration: 8
    say: Walk.
"""
CHAPTERS_SCHEMA = {  # Podcasting 2.0 JSON chapters: what podcast apps read
    "type": "object", "required": ["version", "chapters"],
    "properties": {"version": {"type": "string"}, "chapters": {"type": "array", "items": {
        "type": "object", "required": ["startTime"],
        "properties": {"startTime": {"type": "number", "minimum": 0},
                       "title": {"type": "string"}}}}},
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("phone")
    (folder / "weird.yaml").write_text(WEIRD, encoding="utf-8")
    (folder / "easy.yaml").write_text(EASY, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
        code, out, err = run("publish", str(folder / "weird.yaml"), str(folder / "easy.yaml"),
                             "--to", str(folder / "site"), "--base-url", "https://runs.example/a")
    assert code == 0, err
    assert out.splitlines()[-1] == str(folder / "site" / "feed.xml")
    return folder / "site"


def test_the_feed_and_page_are_written_without_any_audio_library(site: Path,
                                                                  tmp_path: Path) -> None:
    """Reading a published folder and writing its feed, page and index again loads no
    numpy and none of voiceguide's audio modules (in a fresh interpreter)."""
    import subprocess
    import sys

    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    (copy / "feed.xml").unlink()
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from voiceguide.phone import feed, publish\n"
        f"folder = Path({str(copy)!r})\n"
        "channel, entries = feed.load_all(folder)\n"
        "publish.save(folder, channel, entries)\n"
        "audio = {'numpy', 'voiceguide.mp3.islands', 'voiceguide.audio.render', 'voiceguide.mp3.writer'}\n"
        "print(sorted(audio & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "[]"
    assert (copy / "feed.xml").read_bytes() == (site / "feed.xml").read_bytes()


def test_the_feed_parses_and_every_enclosure_is_its_file(site: Path) -> None:
    parsed = feedparser.parse((site / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    items = {e.title: e for e in parsed.entries}
    assert set(items) == {'Hills <&> "fast" ü', "Easy"}
    weird = items['Hills <&> "fast" ü']
    assert html.unescape(weird.summary) == "Speed & <power>"  # HTML, as RSS descriptions are
    for item in parsed.entries:
        enclosure = item.enclosures[0]
        name = enclosure.href.rsplit("/", 1)[1]
        assert enclosure.href == f"https://runs.example/a/{name}"
        assert int(enclosure.length) == (site / name).stat().st_size
        assert enclosure.type == "audio/mpeg"
        assert item.id == hashlib.sha256((site / name).read_bytes()).hexdigest()
        assert int(item.itunes_duration) > 0 and item.published_parsed
    raw = (site / "feed.xml").read_text(encoding="utf-8")
    root = ET.fromstring(raw)
    ns = {"podcast": "https://podcastindex.org/namespace/1.0"}
    assert len(root.findall(".//podcast:chapters", ns)) == 2
    assert [t.get("type") for t in root.findall(".//podcast:transcript", ns)] == ["text/vtt"] * 2


def test_chapters_and_transcripts_are_valid(site: Path) -> None:
    for name in ("weird", "easy"):
        chapters = json.loads((site / f"{name}.chapters.json").read_text(encoding="utf-8"))
        jsonschema.validate(chapters, CHAPTERS_SCHEMA)
        assert chapters["chapters"][0]["startTime"] == 0
        captions = webvtt.read(str(site / f"{name}.vtt"))
        assert len(captions) >= 2
    texts = [html.unescape(c.text) for c in webvtt.read(str(site / "weird.vtt"))]
    assert texts[:3] == ["Stage 1. A <b>&.", "Go & <run>", "Then --> stop."]


def test_the_timeline_picture_is_well_formed_and_escaped(site: Path) -> None:
    root = ET.fromstring((site / "weird.svg").read_text(encoding="utf-8"))
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any("Stage 1: A <b>&" in t for t in titles)
    assert any("Go & <run>" in t for t in titles)


def test_publishing_again_updates_one_and_keeps_the_others(site: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    before = {e.title: e for e in feedparser.parse((copy / "feed.xml").read_bytes()).entries}
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    easy = site.parent / "easy.yaml"
    code, _, err = run("publish", str(easy), "--to", str(copy), "--base-url",
                       "https://runs.example/a")  # the same audio: the same guid and date
    assert code == 0, err
    after = {e.title: e for e in feedparser.parse((copy / "feed.xml").read_bytes()).entries}
    assert set(after) == set(before)
    assert after["Easy"].id == before["Easy"].id and after["Easy"].published == \
        before["Easy"].published
    code, _, err = run("publish", str(easy), "--to", str(copy), "--pace", "1", "--length", "1m")
    assert code == 2  # two ways to choose the pace
    (copy / "weird.mp3").unlink()  # a session whose audio is gone leaves the feed
    code, _, err = run("publish", str(easy), "--to", str(copy), "--speed", "1.2", "--base-url",
                       "https://runs.example/a")
    assert code == 0, err
    final = {e.title: e for e in feedparser.parse((copy / "feed.xml").read_bytes()).entries}
    assert set(final) == {"Easy"} and final["Easy"].id != before["Easy"].id


@pytest.mark.parametrize(("args", "message", "status"), [
    (["--to", "{file}"], "is not a folder", 1),
    (["--to", "{dir}", "--base-url", "ftp://x"], "is not an http:// or https:// address", 2),
    (["--to", "{dir}", "--base-url", "https://"], "is not an http:// or https:// address", 2),
    (["--to", "{dir}", "--base-url", "https://[::1/"], "is not an http:// or https:// address",
     2),
    (["--to", "{dir}", "--base-url", "https://x.org:port/"], "is not an http:// or https://", 2),
    (["--to", "{dir}", "--base-url", 'https://x.org/"<a>'], "is not an http:// or https://", 2),
    (["--to", "{dir}", "--base-url", "https://x.org/\x1b[2J"], "is not an http:// or https://",
     2),
])
def test_publish_refuses_bad_places(tmp_path: Path, args: list[str], message: str,
                                    status: int) -> None:
    (tmp_path / "file").write_text("x")
    script = tmp_path / "easy.yaml"
    script.write_text(EASY, encoding="utf-8")
    filled = [a.format(file=tmp_path / "file", dir=tmp_path / "out") for a in args]
    code, _, err = run("publish", str(script), *filled)
    assert code == status and message in err and "Traceback" not in err


# ---------------------------------------------------------------------------
# The server, for real on 127.0.0.1


@pytest.fixture(scope="module")
def served(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("not for phones")
    (site / "link-out.txt").symlink_to(outside)
    (site / "sub").mkdir()
    httpd = server.server(site, "127.0.0.1", 0, None)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", server.port_of(httpd)
    httpd.shutdown()
    httpd.server_close()


def get(where: tuple[str, int], path: str, headers: dict[str, str] | None = None
        ) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection(*where, timeout=10)
    connection.putrequest("GET", path, skip_accept_encoding=True)
    for key, value in (headers or {}).items():
        connection.putheader(key, value)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_range_requests_get_exactly_their_bytes(site: Path, served: tuple[str, int]) -> None:
    data = (site / "easy.mp3").read_bytes()
    status, headers, body = get(served, "/easy.mp3", {"Range": "bytes=100-1099"})
    assert status == 206 and body == data[100:1100]
    assert headers["content-range"] == f"bytes 100-1099/{len(data)}"
    status, _, body = get(served, "/easy.mp3", {"Range": "bytes=-500"})
    assert status == 206 and body == data[-500:]
    for bad in ("bytes=5-2", "bytes=-0", f"bytes={len(data) + 10}-"):
        assert get(served, "/easy.mp3", {"Range": bad})[0] == 416
    status, _, body = get(served, "/easy.mp3")
    assert status == 200 and body == data


def test_content_types_and_the_feed_with_the_servers_own_address(
        served: tuple[str, int]) -> None:
    expected = {"/easy.mp3": "audio/mpeg", "/easy.vtt": "text/vtt; charset=utf-8",
                "/easy.chapters.json": "application/json",
                "/easy.svg": "image/svg+xml; charset=utf-8",
                "/": "text/html; charset=utf-8", "/feed.xml": "application/rss+xml; charset=utf-8",
                "/player.js": "text/javascript; charset=utf-8",
                "/player.css": "text/css; charset=utf-8", "/sw.js": "text/javascript; charset=utf-8",
                "/manifest.webmanifest": "application/manifest+json", "/cover.png": "image/png"}
    for path, kind in expected.items():
        status, headers, _ = get(served, path)
        assert (status, headers["content-type"]) == (200, kind), path
    _, _, body = get(served, "/feed.xml")
    hrefs = [e.enclosures[0].href for e in feedparser.parse(body).entries]
    assert hrefs and all(h.startswith(f"http://127.0.0.1:{served[1]}/") for h in hrefs)


def test_every_enclosure_the_served_feed_names_is_served_with_its_bytes(
        site: Path, tmp_path: Path) -> None:
    """Also in a folder published before the feed named MP3s by their content (no such
    names beside NAME.mp3): serve answers them from NAME.mp3 while it holds those bytes."""
    import hashlib

    older = tmp_path / "older"
    shutil.copytree(site, older, symlinks=True)
    for link in older.glob("*.*.mp3"):
        link.unlink()
    for folder in (site, older):
        httpd = server.server(folder, "127.0.0.1", 0, None)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            where = ("127.0.0.1", server.port_of(httpd))
            _, _, body = get(where, "/feed.xml")
            items = feedparser.parse(body).entries
            assert items
            for item in items:
                path = "/" + item.enclosures[0].href.split("/", 3)[3]
                status, _, data = get(where, path)
                assert status == 200, path
                assert len(data) == int(item.enclosures[0].length)
                assert hashlib.sha256(data).hexdigest() == item.id
            assert get(where, "/easy.000000000000.mp3")[0] == 404  # no such bytes
        finally:
            httpd.shutdown()
            httpd.server_close()
            thread.join(30)


@pytest.mark.parametrize("path", ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                                  "/..%2f..%2fetc%2fpasswd", "//etc/passwd", "/link-out.txt",
                                  "/sub", "/sub/", "/.voiceguide-feed.json", "/missing.mp3",
                                  "/easy%00.mp3", "/%00"])
def test_nothing_outside_the_folder_and_no_listings(served: tuple[str, int], path: str) -> None:
    status, _, body = get(served, path)
    assert status == 404 and b"not for phones" not in body and b"root:" not in body


def test_malformed_requests_get_a_4xx_and_the_server_goes_on(served: tuple[str, int]) -> None:
    for raw in (b"GARBAGE\r\n\r\n", b"GET /easy.mp3 HTTP/1.1\r\nHost: x\r\nX-Big: "
                + b"a" * 70_000 + b"\r\n\r\n", b"POST /easy.mp3 HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: 0\r\n\r\n"):
        with socket.create_connection(served, timeout=10) as conn:
            conn.sendall(raw)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        status = answer.split(b" ", 2)[1] if answer.startswith(b"HTTP/") else b""
        assert status[:1] == b"4" or b"Error code: 400" in answer, answer[:200]
    assert get(served, "/easy.vtt")[0] == 200


def test_fifty_range_requests_at_once(site: Path, served: tuple[str, int]) -> None:
    data = (site / "easy.mp3").read_bytes()
    starts = [(n * 7919) % (len(data) - 4096) for n in range(50)]
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(
            lambda s: get(served, "/easy.mp3", {"Range": f"bytes={s}-{s + 4095}"}), starts))
    assert all(status == 206 for status, _, _ in answers)
    assert all(body == data[s : s + 4096] for s, (_, _, body) in zip(starts, answers, strict=True))


# ---------------------------------------------------------------------------
# The page, in a real headless browser


THEMES = {"light": (16, 231), "dark": (231, 16)}  # (text, background) in the 256 palette
ANSI = re.compile(r"\033\[([0-9;]*)m")


def terminal_picture(text: str, theme: str) -> list[list[int]]:
    """The grey levels a terminal with *theme* shows for *text*: each character cell two
    pixels tall (a half block's two halves), colours from the ANSI codes or the theme."""
    text_colour, background = THEMES[theme]
    rows: list[list[int]] = []
    for line in text.splitlines():
        fg, bg = text_colour, background
        top: list[int] = []
        bottom: list[int] = []
        pieces = ANSI.split(line)
        for index, piece in enumerate(pieces):
            if index % 2:  # an escape's parameters
                codes = [int(c) for c in piece.split(";") if c] or [0]
                if codes[:2] == [38, 5]:
                    fg = codes[2]
                elif codes[:2] == [48, 5]:
                    bg = codes[2]
                elif codes == [0]:
                    fg, bg = text_colour, background
                continue
            for char in piece:
                halves = {"▀": (fg, bg), "▄": (bg, fg), "█": (fg, fg)}
                high, low = halves.get(char, (bg, bg))  # words are too thin to count
                top.append(255 if high == 231 else 0)
                bottom.append(255 if low == 231 else 0)
        rows += [top, bottom]
    width = max(len(r) for r in rows)
    return [r + [255 if background == 231 else 0] * (width - len(r)) for r in rows]


def decoded_qr(text: str, theme: str, png: Path) -> str:
    """What zbar reads in a rendering of *text* as *theme*'s terminal shows it."""
    from PIL import Image

    assert shutil.which("zbarimg"), "zbar-tools must be installed (make test installs it)"
    grid = terminal_picture(text, theme)  # lines of words are rows of background
    image = Image.new("L", (len(grid[0]), len(grid)))
    image.putdata([v for row in grid for v in row])
    image.resize((image.width * 8, image.height * 8), Image.NEAREST).save(png)
    done = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True,
                          timeout=60, check=False)
    return done.stdout.strip()


def test_serve_says_what_it_serves_and_stops_cleanly_on_ctrl_c(site: Path,
                                                                tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "voiceguide", "serve", str(site),
                                "--host", "127.0.0.1", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = line_of(process.stdout, "serve to say where it listens")
    assert first.startswith(f"serving {site} — feed: http://127.0.0.1:")
    port = int(first.rsplit(":", 1)[1].split("/")[0])
    assert get(("127.0.0.1", port), "/easy.vtt")[0] == 200
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and err.strip() == "voiceguide: stopped serving"
    address = first.split("feed: ", 1)[1].strip()
    for theme in ("light", "dark"):  # what a phone's camera sees on either terminal
        assert decoded_qr(out, theme, tmp_path / f"{theme}.png") == address, theme


def test_serve_on_a_port_in_use_is_one_line(site: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        code, _, err = run("serve", str(site), "--host", "127.0.0.1", "--port",
                           str(taken.getsockname()[1]))
    assert code == 1 and err.startswith("voiceguide: cannot listen on 127.0.0.1:")
    assert len(err.splitlines()) == 1
    code, _, err = run("serve", str(site / "easy.mp3"))
    assert code == 2 and "is a file" in err


def test_the_feed_and_page_are_conditional_with_one_date(served: tuple[str, int]) -> None:
    for path in ("/feed.xml", "/", "/easy.mp3"):
        connection = http.client.HTTPConnection(*served, timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        dates = [v for k, v in response.getheaders() if k.lower() == "date"]
        etag, modified = response.getheader("ETag"), response.getheader("Last-Modified")
        connection.close()
        assert response.status == 200 and len(dates) == 1, (path, dates)
        assert etag and modified, path
        status, headers, body = get(served, path, {"If-None-Match": etag})
        assert status == 304 and body == b"", path
        assert get(served, path, {"If-Modified-Since": modified})[0] == 304, path


def test_the_served_page_and_feed_carry_the_servers_own_address(
        served: tuple[str, int]) -> None:
    own = f"http://127.0.0.1:{served[1]}/"
    _, _, body = get(served, "/")
    assert f'id="feed-address">{own}feed.xml<' in body.decode()
    assert "runs.example" not in body.decode()  # the --base-url publish was given
    _, _, body = get(served, "/feed.xml", {"Host": "evil.example"})
    urls = [e.enclosures[0].href for e in feedparser.parse(body).entries]
    assert urls and all(u.startswith(own) for u in urls)


def test_serve_shares_only_a_folder_publish_wrote(site: Path, tmp_path: Path) -> None:
    import sys

    (tmp_path / "private.txt").write_text("not for the network")
    for args in ([], [str(tmp_path)]):
        done = subprocess.run([sys.executable, "-m", "voiceguide", "serve", *args, "--host",
                               "127.0.0.1", "--port", "0"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 1 and done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and "voiceguide publish" in done.stderr
    process = subprocess.Popen([sys.executable, "-m", "voiceguide", "serve", "--host",
                                "127.0.0.1", "--port", "0"], cwd=site, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = line_of(process.stdout, "serve to say where it listens")  # once it listens
    port = int(first.rsplit(":", 1)[1].split("/")[0])
    assert get(("127.0.0.1", port), "/easy.vtt")[0] == 200
    process.send_signal(2)
    process.communicate(timeout=30)
    assert process.returncode == 0
