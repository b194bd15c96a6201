"""Publishing is a transaction: a locked folder, staged builds, a commit that signals do
not cut in two and that the next publish carries through, an index that can be lost.

Real builds (espeak-ng), real processes and signals; every wait is on something the
test can see (a line on stderr, a file appearing), never on a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from waiting import line_of, until

from voiceguide import files
from voiceguide.cli import main
from voiceguide.phone import feed
from voiceguide.phone import publish as publishing

pytestmark = pytest.mark.usefixtures("private_cache")  # see conftest.py

BASE = "https://runs.example.org/club/"


def script(folder: Path, name: str, say: str = "Go.", seconds: int = 8) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(f"title: {name.title()}\nstages:\n  - name: A\n    duration: {seconds}\n"
                    f"    say: {say}\n  - name: B\n    duration: 8\n    say: Stop.\n")
    return path


def publish(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["publish", *map(str, args), "--engine", "espeak-ng",
                                       "--base-url", BASE])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != publishing.LOCK}


def described_exactly(folder: Path) -> None:
    """The index and the feed describe exactly the MP3s in the folder, nothing pending:
    each session's ``NAME.mp3``, and the name the feed gives it, holding the bytes the
    feed describes, and no other."""
    stored = json.loads((folder / feed.INDEX).read_text())
    assert "pending" not in stored and not (folder / publishing.STAGING).exists()
    names = sorted(e["name"] for e in stored["sessions"])
    enclosures = {e["name"]: f"{e['name']}.{e['guid'][:12]}.mp3" for e in stored["sessions"]}
    assert sorted(p.name for p in folder.glob("*.mp3")) == sorted(
        [f"{n}.mp3" for n in names] + list(enclosures.values()))
    xml = (folder / feed.FEED).read_text()
    for e in stored["sessions"]:
        for file in (f"{e['name']}.mp3", enclosures[e["name"]]):
            data = (folder / file).read_bytes()
            assert e["guid"] == hashlib.sha256(data).hexdigest() and e["size"] == len(data)
        assert f'<guid isPermaLink="false">{e["guid"]}</guid>' in xml
        assert f'<enclosure url="{BASE}{enclosures[e["name"]]}" length="{e["size"]}"' in xml


def feed_tells_the_truth(folder: Path) -> int:
    """Every item of the feed on disk names a file holding exactly the bytes it describes
    (length and guid, the sha256); the number of items."""
    import xml.etree.ElementTree as ET

    items = list(ET.parse(folder / feed.FEED).getroot().iter("item"))
    for item in items:
        enclosure = item.find("enclosure")
        assert enclosure is not None
        data = (folder / enclosure.get("url", "").removeprefix(BASE)).read_bytes()
        assert int(enclosure.get("length", "-1")) == len(data)
        assert item.findtext("guid") == hashlib.sha256(data).hexdigest()
    return len(items)


def test_a_good_and_a_bad_script_change_nothing(tmp_path: Path) -> None:
    site = tmp_path / "site"
    good = script(tmp_path, "good")
    assert publish(good, "--to", site)[0] == 0
    before = snapshot(site)
    script(tmp_path, "good", say="Go faster now.")  # would give new audio and a new guid
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: B\nstages:\n  - name: A\n    duration: 2\n    say: "
                   + "A very long text that cannot fit in two seconds. " * 4 + "\n")
    code, err = publish(good, bad, "--to", site)
    assert code == 2 and "bad.yaml:" in err
    assert snapshot(site) == before
    described_exactly(site)


def test_a_build_killed_midway_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    site = tmp_path / "site"
    first = script(tmp_path, "first")
    assert publish(first, "--to", site)[0] == 0
    before = snapshot(site)
    script(tmp_path, "first", say="Go, a new text now.")
    slow = script(tmp_path, "slow", say="One. Two. Three.", seconds=600)
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "publish", str(first), str(slow), "--to",
         str(site), "--engine", "espeak-ng", "--base-url", BASE],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = site / publishing.STAGING
    until(lambda: staging.is_dir() and any(p.name.startswith(".slow.mp3.")
                                           for p in staging.iterdir()),
          "the second build to start writing its MP3")
    process.send_signal(signal.SIGKILL)  # the second build is writing: no handler runs
    process.wait(timeout=60)
    assert snapshot(site).keys() - before.keys() <= {
        str(p.relative_to(site)) for p in (site / publishing.STAGING).rglob("*")}
    assert {k: v for k, v in snapshot(site).items() if k in before} == before
    assert publish(first, "--to", site)[0] == 0  # the next publish sweeps the staging
    described_exactly(site)


@pytest.mark.parametrize("moved", [0, 1, 3, None])
def test_a_commit_cut_short_is_carried_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               moved: int | None) -> None:
    """The process dies inside the commit (after *moved* renames; None: after all of them,
    before the feed): the next publish finishes that commit, and nothing is lost."""
    site = tmp_path / "site"
    one, two = script(tmp_path, "one"), script(tmp_path, "two")
    assert publish(one, "--to", site)[0] == 0
    before = (site / "one.mp3").read_bytes()
    script(tmp_path, "one", say="Go on, a new text.")
    real_replace = os.replace
    renames = []

    class Killed(BaseException):
        pass

    def replace(source: str | Path, target: str | Path) -> None:
        if publishing.STAGING in str(source) and Path(target).parent == site:
            if moved is not None and len(renames) == moved:
                raise Killed()
            renames.append(target)
        real_replace(source, target)

    def save(*args: object) -> None:
        raise Killed()

    monkeypatch.setattr(publishing.os, "replace", replace)
    if moved is None:
        monkeypatch.setattr(publishing, "save", save)
    with pytest.raises(Killed):
        CliRunner().invoke(main, ["publish", str(one), str(two), "--to", str(site), "--engine",
                                  "espeak-ng"], catch_exceptions=False)
    monkeypatch.undo()
    assert json.loads((site / feed.INDEX).read_text())["pending"]
    # killed there, the feed on disk still describes exactly the files it names
    assert feed_tells_the_truth(site) == 1
    if moved is None:
        assert (site / "one.mp3").read_bytes() != before  # the new MP3 is in, the feed not
    three = script(tmp_path, "three")
    assert publish(three, "--to", site)[0] == 0
    described_exactly(site)
    assert sorted(p.stem for p in site.glob("*.mp3") if p.stem.count(".") == 0) == [
        "one", "three", "two"]
    assert feed_tells_the_truth(site) == 3


def test_signals_wait_for_the_commit() -> None:
    arrived = []
    previous = signal.signal(signal.SIGTERM, lambda *_: arrived.append("handled"))
    try:
        with files.signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            arrived.append("inside")
        arrived.append("after")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert arrived == ["inside", "handled", "after"]


def test_a_second_publish_waits_for_the_first(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    one = script(tmp_path, "one")
    with files.locked(site / publishing.LOCK):  # a publish holding the folder
        process = subprocess.Popen(
            [sys.executable, "-m", "voiceguide", "publish", str(one), "--to", str(site),
             "--engine", "espeak-ng", "--base-url", BASE],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert process.stderr is not None
        line = line_of(process.stderr, "the publish to say it waits")  # the event
        assert "another publish is writing" in line
        assert not (site / "one.mp3").exists()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    described_exactly(site)


def test_publishes_at_once_keep_every_session(tmp_path: Path) -> None:
    site = tmp_path / "site"
    names = ["a", "b", "c"]
    processes = [subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "publish", str(script(tmp_path, n)), "--to",
         str(site), "--engine", "espeak-ng", "--base-url", BASE],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in names]
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
    described_exactly(site)
    assert sorted(p.stem for p in site.glob("*.mp3") if "." not in p.stem) == names


def test_a_damaged_index_keeps_the_sessions_whose_files_are_there(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert publish(script(tmp_path, "drill", say="'Go, and then: go <faster> & on.'"),
                   "--to", site, "--split")[0] == 0
    good = json.loads((site / feed.INDEX).read_text())
    entry = good["sessions"][0]
    damaged = [{"sessions": 5}, {"sessions": [{"name": 3}]}, [1, 2], "{",
               {"sessions": [{**entry, "duration_ms": "long"}]},
               {"sessions": [{**entry, "chapters": [["A", "x"]]}]},
               {"sessions": [{**entry, "name": "../../drill"}]},
               {**good, "pending": ["../feed.xml"]}]
    kept = {k: v for k, v in entry.items() if k != "published"}
    for index in damaged:
        (site / feed.INDEX).write_text(json.dumps(index))
        read = feed.read_index(site)
        assert read.damaged and read.channel == feed.Channel(), index
        assert {k: v for k, v in vars(read.entries["drill"]).items()
                if k != "published"} == {k: (list(map(tuple, v)) if k in ("chapters", "spoken")
                                             else v) for k, v in kept.items()}
    (site / feed.INDEX).unlink()
    (site / feed.INDEX).symlink_to("/dev/zero")  # would be read for ever
    assert list(feed.read_index(site).entries) == ["drill"]
    code, err = publish(script(tmp_path, "other"), "--to", site)
    assert code == 0 and "was damaged; 1 sessions were read back" in err
    described_exactly(site)
    assert sorted(e["name"] for e in json.loads((site / feed.INDEX).read_text())["sessions"]) \
        == ["drill", "other"]


def programme(folder: Path, names: list[str]) -> Path:
    path = folder / "plan.yaml"
    path.write_text("programme: 1\ntitle: Block\nweeks:\n  - sessions: [" + ", ".join(
        f"{n}.yaml" for n in names) + "]\n", encoding="utf-8")
    return path


def episodes(site: Path) -> list[tuple[int, int, str]]:
    """(episode, session, enclosure) of every item, as the feed on disk says them."""
    import xml.etree.ElementTree as ET

    ns = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd"}
    items = ET.parse(site / feed.FEED).getroot().iter("item")
    return [(int(i.findtext("itunes:episode", "0", ns)), int(i.findtext("itunes:season", "0", ns)),
             i.find("enclosure").get("url", "").rsplit("/", 1)[-1])  # type: ignore[union-attr]
            for i in items]


@pytest.mark.parametrize("cut_short", [False, True])
def test_a_programme_republished_with_a_session_dropped_numbers_each_episode_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cut_short: bool) -> None:
    """Week 1 was easy, hills, strides; now easy, strides: the feed has two episodes, 1 and
    2, and the files of the sessions it no longer has are gone (the user's own stay), even
    when the commit that drops them is cut short and carried through by the next."""
    for name in ("easy", "hills", "strides"):
        script(tmp_path, name)
    site = tmp_path / "site"
    code, err = publish(programme(tmp_path, ["easy", "hills", "strides"]), "--to", site,
                        "--split")
    assert code == 0, err
    before = {p.name for p in site.iterdir()}
    assert [e[0] for e in episodes(site)] == [1, 2, 3]
    (site / "w01-02-hills" / "my notes.txt").write_text("mine")  # the user's, in a stage folder
    (site / "mine.txt").write_text("mine")
    shorter = programme(tmp_path, ["easy", "strides"])
    if cut_short:
        class Killed(BaseException):
            pass

        def save(*args: object) -> None:
            raise Killed()

        monkeypatch.setattr(publishing, "save", save)
        with pytest.raises(Killed):
            CliRunner().invoke(main, ["publish", str(shorter), "--to", str(site), "--engine",
                                      "espeak-ng", "--base-url", BASE, "--split"],
                               catch_exceptions=False)
        monkeypatch.undo()
        assert json.loads((site / feed.INDEX).read_text())["withdrawn"] == [
            "w01-02-hills", "w01-03-strides"]
        named = [file for _, _, file in episodes(site)]  # the feed on disk names them still,
        assert len(named) == 3 and all((site / file).is_file() for file in named)  # and they are
    code, err = publish(shorter, "--to", site, "--split")
    assert code == 0, err
    assert [(n, week, file.split(".")[0]) for n, week, file in episodes(site)] == [
        (1, 1, "w01-01-easy"), (2, 1, "w01-02-strides")]
    described_exactly(site)
    after = {p.name for p in site.iterdir()}
    gone = {n for n in before - after}
    assert {"w01-02-hills.mp3", "w01-02-hills.fit", "w01-02-hills.vtt", "w01-03-strides.mp3",
            "w01-03-strides.svg", "w01-03-strides"} <= gone
    assert not any(n.startswith(("w01-02-hills.", "w01-03-")) for n in after)
    assert (site / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in (site / "w01-02-hills").iterdir()) == ["my notes.txt"]
    assert "withdrawn" not in json.loads((site / feed.INDEX).read_text())
