"""Every bad script gets exit 2 and exactly its located lines, from both check and build.

Each ``corpus/*.yaml`` starts with ``# expect: LINE:COLUMN: part of the message``
lines: the problems voiceguide must report, nothing more. Files that cannot
carry such a header (not UTF-8, NUL bytes, over a megabyte) are made by
``GENERATED`` below.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main

CORPUS = Path(__file__).parent.parent / "corpus"
EXPECT = re.compile(r"# expect: (\d+):(\d+): (.*)")

Expectation = tuple[int, int, str]

GENERATED: dict[str, tuple[bytes, list[Expectation]]] = {
    "latin1.yaml": ("title: Übung\nstages: [{name: A, duration: 5}]\n".encode("latin-1"),
                    [(1, 8, "byte 0xdc is not UTF-8; save the script as UTF-8 text")]),
    "utf16.yaml": ("title: T\n".encode("utf-16"), [(1, 1, "is not UTF-8")]),
    "nul.yaml": (b"title: T\nstages: [{name: A,\x00 duration: 5}]\n",
                 [(2, 19, "the file contains a NUL character")]),
    "control.yaml": (b"title: T\x07\nstages: [{name: A, duration: 5}]\n",
                     [(1, 9, "character U+0007 is not allowed")]),
    "bom.yaml": (b"\xef\xbb\xbftitle: T\nstages: [{name: A, duration: soon}]\n",
                 [(2, 30, "'soon' is not a duration")]),
    "huge.yaml": (b"title: T\nstages: [{name: A, duration: 5}]\n" + b"# padding\n" * 110_000,
                  [(1, 1, "drill scripts are at most 1,000,000 bytes")]),
    "huge_line.yaml": (b"title: " + b"x" * 1_200_000 + b"\n",
                       [(1, 1, "drill scripts are at most 1,000,000 bytes")]),
}


def expectations(path: Path) -> list[Expectation]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = EXPECT.fullmatch(line)
        if not match:
            break
        found.append((int(match[1]), int(match[2]), match[3]))
    assert found, f"{path.name} has no '# expect:' line"
    return found


def corpus_cases() -> list:
    return [pytest.param(path, expectations(path), id=path.stem)
            for path in sorted(CORPUS.glob("*.yaml"))]


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


def assert_located(err: str, script: Path, expected: list[Expectation]) -> None:
    """stderr holds exactly one matching ``FILE:LINE:COLUMN: message`` line per expectation."""
    assert "Traceback" not in err
    lines = err.splitlines()
    unmatched = list(lines)
    for line, column, part in expected:
        prefix = f"{script}:{line}:{column}: "
        hits = [got for got in unmatched if got.startswith(prefix) and part in got[len(prefix):]]
        assert hits, f"no line {prefix}…{part}… in:\n{err}"
        unmatched.remove(hits[0])
    assert not unmatched, f"unexpected lines:\n{err}"


def run_both(script: Path, expected: list[Expectation], out_dir: Path) -> None:
    runner = CliRunner()
    check = runner.invoke(main, ["check", str(script)])
    assert check.exit_code == 2, check.output
    assert_located(check.stderr, script, expected)
    assert check.stdout == ""
    target = out_dir / "out.mp3"
    build = runner.invoke(main, ["build", str(script), "-o", str(target)])
    assert build.exit_code == 2, build.output
    assert_located(build.stderr, script, expected)
    assert list(out_dir.iterdir()) == [], "build of an invalid script left files behind"


@pytest.mark.parametrize(("script", "expected"), corpus_cases())
def test_corpus(script: Path, expected: list[Expectation], tmp_path: Path) -> None:
    run_both(script, expected, tmp_path)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated(name: str, tmp_path: Path) -> None:
    data, expected = GENERATED[name]
    script = tmp_path / name
    script.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    run_both(script, expected, out)


def test_corpus_is_large_and_covers_each_family() -> None:
    names = {p.stem for p in CORPUS.glob("*.yaml")}
    assert len(names) + len(GENERATED) >= 80
    for family in ("syntax", "tabs", "unknown", "duplicate", "duration", "range", "offset",
                   "pace", "cue_does_not_fit", "unknown_voice", "sound_missing", "empty",
                   "alias_bomb", "deep_nesting", "session_too_long", "sound_playlist"):
        assert any(family in name for name in names), family


@pytest.mark.parametrize("case", ["unknown_top_key", "sound_playlist", "cue_does_not_fit"])
def test_as_a_real_process(case: str, tmp_path: Path) -> None:
    """The installed entry point, not only CliRunner: exit 2, located lines, nothing written."""
    script = CORPUS / f"{case}.yaml"
    target = tmp_path / "out.mp3"
    for command in (["check", str(script)], ["build", str(script), "-o", str(target)]):
        done = subprocess.run([sys.executable, "-m", "voiceguide", *command],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 2, done.stderr
        assert_located(done.stderr, script, expectations(script))
    assert list(tmp_path.iterdir()) == []


def test_unreadable_sound_file(tmp_path: Path) -> None:
    """chmod 000 stops everyone but root; as root, drop the capability that lets root read it."""
    shutil.copy(CORPUS / "sounds" / "silent.wav", tmp_path / "locked.wav")
    (tmp_path / "locked.wav").chmod(0)
    script = tmp_path / "drill.yaml"
    script.write_text("title: T\nsounds: {lock: locked.wav}\nstages: [{name: A, duration: 5}]\n")
    tmp_path.chmod(0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root reads any file, and setpriv (util-linux) is missing to drop that")
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]
    done = subprocess.run([*prefix, sys.executable, "-m", "voiceguide", "check", str(script)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert done.returncode == 2, done.stderr
    assert_located(done.stderr, script, [(2, 16, "sound 'lock': cannot read")])
    assert "Permission denied" in done.stderr


def test_a_fifo_as_sound_is_refused_without_blocking(tmp_path: Path) -> None:
    """Reading a named pipe would wait forever for a writer; it is refused by its type."""
    os.mkfifo(tmp_path / "pipe.wav")
    script = tmp_path / "drill.yaml"
    script.write_text("title: T\nsounds: {pipe: pipe.wav}\nstages: [{name: A, duration: 5}]\n")
    out = tmp_path / "out"
    out.mkdir()
    run_both(script, [(2, 16, "sound file 'pipe.wav' is not a regular file")], out)
