"""Names users give (stage titles, script file names, a folder's address) reach every
file and address voiceguide writes intact: playlists a player fetches over HTTP, files
serve serves, feed and calendar addresses that are plain URIs."""

from __future__ import annotations

import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main
from voiceguide.phone import server

NAMES = ["Sprint #1", "100% effort", "Why? Because", "Über 5 km", "Rest & stretch"]


def publish(tmp_path: Path, script: Path, *extra: str) -> Path:
    result = CliRunner().invoke(main, ["publish", str(script), "--to", str(tmp_path / "site"),
                                       "--engine", "espeak-ng", *extra])
    assert result.exit_code == 0, result.output
    return tmp_path / "site"


def fetch(url: str) -> int:
    with urllib.request.urlopen(url, timeout=30) as answer:
        answer.read()
        return int(answer.status)


def served(site: Path) -> tuple[server.BaseWSGIServer, str]:
    httpd = server.server(site, "127.0.0.1", 0, None)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, server.advertised(httpd)


def test_every_playlist_entry_is_fetched_over_http(tmp_path: Path, private_cache: Path) -> None:
    stages = "".join(f"  - name: {name!r}\n    duration: 3\n" for name in NAMES)
    script = tmp_path / "names.yaml"
    script.write_text(f"title: Names\nannounce: false\nstages:\n{stages}", encoding="utf-8")
    site = publish(tmp_path, script, "--split")
    httpd, url = served(site)
    try:
        playlist = urllib.parse.urljoin(url, "names/names.m3u8")
        with urllib.request.urlopen(playlist, timeout=30) as answer:
            lines = answer.read().decode("utf-8").splitlines()
        entries = [line for line in lines if line and not line.startswith("#")]
        assert len(entries) == len(NAMES) + 1  # and the outro, for the finish sound
        for entry in entries:  # as a player resolves it: a URI reference beside the list
            assert fetch(urllib.parse.urljoin(playlist, entry)) == 200, entry
        page = (site / "index.html").read_text(encoding="utf-8")
        assert "names/" in page
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("file", [".warmup.yaml", "..easy.yaml"])
def test_a_script_named_like_a_hidden_file_is_published_where_serve_serves_it(
        tmp_path: Path, private_cache: Path, file: str) -> None:
    script = tmp_path / file
    script.write_text("title: Warm-up\nstages:\n  - name: Go\n    duration: 3\n", encoding="utf-8")
    site = publish(tmp_path, script)
    name = file.lstrip(".").removesuffix(".yaml")
    assert (site / f"{name}.mp3").is_file() and not list(site.glob(".*.mp3"))
    httpd, url = served(site)
    try:
        assert fetch(url + f"{name}.mp3") == 200
        assert f"{name}.mp3" in (site / "index.html").read_text(encoding="utf-8")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_feed_and_calendar_addresses_are_plain_uris(tmp_path: Path, private_cache: Path) -> None:
    (tmp_path / "run.yaml").write_text("title: Run\nstages:\n  - name: Go\n    duration: 3\n",
                                       encoding="utf-8")
    (tmp_path / "plan.yaml").write_text("programme: 1\ntitle: Plan\nweeks:\n"
                                        "  - sessions: [run.yaml]\n", encoding="utf-8")
    site = publish(tmp_path, tmp_path / "plan.yaml", "--base-url",
                   "https://läufe.example.org/Mein Plan/é", "--start", "2027-01-04",
                   "--days", "mon")
    for name in ("feed.xml", "programme.ics"):
        raw = (site / name).read_bytes().decode("utf-8")
        addresses = [part for part in raw.replace('"', " ").replace("\r\n ", "").split()
                     if "://" in part]
        assert addresses, name
        for address in addresses:
            address = address.split("URL:", 1)[-1].split(":", 1)[-1] if address.startswith(
                ("URL", "ATTACH")) else address
            assert address.isascii() and " " not in address, (name, address)
        host = "läufe.example.org".encode("idna").decode()
        assert f"https://{host}/Mein%20Plan/%C3%A9/" in raw
