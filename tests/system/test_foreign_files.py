"""Files that are not voiceguide's (issue: trust, part three): a build or a publish never
removes, changes or writes through anything it did not write, whatever kind of thing it
is and wherever it stands among the targets; it refuses before any work (exit 2, one
line naming the option and the thing), and writes nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main

pytestmark = pytest.mark.slow

DRILL = """\
title: Hill
intro: Up we go.
stages:
  - name: Warm up
    duration: 6
    say: Easy.
  - name: Climb
    duration: 6
    say: Drive the arms.
outro: Done.
"""
PROGRAMME = """\
programme: 1
title: Two hills
weeks:
  - sessions: [hill.yaml, hill.yaml]
"""
ENGINE = ("--engine", "espeak-ng")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def tree(root: Path) -> dict[str, object]:
    """Everything under *root*: each link's target, each file's bytes, each folder."""
    found: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path))
        elif path.is_file():
            found[name] = path.read_bytes()
        else:
            found[name] = "folder"
    return found


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_cache: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hill.yaml").write_text(DRILL)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "mine.txt").write_text("the user's own\n")
    return tmp_path


def _song_like(folder: Path) -> None:
    (folder / "01 my song.mp3").write_bytes(b"ID3 the user's song")


def _stage_name_before_any_build(folder: Path) -> None:
    (folder / "01 Intro.mp3").write_bytes(b"the user's intro")


def _changed_stage_file(folder: Path) -> None:
    with (folder / "02 Stage 1 - Warm up.mp3").open("ab") as f:
        f.write(b"the user's edit")


def _subfolder_named_like_a_stage_file(folder: Path) -> None:
    (folder / "04 Extra.mp3").mkdir()
    (folder / "04 Extra.mp3" / "plan.txt").write_text("mine")


def _link_out(folder: Path) -> None:
    (folder / "03 Stage 2 - Climb.mp3").unlink(missing_ok=True)
    (folder / "03 Stage 2 - Climb.mp3").symlink_to(folder.parent.parent / "outside" / "mine.txt")


def _playlist_edited(folder: Path) -> None:
    (folder / "hill.m3u8").write_text("#EXTM3U\nmy order\n")


FOREIGN: dict[str, tuple[Callable[[Path], None], bool]] = {  # (make it, after a build?)
    "a file named like a stage file": (_song_like, True),
    "a stage's name before any build": (_stage_name_before_any_build, False),
    "a stage file the user changed": (_changed_stage_file, True),
    "the playlist the user changed": (_playlist_edited, True),
    "a folder of the user's with a stage file's name": (_subfolder_named_like_a_stage_file,
                                                         True),
    "a link out of the folder": (_link_out, True),
}


@pytest.mark.parametrize("kind", FOREIGN)
def test_build_split_leaves_every_foreign_thing_in_the_stage_folder(place: Path,
                                                                    kind: str) -> None:
    make, after_build = FOREIGN[kind]
    (place / "out").mkdir()
    if after_build:
        assert run("build", "hill.yaml", "--split", "-o", "out/hill.mp3", *ENGINE)[0] == 0
    else:
        (place / "out" / "hill").mkdir()
    make(place / "out" / "hill")
    before = tree(place)
    code, output = run("build", "hill.yaml", "--split", "-o", "out/hill.mp3", *ENGINE)
    assert code == 2, output
    assert "is not a file voiceguide wrote" in output and "-o" in output
    assert tree(place) == before  # nothing changed, the MP3 beside it neither


@pytest.mark.parametrize("what", ["a file", "a link to a folder outside"])
def test_build_split_where_the_stage_folder_is_not_a_folder_writes_nothing(
        place: Path, what: str) -> None:
    (place / "out").mkdir()
    if what == "a file":
        (place / "out" / "hill").write_text("mine")
    else:
        (place / "out" / "hill").symlink_to(place / "outside")
    before = tree(place)
    code, output = run("build", "hill.yaml", "--split", "-o", "out/hill.mp3", *ENGINE)
    assert code == 2 and "is not a folder" in output, output
    assert tree(place) == before and not (place / "out" / "hill.mp3").exists()


def test_what_a_build_never_writes_may_stay_in_the_stage_folder(place: Path) -> None:
    """The control: the user's notes and folders beside the stage files are left as they
    are, build after build."""
    (place / "out").mkdir()
    assert run("build", "hill.yaml", "--split", "-o", "out/hill.mp3", *ENGINE)[0] == 0
    (place / "out" / "hill" / "notes.txt").write_text("mine")
    (place / "out" / "hill" / "photos").mkdir()
    (place / "out" / "hill" / "photos" / "top.jpg").write_bytes(b"jpeg")
    mine = {k: v for k, v in tree(place).items() if "notes" in k or "photos" in k}
    assert run("build", "hill.yaml", "--split", "-o", "out/hill.mp3", *ENGINE)[0] == 0
    assert {k: v for k, v in tree(place).items() if "notes" in k or "photos" in k} == mine


def test_a_second_split_keeps_the_files_it_did_not_write_and_builds_a_dotted_name(
        place: Path) -> None:
    """A name with a dot (hill.v2) is a folder all the same, built again and again; a
    stage dropped from the script goes, the rest of the folder is the build's own."""
    (place / "hill.v2.yaml").write_text(DRILL)
    for _ in range(2):
        code, output = run("build", "hill.v2.yaml", "--split", "-o", "hill.v2.mp3", *ENGINE)
        assert code == 0, output
    (place / "hill.v2.yaml").write_text(DRILL.replace("  - name: Climb\n    duration: 6\n"
                                                      "    say: Drive the arms.\n", ""))
    assert run("build", "hill.v2.yaml", "--split", "-o", "hill.v2.mp3", *ENGINE)[0] == 0
    assert sorted(p.name for p in (place / "hill.v2").iterdir() if p.name[0] != ".") == [
        "01 Intro.mp3", "02 Stage 1 - Warm up.mp3", "03 Outro.mp3", "hill.v2.m3u8"]


def test_a_stage_name_past_255_bytes_is_cut_before_any_work(place: Path) -> None:
    (place / "long.yaml").write_text(DRILL.replace("Warm up", "é" * 70 + "😀" * 40).replace("duration: 6", "duration: 40"))
    code, output = run("build", "long.yaml", "--split", "-o", "long.mp3", *ENGINE)
    assert code == 0, output
    assert all(len(p.name.encode()) <= 255 for p in (place / "long").iterdir())


# --- publish: DIR's files --------------------------------------------------------------


def _published(place: Path, *args: str) -> None:
    code, output = run("publish", *args, "--to", "site", *ENGINE)
    assert code == 0, output


def _loose_over_episode(place: Path) -> list[str]:
    (place / "two.yaml").write_text(PROGRAMME)
    _published(place, "two.yaml")
    (place / "w01-01-hill.yaml").write_text(DRILL)
    return ["w01-01-hill.yaml"]


def _episode_over_loose(place: Path) -> list[str]:
    (place / "w01-01-hill.yaml").write_text(DRILL)
    _published(place, "w01-01-hill.yaml")
    (place / "two.yaml").write_text(PROGRAMME)
    return ["two.yaml"]


def _users_mp3(place: Path) -> list[str]:
    (place / "site").mkdir()
    (place / "site" / "hill.mp3").write_bytes(b"the user's own recording")
    return ["hill.yaml"]


def _users_page(place: Path) -> list[str]:
    (place / "site").mkdir()
    (place / "site" / "index.html").write_text("<p>my page</p>")
    return ["hill.yaml"]


def _users_transcript_beside_a_new_session(place: Path) -> list[str]:
    _published(place, "hill.yaml")
    (place / "run.yaml").write_text(DRILL)
    (place / "site" / "run.vtt").write_text("WEBVTT\n\nmine\n")
    return ["hill.yaml", "run.yaml"]


def _cover_linking_out(place: Path) -> list[str]:
    _published(place, "hill.yaml")
    (place / "site" / "cover.png").unlink()
    (place / "site" / "cover.png").symlink_to(place / "outside" / "mine.txt")
    return ["hill.yaml"]


def _session_file_linking_out(place: Path) -> list[str]:
    _published(place, "hill.yaml")
    (place / "site" / "hill.svg").unlink()
    (place / "site" / "hill.svg").symlink_to(place / "outside" / "mine.txt")
    return ["hill.yaml"]


def _stage_folder_linking_out(place: Path) -> list[str]:
    _published(place, "hill.yaml")
    (place / "site" / "hill").symlink_to(place / "outside")
    return ["hill.yaml", "--split"]


def _users_file_in_a_stage_folder(place: Path) -> list[str]:
    _published(place, "hill.yaml", "--split")
    (place / "site" / "hill" / "01 my song.mp3").write_bytes(b"mine")
    return ["hill.yaml", "--split"]


PUBLISH: dict[str, Callable[[Path], list[str]]] = {
    "a loose script over a programme's episode": _loose_over_episode,
    "a programme's episode over a loose session": _episode_over_loose,
    "the user's MP3 at a session's name": _users_mp3,
    "the user's page in a folder never published": _users_page,
    "the user's transcript beside a new session": _users_transcript_beside_a_new_session,
    "a cover linking out": _cover_linking_out,
    "a session's file linking out": _session_file_linking_out,
    "a stage folder linking out": _stage_folder_linking_out,
    "the user's file in a stage folder": _users_file_in_a_stage_folder,
}


@pytest.mark.parametrize("kind", PUBLISH)
def test_publish_refuses_before_any_work_and_changes_nothing(place: Path, kind: str) -> None:
    args = PUBLISH[kind](place)
    before = tree(place)
    code, output = run("publish", *args, "--to", "site", *ENGINE)
    assert code == 2, output
    assert "--to" in output and "Traceback" not in output
    assert tree(place) == before


def test_republishing_ones_own_sessions_still_works(place: Path) -> None:
    """The control: what voiceguide published it replaces, programme and loose alike."""
    (place / "two.yaml").write_text(PROGRAMME)
    for _ in range(2):
        _published(place, "two.yaml", "--split")
    (place / "run.yaml").write_text(DRILL)
    for _ in range(2):
        _published(place, "run.yaml", "--split")
