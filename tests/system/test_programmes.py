"""Programmes (spec 17) as a coach uses them: check, plan and publish with real engines
and ffmpeg; the serial feed read by feedparser and podcastparser, the calendar by the
icalendar package, the tags by mutagen, the calendar fetched from the real ``serve``."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import urllib.request
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import feedparser
import podcastparser
import pytest
from click.testing import CliRunner
from icalendar import Calendar
from mutagen.id3 import ID3

from voiceguide.cli import main
from voiceguide.phone import server

pytestmark = pytest.mark.slow

BASE = "https://runs.example/form/"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
DRILL = """\
title: TITLE
intro: Week {week} of {weeks}, session {session} of {sessions}.
stages:
  - name: Go
    duration: 4..8
    say: Go.
"""
PROGRAMME = """\
programme: 1
title: Form in three weeks
author: Coach Dana
description: One step a week.
weeks:
  - sessions: [core.yaml, {script: back.yaml, pace: 1, title: Back, longer}]
  - sessions: [core.yaml]
  - sessions: [back.yaml, core.yaml, {script: back.yaml, length: 14}]
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--engine", "espeak-ng"] if args[0] != "init"
                                else list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def coach(folder: Path, programme: str = PROGRAMME) -> Path:
    for name, title in (("core", "Core"), ("back", "Back")):
        (folder / f"{name}.yaml").write_text(DRILL.replace("TITLE", title), encoding="utf-8")
    path = folder / "form.yaml"
    path.write_text(programme.replace("Back, longer", '"Back, longer"'), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> object:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
        yield


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, cache: object) -> Path:
    folder = tmp_path_factory.mktemp("form")
    code, out, err = run("publish", str(coach(folder)), "--to", str(folder / "site"),
                         "--base-url", BASE, "--start", "2027-01-06", "--days", "mon,wed,sat")
    assert code == 0, err
    assert out.splitlines()[-1] == str(folder / "site" / "programme.ics")
    return folder / "site"


def test_check_and_plan_take_a_programme(tmp_path: Path, cache: object) -> None:
    path = coach(tmp_path)
    code, out, err = run("check", str(path))
    assert code == 0, err
    assert out.startswith(f"{path}: ok, 3 weeks, 6 sessions, ")
    code, out, _ = run("plan", str(path))
    lines = out.splitlines()
    assert lines[0].startswith("Form in three weeks — 3 weeks, 6 sessions, ")
    assert [line.split(":")[0] for line in lines if line.startswith("Week")] == [
        "Week 1", "Week 2", "Week 3"]
    assert "  2. Back, longer — " in out
    code, out, _ = run("plan", str(path), "--json")
    planned = json.loads(out)
    assert planned["format"] == "voiceguide.programme/1" and planned["weeks"] == 3
    assert [(s["week"], s["session"], s["episode"]) for s in planned["sessions"]] == [
        (1, 1, 1), (1, 2, 2), (2, 1, 3), (3, 1, 4), (3, 2, 5), (3, 3, 6)]
    intros = [s["plan"]["events"][0]["text"] for s in planned["sessions"]]
    assert intros[1] == "Week 1 of 3, session 2 of 2."
    assert intros[5] == "Week 3 of 3, session 3 of 3."
    longest = [s["plan"]["duration_s"] for s in planned["sessions"]]
    assert longest[1] > longest[0]  # pace 1 for that session only
    assert abs(longest[5] - 14) < abs(longest[3] - 14)  # the length that session asked for


def test_the_feed_is_serial_in_programme_order(site: Path) -> None:
    data = (site / "feed.xml").read_bytes()
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.title == "Form in three weeks" and parsed.feed.author == "Coach Dana"
    assert parsed.feed.subtitle == "One step a week."
    titles = [e.title for e in parsed.entries]
    assert titles == ["Week 1 · Session 1: Core", "Week 1 · Session 2: Back, longer",
                      "Week 2 · Session 1: Core", "Week 3 · Session 1: Back",
                      "Week 3 · Session 2: Core", "Week 3 · Session 3: Back"]
    root = ET.fromstring(data)
    assert root.find(f"channel/{ITUNES}type").text == "serial"  # type: ignore[union-attr]
    places = [(int(i.find(f"{ITUNES}season").text), int(i.find(f"{ITUNES}episode").text))
              for i in root.iter("item")]  # type: ignore[union-attr, arg-type]
    assert places == [(1, 1), (1, 2), (2, 3), (3, 4), (3, 5), (3, 6)]
    gpodder = podcastparser.parse(BASE + "feed.xml", io.BytesIO(data))
    assert sorted(e["number"] for e in gpodder["episodes"]) == [1, 2, 3, 4, 5, 6]
    names = {Path(e["enclosures"][0]["url"]).name for e in gpodder["episodes"]}
    assert len(names) == 6  # one script three times in week 3: three files


def test_the_mp3_carries_the_item_title(site: Path) -> None:
    tag = ID3(site / "w01-02-back.mp3")
    assert str(tag["TIT2"]) == "Week 1 · Session 2: Back, longer"
    assert str(tag["TALB"]) == "Form in three weeks"


def test_the_calendar_puts_each_session_on_its_day(site: Path) -> None:
    calendar = Calendar.from_ical((site / "programme.ics").read_bytes())
    events = calendar.walk("VEVENT")
    # a start on a Wednesday with mon,wed,sat: Wed, Sat, then Mon of the next week
    assert [e.decoded("dtstart") for e in events] == [
        date(2027, 1, 6), date(2027, 1, 9), date(2027, 1, 13), date(2027, 1, 20),
        date(2027, 1, 23), date(2027, 1, 25)]
    assert all(e.decoded("dtend") == e.decoded("dtstart").__class__.fromordinal(
        e.decoded("dtstart").toordinal() + 1) for e in events)
    assert str(events[1]["summary"]) == "Week 1 · Session 2: Back, longer"
    assert str(events[1]["url"]) == BASE + "#session-w01-02-back"
    attach = str(events[1]["attach"])  # the MP3 as the feed names it: by its content
    assert re.fullmatch(re.escape(BASE) + r"w01-02-back\.[0-9a-f]{12}\.mp3", attach)
    data = (site / "w01-02-back.mp3").read_bytes()
    assert (site / attach.removeprefix(BASE)).read_bytes() == data
    assert attach.removeprefix(BASE + "w01-02-back.")[:-4] == hashlib.sha256(data).hexdigest()[:12]
    assert len({str(e["uid"]) for e in events}) == 6
    assert str(calendar["x-wr-calname"]) == "Form in three weeks"


def test_the_calendar_text_is_rfc_5545_as_written(tmp_path: Path, cache: object) -> None:
    """Read as text, not by the library that wrote it: CRLF line ends, no line over 75
    octets, folding that never splits a UTF-8 character, all-day dates as
    ``DTSTART;VALUE=DATE``, TEXT escaped; and each session's UID kept across a republish."""
    title = "Form " + "é" * 60 + r" back\slash; and, more"  # long, non-ASCII, to escape
    path = coach(tmp_path, PROGRAMME.replace("Form in three weeks", f"'{title}'"))
    target = tmp_path / "site"
    assert run("publish", str(path), "--to", str(target), "--base-url", BASE, "--start",
               "2027-01-06", "--days", "mon,wed,sat")[0] == 0
    raw = (target / "programme.ics").read_bytes()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    physical = raw.split(b"\r\n")[:-1]
    assert max(len(line) for line in physical) <= 75
    for line in physical:
        line.decode("utf-8")  # every physical line whole: no character cut by a fold
    logical: list[bytes] = []
    for line in physical:
        if line[:1] in (b" ", b"\t"):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    text = [line.decode("utf-8") for line in logical]
    name = next(line for line in text if line.startswith("X-WR-CALNAME"))
    assert name == "X-WR-CALNAME:Form " + "é" * 60 + r" back\\slash\; and\, more"
    starts = [line for line in text if line.startswith("DTSTART")]
    assert starts and all(re.fullmatch(r"DTSTART;VALUE=DATE:\d{8}", line) for line in starts)
    assert any(len(line) > 75 for line in logical)  # a control: folding happened
    uids = [line for line in text if line.startswith("UID:")]
    assert len(set(uids)) == len(uids) == 6
    code, _, err = run("publish", str(path), "--to", str(target))  # again, choices kept
    assert code == 0, err
    again = (target / "programme.ics").read_bytes().replace(b"\r\n ", b"").decode()
    assert [line for line in again.split("\r\n") if line.startswith("UID:")] == uids


def test_the_page_groups_the_sessions_by_week(site: Path) -> None:
    page = (site / "index.html").read_text(encoding="utf-8")
    assert page.count('<section class="week"') == 3
    assert page.index('id="week-1"') < page.index("session-w01-02-back") < page.index(
        'id="week-2"')
    assert 'href="programme.ics"' in page


def test_serve_makes_the_calendar_with_its_own_address(site: Path) -> None:
    httpd = server.server(site, "127.0.0.1", 0, None)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        address = server.advertised(httpd)
        with urllib.request.urlopen(address + "programme.ics", timeout=60) as response:
            kind, body = response.headers["Content-Type"], response.read()
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
    assert kind.startswith("text/calendar")
    events = Calendar.from_ical(body).walk("VEVENT")
    assert len(events) == 6 and all(str(e["attach"]).startswith(address) for e in events)


def test_republishing_keeps_what_did_not_change(tmp_path: Path, cache: object) -> None:
    path = coach(tmp_path)
    target = tmp_path / "site"
    assert run("publish", str(path), "--to", str(target), "--base-url", BASE, "--start",
               "2027-01-04", "--days", "tue,fri,sun")[0] == 0
    before = feedparser.parse((target / "feed.xml").read_bytes())
    # week 2 gains a session: week 2's {sessions} changes, weeks 1 and 3 stay as they were
    path.write_text(path.read_text(encoding="utf-8").replace(
        "  - sessions: [core.yaml]\n", "  - sessions: [core.yaml, back.yaml]\n"),
        encoding="utf-8")
    code, _, err = run("publish", str(path), "--to", str(target))  # start and days kept
    assert code == 0, err
    after = feedparser.parse((target / "feed.xml").read_bytes())
    guids = {e.title: e.id for e in before.entries}
    kept = {e.title: e.id for e in after.entries if guids.get(e.title) == e.id}
    assert set(kept) == {"Week 1 · Session 1: Core", "Week 1 · Session 2: Back, longer",
                         "Week 3 · Session 1: Back", "Week 3 · Session 2: Core",
                         "Week 3 · Session 3: Back"}
    assert "Week 2 · Session 2: Back" in {e.title for e in after.entries}
    days = [e.decoded("dtstart") for e in
            Calendar.from_ical((target / "programme.ics").read_bytes()).walk("VEVENT")]
    assert days[2:4] == [date(2027, 1, 12), date(2027, 1, 15)]  # week 2: Tue and Fri


@pytest.mark.parametrize(("args", "message"), [
    (("--start", "2027-02-30", "--days", "mon"), "Invalid value for '--start'"),
    (("--start", "2027-01-04", "--days", "mon,funday"), "'funday' is not a weekday"),
    (("--start", "2027-01-04", "--days", "mon,wed"),
     "week 3 has 3 sessions and --days gives 2 days a week; name more days"),
    (("--start", "2027-01-04"), "give --start and --days together"),
])
def test_bad_calendar_choices_are_one_line_and_nothing_is_written(
        tmp_path: Path, cache: object, args: tuple[str, ...], message: str) -> None:
    code, _, err = run("publish", str(coach(tmp_path)), "--to", str(tmp_path / "site"), *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "site").exists()


def test_a_problem_in_a_script_names_the_entry_that_led_to_it(tmp_path: Path,
                                                               cache: object) -> None:
    path = coach(tmp_path)
    (tmp_path / "back.yaml").write_text(DRILL.replace("{weeks}", "{wekes}"), encoding="utf-8")
    for command in ("check", "plan"):
        code, out, err = run(command, str(path))
        assert code == 2 and out == ""
        (line,) = err.splitlines()  # the script's problem once, though it is used three times
        assert line.startswith(f"{tmp_path / 'back.yaml'}:2:") and "{wekes}" in line
        assert line.endswith(f"(from {path}:6:27: week 1, session 2)")
    code, _, err = run("publish", str(path), "--to", str(tmp_path / "site"))
    assert code == 2 and not (tmp_path / "site").exists()
    code, _, err = run("build", str(tmp_path / "core.yaml"), "-o", str(tmp_path / "c.mp3"))
    assert code == 2 and "only mean something in a session of a programme" in err
    assert not (tmp_path / "c.mp3").exists()


def test_init_writes_a_starter_programme_that_checks(tmp_path: Path, cache: object,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("init", "--programme")
    assert code == 0, err
    assert out.splitlines()[0] == "programme.yaml"
    written = {Path(line).name for line in out.splitlines()}
    assert written == {"programme.yaml", "easy.yaml", "starter.yaml"}
    assert run("check", "programme.yaml")[0] == 0
    code, _, err = run("init", "--programme")
    assert code == 2 and "exists already" in err
