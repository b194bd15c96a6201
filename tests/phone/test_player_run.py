"""The player on the run (spec 18.4, 19.3, 20.4, 21) in a real browser on the real
``serve``: the earbuds on an iPhone (WebKit's rules, with an iPhone's user agent), an open
stage that waits for the runner, the target in now playing, sessions done and a
programme's next one, the watch's workout, and a page light enough for a phone."""

from __future__ import annotations

import gzip
import os
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_player import Served, audio, browser_for, chapters, js, lock_screen, play, until

from voiceguide.cli import main

pytestmark = pytest.mark.slow

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
HILLS = """\
title: Hills
announce: false
stages:
  - name: Warm-up
    duration: 5
    target: {heart_rate: 120..140}
    say: Easy.
  - name: Hill
    open: true
    duration: 8
    target: {pace: "4:30..4:50/km"}
    say: Up, at {target}.
  - name: Jog
    duration: 6
    say: Jog down.
outro: Done.
"""
EASY = """\
title: Easy
stages:
  - name: Easy
    duration: 6
    say: Easy now.
"""
# Every call the page makes to the Media Session, in order, with how many `playing`
# events had come before it: what WebKit's rules are about.
RECORD_CALLS = """
window.__calls = [];
window.__playing = 0;
document.addEventListener("playing", () => { window.__playing += 1; }, true);
if (navigator.mediaSession) {
  const register = navigator.mediaSession.setActionHandler.bind(navigator.mediaSession);
  navigator.mediaSession.setActionHandler = (action, handler) => {
    window.__calls.push([action, handler === null, window.__playing]);
    register(action, handler);
  };
}
"""


def publish(folder: Path, *scripts: str, site: str = "site") -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
        result = CliRunner().invoke(main, ["publish", *scripts, "--to", str(folder / site),
                                           "--engine", "espeak-ng", "--title", "Club runs"])
    assert result.exit_code == 0, result.output
    return folder / site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    (folder / "hills.yaml").write_text(HILLS, encoding="utf-8")
    (folder / "easy.yaml").write_text(EASY, encoding="utf-8")
    return publish(folder, str(folder / "hills.yaml"), str(folder / "easy.yaml"))


@pytest.fixture
def served(site: Path) -> Iterator[Served]:
    running = Served(site)
    yield running
    running.stop()


def browser_as(tmp_path: Path, *flags: str) -> Any:
    chrome = browser_for(tmp_path, "light", *flags)
    chrome.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CALLS})
    return chrome


@pytest.fixture
def iphone(tmp_path: Path) -> Iterator[Any]:
    chrome = browser_as(tmp_path, f"--user-agent={IPHONE}")
    yield chrome
    chrome.quit()


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[Any]:
    chrome = browser_as(tmp_path)
    yield chrome
    chrome.quit()


def calls(browser: Any) -> list[tuple[str, bool, int]]:
    return [tuple(c) for c in js(browser, "return window.__calls")]


def test_on_an_iphone_the_seeks_are_cleared_and_the_actions_set_again_on_every_playing(
        served: Served, iphone: Any) -> None:
    iphone.get(served.url)
    assert "iPhone" in js(iphone, "return navigator.userAgent")
    play(iphone, "hills")
    until(iphone, lambda: js(iphone, "return window.__playing") >= 1, "never playing")
    until(iphone, lambda: any(c[2] >= 1 and c[0] == "nexttrack" for c in calls(iphone)),
          "the actions were not set again after playing")
    js(iphone, f"{audio('hills')}.pause()")
    play(iphone, "hills")
    until(iphone, lambda: js(iphone, "return window.__playing") >= 2, "never playing again")
    until(iphone, lambda: any(c[2] >= 2 and c[0] == "nexttrack" for c in calls(iphone)),
          "the actions were not set again on the second playing")
    seen = calls(iphone)
    for action in ("seekforward", "seekbackward"):
        assert {cleared for name, cleared, _ in seen if name == action} == {True}, action
    for playing in (1, 2):  # after each playing: every action again, seekto kept
        again = {name: cleared for name, cleared, count in seen if count == playing}
        assert again == {"play": False, "pause": False, "nexttrack": False,
                         "previoustrack": False, "seekforward": True, "seekbackward": True,
                         "seekto": False, "stop": False}
    marks = chapters(iphone, "hills")
    until(iphone, lambda: (lock_screen(iphone) or {}).get("title", "").startswith(
        marks[0]["title"]), "the lock screen lost the chapter on WebKit")


def test_elsewhere_the_seeks_stay_and_are_set_once_per_session(
        served: Served, desktop: Any) -> None:
    """The control: Chromium's own user agent keeps ±15 s seeks, as in spec 13."""
    desktop.get(served.url)
    play(desktop, "hills")
    until(desktop, lambda: js(desktop, "return window.__playing") >= 1, "never playing")
    seen = calls(desktop)
    assert {(name, cleared) for name, cleared, _ in seen} >= {
        ("seekforward", False), ("seekbackward", False), ("nexttrack", False)}
    assert all(count == 0 for _, _, count in seen)  # set on play, never again on playing


def _stage(browser: Any, title: str) -> dict[str, Any]:
    return next(c for c in chapters(browser, "hills") if c["title"] == title)


def test_an_open_stage_waits_at_its_end_until_the_runner_moves_on(
        served: Served, desktop: Any) -> None:
    from selenium.webdriver.common.by import By

    desktop.get(served.url)
    hill = _stage(desktop, "Stage 2: Hill")
    assert hill["open"] is True
    play(desktop, "hills")
    js(desktop, f"{audio('hills')}.currentTime = arguments[0]", hill["end"] - 1.0)
    until(desktop, lambda: js(desktop, f"return {audio('hills')}.paused"),
          "the open stage ran on past its end")
    at = js(desktop, f"return {audio('hills')}.currentTime")
    assert hill["end"] - 0.2 < at < hill["end"] + 1e-3
    wait = desktop.find_element(By.CSS_SELECTOR, "#session-hills .now-wait")
    assert wait.is_displayed() and "Next" in wait.text
    assert desktop.find_element(By.CSS_SELECTOR, "#session-hills .now-stage strong").text \
        == hill["title"]
    js(desktop, "window.__handlers.nexttrack({action: 'nexttrack'})")  # an earbud's tap
    jog = _stage(desktop, "Stage 3: Jog")
    until(desktop, lambda: not js(desktop, f"return {audio('hills')}.paused") and
          js(desktop, f"return {audio('hills')}.currentTime") >= jog["start"],
          "next did not move on from the waiting stage")
    assert not wait.is_displayed()


def test_play_moves_on_from_a_waiting_stage_and_a_fixed_stage_never_waits(
        served: Served, desktop: Any) -> None:
    desktop.get(served.url)
    hill, jog = _stage(desktop, "Stage 2: Hill"), _stage(desktop, "Stage 3: Jog")
    warm = _stage(desktop, "Stage 1: Warm-up")
    play(desktop, "hills")
    js(desktop, f"{audio('hills')}.currentTime = arguments[0]", warm["end"] - 0.8)
    until(desktop, lambda: js(desktop, f"return {audio('hills')}.currentTime") >
          warm["end"] + 0.3, "a fixed stage stopped at its end")  # the control
    assert not js(desktop, f"return {audio('hills')}.paused")
    js(desktop, f"{audio('hills')}.currentTime = arguments[0]", hill["end"] - 0.8)
    until(desktop, lambda: js(desktop, f"return {audio('hills')}.paused"),
          "the open stage ran on past its end")
    assert js(desktop, f"return {audio('hills')}.currentTime") < hill["end"]
    js(desktop, "window.__handlers.play({action: 'play'})")  # the lock screen's play
    until(desktop, lambda: not js(desktop, f"return {audio('hills')}.paused") and
          jog["start"] <= js(desktop, f"return {audio('hills')}.currentTime") < jog["end"],
          "play did not move on to the next stage")


def test_now_playing_and_the_lock_screen_show_the_target(served: Served, desktop: Any) -> None:
    from selenium.webdriver.common.by import By

    desktop.get(served.url)
    play(desktop, "hills")
    hill = _stage(desktop, "Stage 2: Hill")
    js(desktop, f"{audio('hills')}.currentTime = arguments[0]", hill["start"] + 0.5)
    target = desktop.find_element(By.CSS_SELECTOR, "#session-hills .now-target")
    until(desktop, target.is_displayed, "the target is not shown")
    assert target.text.endswith("4:30–4:50/km")
    until(desktop, lambda: (lock_screen(desktop) or {}).get("title") ==
          f"{hill['title']} · 4:30–4:50/km", "the lock screen has no target")
    jog = _stage(desktop, "Stage 3: Jog")
    js(desktop, f"{audio('hills')}.currentTime = arguments[0]", jog["start"] + 0.5)
    until(desktop, lambda: not target.is_displayed(), "a stage with no target shows one")


def test_a_session_played_to_its_end_is_done_and_stays_done(
        served: Served, desktop: Any) -> None:
    from selenium.webdriver.common.by import By

    desktop.get(served.url)
    badge = desktop.find_element(By.CSS_SELECTOR, "#session-easy .done-badge")
    assert not badge.is_displayed()
    play(desktop, "easy")
    js(desktop, f"{audio('easy')}.currentTime = {audio('easy')}.duration - 0.5")
    until(desktop, badge.is_displayed, "a session played to its end is not shown done")
    desktop.refresh()
    badge = desktop.find_element(By.CSS_SELECTOR, "#session-easy .done-badge")
    until(desktop, badge.is_displayed, "done was forgotten")
    toggle = desktop.find_element(By.CSS_SELECTOR, "#session-easy .done-toggle")
    toggle.click()
    assert not badge.is_displayed() and toggle.get_attribute("aria-pressed") == "false"
    assert not desktop.find_element(By.CSS_SELECTOR, "#session-hills .done-badge").is_displayed()


def test_a_programme_leads_with_the_first_session_not_done(tmp_path: Path, desktop: Any) -> None:
    from selenium.webdriver.common.by import By

    (tmp_path / "easy.yaml").write_text(EASY, encoding="utf-8")
    (tmp_path / "plan.yaml").write_text(
        "programme: 1\ntitle: Two weeks\nweeks:\n  - sessions: [easy.yaml, easy.yaml]\n"
        "  - sessions: [easy.yaml]\n", encoding="utf-8")
    running = Served(publish(tmp_path, str(tmp_path / "plan.yaml")))
    try:
        desktop.get(running.url)
        lead = desktop.find_element(By.CSS_SELECTOR, ".lead a")
        until(desktop, lead.is_displayed, "the page does not lead with the next session")
        first = js(desktop, "return [...document.querySelectorAll('.session')].map(s => s.id)")
        assert lead.get_attribute("href").endswith(f"#{first[0]}")
        desktop.find_element(By.CSS_SELECTOR, f"#{first[0]} .done-toggle").click()
        until(desktop, lambda: lead.get_attribute("href").endswith(f"#{first[1]}"),
              "marking the first done did not move the lead on")
        assert js(desktop, "return document.querySelector('.up-next').id") == first[1]
        counts = js(desktop, "return [...document.querySelectorAll('.week-done')]"
                             ".map(w => w.textContent)")
        assert counts == ["1/2 done", "0/1 done"]
        desktop.refresh()
        until(desktop, lambda: desktop.find_element(By.CSS_SELECTOR, ".lead a")
              .get_attribute("href").endswith(f"#{first[1]}"), "progress was not kept")
    finally:
        running.stop()


def test_the_page_offers_each_sessions_watch_workout(served: Served, desktop: Any) -> None:
    from selenium.webdriver.common.by import By

    desktop.get(served.url)
    link = desktop.find_element(By.CSS_SELECTOR, "#session-hills .watch a")
    assert link.text == "Workout for your watch" and link.get_attribute("download") is not None
    assert link.get_attribute("href") == served.url + "hills.fit"
    with urllib.request.urlopen(served.url + "hills.fit", timeout=30) as answer:
        data = answer.read()
        assert answer.headers["Content-Type"] == "application/vnd.ant.fit"
    assert data[8:12] == b".FIT"
    with urllib.request.urlopen(served.url + "feed.xml", timeout=30) as answer:
        assert b".fit" not in answer.read()  # the feed does not list it (spec 20.4)


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, dict(answer.headers), answer.read()


@pytest.mark.parametrize("name", ["", "player.js", "player.css", "hills.vtt", "hills.svg",
                                  "feed.xml"])
def test_serve_sends_text_gzipped_to_who_accepts_it(served: Served, name: str) -> None:
    _, plain_headers, plain = _get(served.url + name)
    status, headers, body = _get(served.url + name, **{"Accept-Encoding": "gzip, br"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in headers["Vary"] and "Accept-Encoding" in plain_headers["Vary"]
    assert gzip.decompress(body) == plain and len(body) < len(plain)
    assert "Content-Encoding" not in plain_headers
    assert headers["ETag"] != plain_headers["ETag"]


def test_audio_is_never_gzipped_and_still_answers_ranges(served: Served) -> None:
    status, headers, body = _get(served.url + "hills.mp3", **{"Accept-Encoding": "gzip",
                                                             "Range": "bytes=0-99"})
    assert status == 206 and len(body) == 100 and "Content-Encoding" not in headers


def test_the_page_shows_a_small_cover_and_says_what_it_is(served: Served, desktop: Any) -> None:
    desktop.get(served.url)
    until(desktop, lambda: js(desktop, "return document.querySelector('.cover').naturalWidth")
          > 0, "the small cover never loaded")
    cover = js(desktop, "const i = document.querySelector('.cover'); "
                        "return [i.naturalWidth, i.getAttribute('src')]")
    assert cover[0] <= 144 and cover[1] == "cover.small.jpg"
    _, _, data = _get(served.url + "cover.small.jpg")
    assert len(data) < 20_000
    described = js(desktop, "return document.querySelector('meta[name=description]').content")
    assert "Hills" in described and "Easy" in described


def test_timeline_labels_show_whole_or_not_at_all(served: Served, desktop: Any) -> None:
    """The picture opened at a phone's width and zoomed: every label that shows fits in
    the room its box gives it; more show as it widens."""
    shown = []
    for width in (320, 1300):
        desktop.set_window_size(width, 900)
        desktop.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": width, "height": 900, "deviceScaleFactor": 1,
                                 "mobile": False})
        desktop.get(served.url + "hills.svg")
        found = js(desktop, "return [...document.querySelectorAll('svg svg text')]"
                            ".filter(t => getComputedStyle(t).display !== 'none')"
                            ".map(t => [t.getComputedTextLength() + t.x.baseVal[0].value,"
                            " t.parentNode.width.baseVal.value])")
        assert all(length <= room + 0.5 for length, room in found), found
        shown.append(len(found))
    assert 0 < shown[0] < shown[1]


MINIBROWSER = Path("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")


@pytest.fixture
def webkit() -> Iterator[Any]:
    """WebKitGTK (a real WebKit engine, the one iPhones' browsers share) through its
    WebDriver, on a virtual display of its own."""
    import select
    import shutil
    import subprocess

    from selenium import webdriver
    from selenium.webdriver import WebKitGTKOptions
    from selenium.webdriver.webkitgtk.service import Service

    driver, xvfb = shutil.which("WebKitWebDriver"), shutil.which("Xvfb")
    if not (driver and xvfb and MINIBROWSER.is_file()):
        pytest.skip("WebKitGTK's WebDriver needs Debian's webkit2gtk-driver and xvfb")
    display = subprocess.Popen([xvfb, "-displayfd", "1", "-nolisten", "tcp", "-screen", "0",
                                "800x900x24"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert display.stdout is not None
        ready, _, _ = select.select([display.stdout], [], [], 60)
        assert ready, "Xvfb never said which display it took"
        number = display.stdout.readline().decode().strip()
        options = WebKitGTKOptions()
        options.binary_location = str(MINIBROWSER)
        options.add_argument("--automation")
        service = Service(driver, env={**os.environ, "DISPLAY": f":{number}"})
        with warnings.catch_warnings():  # selenium's own WebKitGTK driver uses an old API
            warnings.simplefilter("ignore", DeprecationWarning)
            browser = webdriver.WebKitGTK(options=options, service=service)
        try:
            yield browser
        finally:
            browser.quit()
    finally:
        display.terminate()
        display.wait(timeout=60)
        if display.stdout is not None:
            display.stdout.close()


def test_in_webkit_itself_the_seeks_are_cleared_and_the_actions_set_again_on_playing(
        served: Served, webkit: Any) -> None:
    webkit.get(served.url)
    js(webkit, RECORD_CALLS)  # no script runs before a WebDriver page; none is needed here
    webkit.find_element("css selector", "#session-hills [data-action=toggle]").click()
    until(webkit, lambda: js(webkit, "return window.__playing") >= 1, "WebKit never played")
    until(webkit, lambda: any(c[2] >= 1 and c[0] == "nexttrack" for c in calls(webkit)),
          "the actions were not set again after playing")
    seen = calls(webkit)
    assert {cleared for name, cleared, _ in seen if name in ("seekforward", "seekbackward")} \
        == {True}
    assert {name for name, cleared, count in seen if count >= 1 and not cleared} >= {
        "play", "pause", "nexttrack", "previoustrack", "seekto"}
    marks = chapters(webkit, "hills")
    until(webkit, lambda: (lock_screen(webkit) or {}).get("title", "").startswith(
        marks[0]["title"]), "WebKit's media session has no chapter title")


def test_a_saved_session_is_answered_by_the_worker_alone_with_the_server_gone(
        site: Path, desktop: Any) -> None:
    """Saved for offline, then the server stopped and the browser's own HTTP cache
    cleared: only the service worker's copy can answer. It answers every file, and Range
    requests with exactly the asked bytes (206, a suffix range, 416 past the end); the
    session plays and seeks. The unsaved session is the control: it cannot load."""
    from selenium.webdriver.common.by import By

    running = Served(site)
    try:
        desktop.get(running.url)
        until(desktop, lambda: js(desktop, "return !!navigator.serviceWorker.controller"),
              "the service worker never took over the page")
        button = desktop.find_element(By.CSS_SELECTOR, "#session-hills .offline")
        button.click()
        until(desktop, lambda: button.get_attribute("data-saved") == "true",
              "the session was never saved")
        whole = js(desktop, "return fetch('hills.mp3').then(r => r.arrayBuffer())"
                            ".then(b => b.byteLength)")
    finally:
        running.stop()
    desktop.execute_cdp_cmd("Network.clearBrowserCache", {})
    files = js(desktop, "return JSON.parse(document.getElementById('voiceguide-data')"
                        ".textContent).sessions.find(s => s.name === 'hills').files")
    assert {"hills.mp3", "hills.fit", "hills.vtt"} <= set(files)
    found = desktop.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all(arguments[0].map(f => caches.match(f, {ignoreVary: true})"
        ".then(r => !!r))).then(done)", files)
    assert found == [True] * len(files)
    desktop.refresh()
    until(desktop, lambda: js(desktop, "return !!window.voiceguide"),
          "the page did not come back without the network")

    def ranged(header: str) -> list[Any]:
        return desktop.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "fetch('hills.mp3', {headers: {Range: arguments[0]}}).then(async r => done("
            "[r.status, r.headers.get('Content-Range'), (await r.arrayBuffer()).byteLength]))"
            ".catch(e => done(['failed', String(e)]))", header)

    assert ranged("bytes=0-99") == [206, f"bytes 0-99/{whole}", 100]
    assert ranged("bytes=-50") == [206, f"bytes {whole - 50}-{whole - 1}/{whole}", 50]
    assert ranged(f"bytes={whole}-")[:2] == [416, f"bytes */{whole}"]
    hills = chapters(desktop, "hills")
    js(desktop, f"{audio('hills')}.currentTime = arguments[0]", hills[2]["start"] + 0.5)
    play(desktop, "hills")
    until(desktop, lambda: js(desktop, f"return {audio('hills')}.currentTime") >
          hills[2]["start"] + 0.8, "the saved copy never played on from the seek")
    control = desktop.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('easy.mp3').then(r => done(r.status)).catch(() => done('failed'))")
    assert control == "failed"  # never saved: nothing answers it
