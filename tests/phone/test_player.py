"""The player page in a real browser (headless Chromium through selenium) on the real
``serve``: lock-screen metadata, the earbuds' next and previous, one session at a time,
offline copies that play and seek with the server gone, and phone-size screenshots."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from voiceguide.cli import main
from voiceguide.phone import server

pytestmark = pytest.mark.slow

INTERVALS = """\
title: Intervals
intro: Three short stages.
stages:
  - name: Easy
    duration: 8
    say: Easy now.
  - repeat: 2
    stages:
      - name: Fast
        duration: 6
        say: Fast.
outro: Done.
"""
WALK = """\
title: Walk
stages:
  - name: Walk
    duration: 10
    say: Walk.
  - name: Stretch
    duration: 6
    say: Stretch.
"""
# Recorded as the page registers them, so a test can call them as the browser would
# when an earbud is tapped.
RECORD_HANDLERS = """
window.__handlers = {};
if (navigator.mediaSession) {
  const register = navigator.mediaSession.setActionHandler.bind(navigator.mediaSession);
  navigator.mediaSession.setActionHandler = (action, handler) => {
    window.__handlers[action] = handler;
    register(action, handler);
  };
}
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("player")
    (folder / "intervals.yaml").write_text(INTERVALS, encoding="utf-8")
    (folder / "walk.yaml").write_text(WALK, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))
        result = CliRunner().invoke(main, ["publish", str(folder / "intervals.yaml"),
                                           str(folder / "walk.yaml"), "--to",
                                           str(folder / "site"), "--engine", "espeak-ng",
                                           "--title", "Club runs"])
    assert result.exit_code == 0, result.stderr
    return folder / "site"


class Served:
    def __init__(self, root: Path) -> None:
        self.httpd = server.server(root, "127.0.0.1", 0, None)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = server.advertised(self.httpd)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def served(site: Path) -> Iterator[Served]:
    running = Served(site)
    yield running
    if running.thread.is_alive():
        running.stop()


def browser_for(tmp_path: Path, scheme: str = "light", *flags: str) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert browser and driver, "make test installs Debian's chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                 "--window-size=390,844", f"--user-data-dir={tmp_path / ('profile-' + scheme)}",
                 *flags):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    chrome.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    chrome.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_HANDLERS})
    return chrome


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    chrome = browser_for(tmp_path)
    yield chrome
    chrome.quit()


def until(browser: Any, check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Waits for *check* to be true (polled by selenium), failing with *what*."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(lambda _: check(), what)


def js(browser: Any, script: str, *args: object) -> Any:
    return browser.execute_script(script, *args)


def audio(name: str) -> str:
    return f"document.querySelector('#session-{name} audio')"


def play(browser: Any, name: str) -> None:
    js(browser, f"{audio(name)}.play()")
    until(browser, lambda: js(browser, f"return !{audio(name)}.paused && "
                                       f"{audio(name)}.currentTime > 0"), f"{name} never played")


def chapters(browser: Any, name: str) -> list[dict[str, Any]]:
    found = js(browser, "return JSON.parse(document.getElementById('voiceguide-data')"
                        ".textContent).sessions")
    return next(s["chapters"] for s in found if s["name"] == name)


def lock_screen(browser: Any) -> dict[str, str] | None:
    return js(browser, "const m = navigator.mediaSession.metadata; return m && "
                       "{title: m.title, artist: m.artist, album: m.album, "
                       "artwork: m.artwork.map(a => a.src)}")


def test_the_lock_screen_follows_the_chapter_and_the_earbuds_move_between_stages(
        served: Served, browser: Any) -> None:
    browser.get(served.url)
    marks = chapters(browser, "intervals")
    play(browser, "intervals")
    until(browser, lambda: (lock_screen(browser) or {}).get("title") == marks[0]["title"],
          "the lock screen never showed the first chapter")
    shown = lock_screen(browser)
    assert shown is not None and shown["artist"] == "Intervals" and shown["album"] == "Club runs"
    assert shown["artwork"] == [served.url + "cover.png"]
    assert set(js(browser, "return Object.keys(window.__handlers)")) >= {
        "play", "pause", "nexttrack", "previoustrack", "seekforward", "seekbackward"}

    def position() -> float:
        return float(js(browser, f"return {audio('intervals')}.currentTime"))

    def press(action: str, at: float | None = None) -> float:
        """The earbud's *action* (after a seek to *at*) and where it left the audio, in one
        round trip: no playing time passes between the press and the reading."""
        return float(js(browser, f"const a = {audio('intervals')};"
                                 "if (arguments[0] !== null) a.currentTime = arguments[0];"
                                 "window.__handlers[arguments[1]]({action: arguments[1]});"
                                 "return a.currentTime;", at, action))

    for index in range(1, len(marks)):  # a double tap on an earbud, chapter after chapter
        assert abs(press("nexttrack") - marks[index]["start"]) < 0.05
        until(browser, lambda i=index: lock_screen(browser)["title"] == marks[i]["title"],
              f"the title never became {marks[index]['title']}")
    assert press("nexttrack") >= marks[-1]["start"]  # past the last: stays
    # 4 s into a chapter: its start; 1 s in (within 3 s of it): the one before
    assert abs(press("previoustrack", marks[2]["start"] + 4) - marks[2]["start"]) < 0.05
    assert abs(press("previoustrack", marks[2]["start"] + 1) - marks[1]["start"]) < 0.05
    until(browser, lambda: lock_screen(browser)["title"] == marks[1]["title"],
          "previoustrack never changed the title")
    assert abs(press("seekforward", marks[1]["start"]) - (marks[1]["start"] + 15)) < 0.05
    assert abs(press("seekbackward") - marks[1]["start"]) < 0.05
    assert position() >= marks[1]["start"]
    now = browser.find_element("css selector", "#session-intervals .now-stage strong").text
    assert now == marks[1]["title"]
    left = browser.find_element("css selector", "#session-intervals .now-left time").text
    assert ":" in left and "." not in left


def test_starting_a_second_session_pauses_the_first(served: Served, browser: Any) -> None:
    browser.get(served.url)
    play(browser, "intervals")
    play(browser, "walk")
    until(browser, lambda: js(browser, f"return {audio('intervals')}.paused"),
          "the first session kept playing")
    until(browser, lambda: (lock_screen(browser) or {}).get("artist") == "Walk",
          "the lock screen never moved to the second session")


def test_a_session_saved_for_offline_plays_and_seeks_with_the_server_gone(
        served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(served.url)
    until(browser, lambda: js(browser, "return !!navigator.serviceWorker.controller"),
          "the service worker never took over the page")
    button = browser.find_element(By.CSS_SELECTOR, "#session-walk .offline")
    assert "offline" in (button.get_attribute("textContent") or "").lower()
    button.click()
    until(browser, lambda: button.get_attribute("data-saved") == "true",
          "the session was never saved")
    served.stop()
    browser.refresh()
    until(browser, lambda: js(browser, "return !!window.voiceguide"),
          "the page did not come back without the network")
    walk = chapters(browser, "walk")
    js(browser, f"{audio('walk')}.currentTime = arguments[0]", walk[1]["start"] + 1)
    until(browser, lambda: js(browser, f"return {audio('walk')}.readyState >= 2 && "
                                       f"!{audio('walk')}.seeking"), "the saved copy never seeked")
    play(browser, "walk")
    until(browser, lambda: js(browser, f"return {audio('walk')}.currentTime") >
          walk[1]["start"] + 1.2, "the saved copy never played on from the seek")
    assert browser.find_element(By.CSS_SELECTOR, "#session-walk .now-stage strong").text == \
        walk[1]["title"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_at_phone_size(served: Served, tmp_path: Path, scheme: str) -> None:
    """Written to the test's folder for a person to look at; the checks here are the
    layout's promises: nothing wider than the phone, every button at least 44 px."""
    chrome = browser_for(tmp_path, scheme)
    try:
        chrome.get(served.url)
        play(chrome, "intervals")
        assert js(chrome, "return document.documentElement.scrollWidth") <= 390
        small = js(chrome, "return [...document.querySelectorAll('button, summary')]"
                           ".filter(b => b.offsetParent !== null && !b.disabled)"
                           ".map(b => b.getBoundingClientRect())"
                           ".filter(r => r.height < 44 || r.width < 44).length")
        assert small == 0
        background = js(chrome, "return getComputedStyle(document.body).backgroundColor")
        assert (background == "rgb(15, 23, 34)") == (scheme == "dark")
        chrome.save_screenshot(str(tmp_path / f"player-{scheme}.png"))
    finally:
        chrome.quit()


def test_on_a_plain_http_lan_address_the_page_says_offline_needs_the_feed(
        served: Served, tmp_path: Path) -> None:
    """A phone on the LAN reaches serve by a name that is not this machine's own, over
    plain http: not a secure context, so no service worker. (The name leads to loopback.)"""
    from selenium.webdriver.common.by import By

    chrome = browser_for(tmp_path, "light", "--host-resolver-rules=MAP runner-laptop.lan "
                         "127.0.0.1")
    try:
        port = served.url.rsplit(":", 1)[1].rstrip("/")
        chrome.get(f"http://runner-laptop.lan:{port}/")
        assert js(chrome, "return window.isSecureContext") is False
        note = chrome.find_element(By.CSS_SELECTOR, ".offline-note")
        until(chrome, note.is_displayed, "the page never said why nothing is kept offline")
        assert "feed" in note.text and len(note.text.splitlines()) == 1
        for button in chrome.find_elements(By.CSS_SELECTOR, ".offline"):
            assert not button.is_enabled()
        play(chrome, "walk")  # the session itself still plays
    finally:
        chrome.quit()


def test_reopened_the_page_offers_to_continue_where_the_runner_left_off(
        served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(served.url)
    play(browser, "intervals")
    js(browser, f"{audio('intervals')}.currentTime = 17")
    js(browser, f"{audio('intervals')}.pause()")
    browser.refresh()
    offer = browser.find_element(By.CSS_SELECTOR, "#session-intervals .resume")
    until(browser, offer.is_displayed, "the page never offered to continue")
    assert offer.find_element(By.TAG_NAME, "time").text == "0:17"
    offer.find_element(By.CSS_SELECTOR, ".resume-go").click()
    until(browser, lambda: js(browser, f"return {audio('intervals')}.currentTime") >= 17,
          "continue did not go back to 0:17")
    assert not js(browser, "return document.querySelector('#session-walk .resume')"
                           ".offsetParent")  # nothing kept for a session never played


def test_the_timeline_fits_360_px_and_zooms(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": True})
    browser.get(served.url)
    assert js(browser, "return document.documentElement.scrollWidth") <= 360
    section = browser.find_element(By.ID, "session-intervals")
    track = section.find_element(By.CSS_SELECTOR, ".track")
    scroller = section.find_element(By.CSS_SELECTOR, ".scroller")
    fitted = track.size["width"]
    assert fitted <= scroller.size["width"]
    section.find_element(By.CSS_SELECTOR, ".zoom-in").click()
    section.find_element(By.CSS_SELECTOR, ".zoom-in").click()
    assert abs(track.size["width"] - 4 * fitted) < 4  # wider, scrolled inside its box
    assert js(browser, "return document.documentElement.scrollWidth") <= 360
    section.find_element(By.CSS_SELECTOR, ".zoom-out").click()
    assert abs(track.size["width"] - 2 * fitted) < 4


def test_the_page_loads_nothing_from_outside_its_folder(served: Served, browser: Any) -> None:
    browser.get(served.url)
    play(browser, "walk")
    loaded = js(browser, "return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(name.startswith(served.url) for name in loaded), loaded


def test_a_programmes_page_groups_by_week_and_marks_todays_session(
        tmp_path: Path, browser: Any) -> None:
    """At 360 px: a heading per week, the sessions in programme order under them, each
    with its day in the reader's words, today's marked, the calendar a tap away."""
    from datetime import date

    from voiceguide.phone.calendar import WEEKDAYS

    for name, text in (("intervals", INTERVALS), ("walk", WALK)):
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "plan.yaml").write_text(
        "programme: 1\ntitle: Two weeks\nweeks:\n  - sessions: [walk.yaml, intervals.yaml]\n"
        "  - sessions: [walk.yaml]\n", encoding="utf-8")
    today = date.today()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        result = CliRunner().invoke(main, [
            "publish", str(tmp_path / "plan.yaml"), "--to", str(tmp_path / "site"),
            "--engine", "espeak-ng", "--start", today.isoformat(), "--days",
            ",".join(WEEKDAYS[(today.weekday() + n) % 7] for n in (0, 3))])
    assert result.exit_code == 0, result.stderr
    running = Served(tmp_path / "site")
    try:
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": 360, "height": 800, "deviceScaleFactor": 1,
                                 "mobile": True})
        browser.get(running.url)
        until(browser, lambda: js(browser, "return !!document.querySelector('.session.today')"),
              "today's session is not marked")
        weeks = js(browser, "return [...document.querySelectorAll('h2.week-title')]"
                            ".map(h => [h.firstChild.textContent.trim(), h.parentElement"
                            ".querySelectorAll('.session').length, "
                            "h.querySelector('.week-done').textContent])")
        assert weeks == [["Week 1", 2, "0/2 done"], ["Week 2", 1, "0/1 done"]]
        assert js(browser, "return document.querySelector('.session.today').id") == \
            "session-w01-01-walk"
        day = js(browser, "return document.querySelector('.session.today time.day').textContent")
        assert day.endswith("(today)") and str(today.day) in day
        assert js(browser, "return document.documentElement.scrollWidth") <= 360
        link = js(browser, "const a = document.querySelector('.calendar a');"
                           "return [a.getAttribute('href'), a.getBoundingClientRect().height]")
        assert link[0] == "programme.ics" and link[1] >= 44
        browser.save_screenshot(str(tmp_path / "programme.png"))
    finally:
        running.stop()
