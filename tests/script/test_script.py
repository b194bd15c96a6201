"""Reading drill scripts: every value form, defaults, and located errors."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voiceguide.errors import ScriptError
from voiceguide.script import Pause, Text, load_script, parse_script

MINIMAL = "title: T\nstages:\n  - name: One\n    duration: 30\n"


def parse(text: str, tmp_path: Path) -> object:
    path = tmp_path / "drill.yaml"
    path.write_text(text, encoding="utf-8")
    return load_script(path)


def problems(text: str | bytes, tmp_path: Path) -> list[tuple[int, int, str]]:
    path = tmp_path / "drill.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(ScriptError) as info:
        load_script(path)
    for problem in info.value.problems:
        assert problem.file == str(path)
    return [(p.line, p.column, p.message) for p in info.value.problems]


def test_defaults(tmp_path: Path) -> None:
    script = parse(MINIMAL, tmp_path)
    assert script.version == 1
    assert script.language == "en"
    assert script.pace == 0.5
    assert script.start_sound == "chime"
    assert script.finish_sound == "bell"
    assert script.announce_template(script.stages[0]) == "Stage {number}. {name}."
    assert script.stages[0].duration == (30_000, 30_000)
    assert script.stages[0].countdown == 0


def test_every_key(tmp_path: Path) -> None:
    (tmp_path / "whoosh.wav").write_bytes(b"RIFF")
    script = parse(
        """\
version: 1
title: Full
description: All keys.
language: de
voices:
  coach: {voice: gmw/de, rate: 160}
  counter: {engine: espeak-ng, voice: gmw/de, rate: 190, volume: 0.9}
voice: coach
pace: 0.25
sounds: {whoosh: whoosh.wav}
announce: "Teil {number} von {stages}: {name}."
start_sound: gong
finish_sound: null
intro: [Hallo., {pause: 1.5}, "{stages} Teile."]
outro: Fertig.
stages:
  - name: Eins
    duration: [60, 2m]
    say: "Dauer {duration}."
    voice: counter
    announce: false
    start_sound: whoosh
    pace: 1
    countdown: 5
    cues:
      - {at: 25%, say: Viertel., sound: tick}
      - {every: 20, from: 0:10, until: 50%, say: Weiter.}
      - {before_end: 10s, sound: bell, voice: counter}
""",
        tmp_path,
    )
    assert script.language == "de"
    assert script.voices["counter"].engine == "espeak-ng"
    assert script.voices["counter"].volume == 0.9
    assert script.sounds["whoosh"] == (tmp_path / "whoosh.wav").resolve()
    assert script.finish_sound is None
    assert isinstance(script.intro[1], Pause) and script.intro[1].ms == 1500
    stage = script.stages[0]
    assert stage.duration == (60_000, 120_000)
    assert stage.pace == 1.0
    assert script.announce_template(stage) is None
    assert script.stage_start_sound(stage) == "whoosh"
    kinds = [cue.kind for cue in stage.cues]
    assert kinds == ["at", "every", "before_end"]
    assert stage.cues[1].until.percent == 50.0
    assert isinstance(stage.say[0], Text)


def test_german_default_announcement(tmp_path: Path) -> None:
    script = parse("language: de\n" + MINIMAL, tmp_path)
    assert script.announce_template(script.stages[0]) == "Abschnitt {number}. {name}."


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("title: T\nstagez: []\n", (2, 1), "unknown key 'stagez' in a script; did you mean 'stages'?"),
        ("title: T\nstages:\n  - name: A\n    duration: 90..60\n", (4, 15), "minimum is more"),
        ("title: T\nstages:\n  - name: A\n    duratoin: 9\n", (4, 5), "did you mean 'duration'"),
        ("title: T\nstages:\n  - name: A\n    duratoin: 9\n", (3, 5), "missing required key 'duration'"),
        ("title: T\nstages: []\n", (2, 9), "stages is empty"),
        ("stages:\n  - {name: A, duration: 5}\n", (1, 1), "missing required key 'title'"),
        ("title: T\npace: 1.5\n" + MINIMAL[9:], (2, 7), "pace must be in [0, 1]"),
        ("title: T\nversion: 2\n" + MINIMAL[9:], (2, 10), "unsupported version 2"),
        ("- a\n- b\n", (1, 1), "not a list"),
        ("", (1, 1), "the file is empty"),
        ("title: T\ntitle: U\n", (2, 1), "duplicate key 'title' (first at line 1)"),
        ("title: T\nstages:\n\t- name: A\n", (3, 1), "tab character"),
        ("title: [unclosed\n", (2, 1), "YAML syntax"),
        (MINIMAL + "    countdown: 11\n", (5, 16), "countdown must be 0..10"),
        (MINIMAL + "    start_sound: chimes\n", (5, 18), "did you mean 'chime'?"),
        (MINIMAL + "    say: [{pause: -1}]\n", (5, 19), "more than 0 s"),
        (MINIMAL + "    say: Hi {nmae}\n", (5, 10), "unknown placeholder {nmae}"),
        ("title: T\nintro: In {number}\n" + MINIMAL[9:], (2, 8), "only means something inside"),
        (MINIMAL + "    cues:\n      - {say: x}\n", (6, 9), "exactly one of 'at', 'every'"),
        (MINIMAL + "    cues:\n      - {at: 5, every: 5, say: x}\n", (6, 9),
         "found 'at' and 'every'"),
        (MINIMAL + "    cues:\n      - {at: 5}\n", (6, 9), "needs 'say', 'sound' or both"),
        (MINIMAL + "    cues:\n      - {at: 5, from: 1, say: x}\n", (6, 17),
         "'from' goes only with 'every'"),
        (MINIMAL + "    cues:\n      - {at: 150%, say: x}\n", (6, 14), "past the end"),
        ("title: T\nvoices:\n  c: {voice: x, rate: 0}\n" + MINIMAL[9:], (3, 23),
         "rate (words per minute) must be in (0, 1000]"),
        ("title: T\nvoices:\n  c: {engine: espeak, voice: x}\n" + MINIMAL[9:], (3, 15),
         "did you mean 'espeak-ng'"),
        ("title: T\nvoices:\n  c: {volume: 1.5}\n" + MINIMAL[9:], (3, 15), "volume must be"),
        ("title: T\nsounds: {s: ../../etc/passwd}\n" + MINIMAL[9:], (2, 13),
         "leads outside the script's folder"),
        ("title: T\nsounds: {s: /etc/passwd}\n" + MINIMAL[9:], (2, 13), "is absolute"),
        ("title: T\nsounds: {s: missing.wav}\n" + MINIMAL[9:], (2, 13), "does not exist"),
        ("title: T\n<<: {a: 1}\n" + MINIMAL[9:], (2, 1), "merge keys"),
        ("title: !!python/object:os.system x\n", (1, 8), "unsupported YAML tag"),
        ("title: T\n---\ntitle: U\n", (2, 1), "more than one YAML document"),
    ],
)
def test_errors_point_at_the_value(tmp_path: Path, text: str, where: tuple[int, int],
                                   message: str) -> None:
    found = problems(text, tmp_path)
    assert any((line, col) == where and message in msg for line, col, msg in found), found


def test_all_problems_at_once(tmp_path: Path) -> None:
    found = problems(
        "title: T\npace: 2\nstages:\n  - name: A\n    duration: x\n  - name: B\n"
        "    duration: 5\n    countdown: -1\n",
        tmp_path,
    )
    assert [(line, col) for line, col, _ in found] == [(2, 7), (5, 15), (8, 16)]


def test_not_utf8(tmp_path: Path) -> None:
    found = problems(b"title: caf\xe9\nstages: []\n", tmp_path)
    assert found == [(1, 11, "byte 0xe9 is not UTF-8; save the script as UTF-8 text")]


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    found = problems("title: T\n" + "\n".join(lines) + "\n", tmp_path)
    assert any("aliases expanding" in msg for _, _, msg in found)


def test_huge_file_is_refused(tmp_path: Path) -> None:
    found = problems("title: T\n" + "# padding\n" * 120_000, tmp_path)
    assert "at most 1,000,000 bytes" in found[0][2]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="no such file"):
        load_script(tmp_path / "nope.yaml")


yaml_texts = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from([
            "title: T", "stages:", "  - name: A", "    duration: 90..180", "    say: hi",
            "    cues:", "      - at: 50%", "        say: x", "  - {name: B, duration: 5}",
            "pace: 0.3", "voices: {c: {rate: 100}}", "&a [*a]", "- x", "  -", "\t", "{", "]",
            "    countdown: 3", "intro: [a, {pause: 2}]", "announce: false", "x: !!binary aGk=",
        ]),
        max_size=12,
    ).map("\n".join),
)


@settings(deadline=None)
@given(yaml_texts)
def test_any_text_loads_or_raises_script_error(text: str) -> None:
    try:
        parse_script(text.encode("utf-8", "surrogatepass"), Path("fuzz.yaml"))
    except ScriptError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert "\n" not in problem.message
