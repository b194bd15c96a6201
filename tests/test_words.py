"""Words in the script's language (spec 16): chapter titles, the comment's language, the
stage number carried in the plan, and the script's own cover (spec 15.2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide import words
from voiceguide.cli import main
from voiceguide.mp3 import id3
from voiceguide.plan import Chapter
from voiceguide.script import load_script

ROOT = Path(__file__).resolve().parent.parent
GERMAN = ROOT / "scripts_yaml" / "rumpf_de.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_every_language_has_every_page_word() -> None:
    for table in words.BY_LANGUAGE.values():
        assert set(table.page) == set(words.PAGE_KEYS)
        assert len(table.code) == 3 and table.code.isalpha()
    assert words.words("de-AT") is words.GERMAN and words.words("xx") is words.ENGLISH


def test_the_german_example_has_german_chapters_with_their_stage(private_cache: Path) -> None:
    code, out, err = run("plan", str(GERMAN), "--json", "--engine", "espeak-ng")
    assert code == 0, err
    chapters = json.loads(out)["chapters"]
    script = load_script(GERMAN)
    stages = [c for c in chapters if c["stage"] is not None]
    assert [c["stage"] for c in stages] == list(range(1, len(script.stages) + 1))
    assert all(c["title"].startswith(f"Abschnitt {c['stage']}: ") for c in stages)
    assert chapters[0] == {**chapters[0], "title": "Einleitung", "stage": None}
    assert chapters[-1] == {**chapters[-1], "title": "Ausklang", "stage": None}
    assert not any("Stage" in c["title"] or c["title"] in ("Intro", "Outro") for c in chapters)


@pytest.mark.parametrize(("example", "table"), [
    ("zancadas_es", words.SPANISH), ("foulees_fr", words.FRENCH)])
def test_the_spanish_and_french_examples_have_chapters_in_their_language(
        example: str, table: words.Words, private_cache: Path) -> None:
    path = ROOT / "scripts_yaml" / f"{example}.yaml"
    code, out, err = run("plan", str(path), "--json", "--engine", "espeak-ng")
    assert code == 0, err
    chapters = json.loads(out)["chapters"]
    assert [c["title"] for c in chapters] == [
        table.intro, *(f"{table.stage} {n}: {s.name}"
                       for n, s in enumerate(load_script(path).stages, 1)), table.outro]
    assert words.words(load_script(path).language) is table


def test_targets_are_spoken_in_spanish_and_french() -> None:
    from voiceguide.script.model import Target

    pace = Target("pace", 270, 290)
    heart = Target("heart_rate", 140, 155)
    assert words.target_in_words(pace, "es") == "4 minutos 30 a 4 minutos 50 por kilómetro"
    assert words.target_in_words(heart, "fr") == "un pouls de 140 à 155"
    assert words.target_in_words(Target("zone", 2, 2), "es") == "zona 2"
    assert words.target_in_words(pace, "de") == "4 Minuten 30 bis 4 Minuten 50 pro Kilometer"


def test_english_chapters_are_as_before(tmp_path: Path, private_cache: Path) -> None:
    script = tmp_path / "drill.yaml"
    script.write_text("title: T\nintro: Hi.\nstages:\n  - {name: A, duration: 5}\n"
                      "  - repeat: 2\n    stages: [{name: B, duration: 5}]\n", encoding="utf-8")
    code, out, err = run("plan", str(script), "--json", "--engine", "espeak-ng")
    assert code == 0, err
    titles = [(c["title"], c["stage"]) for c in json.loads(out)["chapters"]]
    assert titles == [("Intro", None), ("Stage 1: A", 1), ("Stage 2: B (1/2)", 2),
                      ("Stage 3: B (2/2)", 3), ("Outro", None)]


def test_the_comment_and_cover_frames() -> None:
    mutagen_id3 = pytest.importorskip("mutagen.id3")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    tag = id3.tag({"title": "T", "comment": "Rücken"}, [Chapter("Abschnitt 1: A", 0, 1000, 1)],
                  "deu", png)
    import io

    read = mutagen_id3.ID3(io.BytesIO(tag))
    comment = read.getall("COMM")[0]
    assert (comment.lang, comment.text[0]) == ("deu", "Rücken")
    cover = read.getall("APIC")[0]
    assert (cover.mime, cover.type, cover.data) == ("image/png", 3, png)


@pytest.mark.parametrize(("value", "make", "message"), [
    ("missing.png", None, "5:8: cover file 'missing.png' does not exist"),
    ("notes.png", b"just some text", "5:8: cover 'notes.png' is not a JPEG or PNG image"),
    ("../outside.png", None, "5:8: cover path '../outside.png' leads outside the script's folder"),
    ("pictures", "folder", "5:8: cover file 'pictures' is a folder"),
])
def test_a_cover_that_cannot_be_used_is_a_located_error(tmp_path: Path, value: str,
                                                       make: bytes | str | None,
                                                       message: str) -> None:
    folder = tmp_path / "drills"
    folder.mkdir()
    if make == "folder":
        (folder / value).mkdir()
    elif make is not None:
        (folder / value).write_bytes(make)  # type: ignore[arg-type]
    script = folder / "drill.yaml"
    script.write_text(f"title: T\nstages:\n  - name: A\n    duration: 5\ncover: {value}\n",
                      encoding="utf-8")
    code, _, err = run("check", str(script))
    assert code == 2 and err == f"{script}:{message}\n"


def test_the_german_sessions_page_words_are_german(tmp_path: Path, private_cache: Path) -> None:
    import html

    site = tmp_path / "site"
    code, _, err = run("publish", str(GERMAN), "--to", str(site))
    assert code == 0, err
    page = html.unescape((site / "index.html").read_text(encoding="utf-8"))
    said = words.GERMAN.page
    for key in ("chapters", "transcript", "offline", "left", "next", "timeline", "no_feed"):
        assert said[key] in page, key
    assert '<html lang="de">' in page and 'lang="de"' in page
    for english in ("Chapters", "Transcript", "Save for offline", "left in this stage"):
        assert english not in page
    assert "Abschnitt 1: " in page and "Einleitung" in page
