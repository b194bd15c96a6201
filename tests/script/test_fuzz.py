"""Damaged real scripts: whatever the bytes, the loader returns a Script or raises ScriptError."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voiceguide.audio.sounds import MAX_RATE, MIN_RATE, decode_bytes, sniff_bytes
from voiceguide.errors import AudioError, ScriptError
from voiceguide.script import parse_script

ROOT = Path(__file__).parent.parent.parent
SEEDS = [p.read_bytes() for p in sorted((ROOT / "scripts_yaml").glob("*.yaml"))] + [
    p.read_bytes() for p in sorted((Path(__file__).parent.parent / "corpus").glob("*.yaml"))
]
NASTY = [b"\t", b"\x00", b"\xff", b"&a", b"*a", b"<<: ", b"!!python/name:os.system ", b"{",
         b"[", b"]", b"}", b": ", b"- ", b"\n", b"'", b'"', b"%", b"..", b"%YAML 1.1\n---\n"]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.sampled_from(NASTY), st.binary(min_size=1, max_size=4)))
        if kind == "insert":
            data[at:at] = piece
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        else:
            data[at : at + len(piece)] = piece
    return bytes(data)


@given(damaged())
def test_damaged_scripts_load_or_raise_script_error(data: bytes) -> None:
    try:
        parse_script(data, Path("fuzz.yaml"))
    except ScriptError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert "\n" not in problem.message


@given(st.binary(max_size=2000))
def test_any_bytes_as_a_script_load_or_raise_script_error(data: bytes) -> None:
    try:
        parse_script(data, Path("fuzz.yaml"))
    except ScriptError as exc:
        assert all("\n" not in str(p) and "\x1b" not in str(p) for p in exc.problems)


@given(damaged())
def test_damaged_files_read_as_programmes_load_or_raise_script_error(data: bytes) -> None:
    """Whatever the bytes (drills and programmes, damaged), the programme reader returns a
    programme or located problems; the scripts it names are found beside the examples."""
    from voiceguide.script.programme import parse_programme

    try:
        parse_programme(data, ROOT / "scripts_yaml" / "fuzz.yaml")
    except ScriptError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1
            assert "\n" not in problem.message


WAV = (ROOT / "sounds" / "tick.wav").read_bytes()


MAGIC = [b"RIFF\x24\x10\x00\x00WAVE", b"fLaC", b"OggS", b"ID3\x03\x00", b"\xff\xfb\x90\x64"]
HEADER = WAV.index(b"data") + 8  # the samples start here


@settings(max_examples=40, deadline=None)
@given(st.one_of(
    st.builds(lambda magic, rest: magic + rest, st.sampled_from(MAGIC), st.binary(max_size=600)),
    st.builds(lambda at, piece: WAV[:at] + piece + WAV[at + len(piece):],
              st.integers(12, HEADER), st.binary(min_size=1, max_size=8))))
def test_any_bytes_behind_a_sound_header_decode_or_raise_audio_error(data: bytes) -> None:
    """Every example announces a format, so each one reaches the decoder: it decodes, or is
    refused with voiceguide's own error (nothing else escapes)."""
    fmt = sniff_bytes(data[:16])
    assert fmt is not None
    try:
        samples, rate = decode_bytes(data, fmt, "fuzz.wav")
    except AudioError as exc:
        assert "fuzz.wav" in str(exc) and "\n" not in str(exc)
        return
    assert MIN_RATE <= rate <= MAX_RATE and samples.dtype.name == "float32"


@settings(max_examples=20, deadline=None)
@given(st.integers(HEADER, len(WAV) - 8), st.binary(min_size=1, max_size=8))
def test_a_wav_with_damaged_samples_still_decodes_to_its_length(at: int, piece: bytes) -> None:
    """Damage among the samples is noise, not a broken file: every example decodes."""
    data = WAV[:at] + piece + WAV[at + len(piece):]
    samples, rate = decode_bytes(data, "wav", "fuzz.wav")
    expected, _ = decode_bytes(WAV, "wav", "tick.wav")
    assert rate == 44100 and samples.shape == expected.shape and samples.dtype.name == "float32"


def _read(data: bytes, fast: bool) -> object:
    """The script's values with every position (or its problems' text), read by libyaml's
    parser where it is trusted (*fast*) or by the pure loader alone."""
    from voiceguide.script import source

    def tree(node: source.Node) -> object:
        if node.is_mapping:
            return ("map", node.line, node.column,
                    [(k, tree(node.keys[k]), tree(v)) for k, v in node.value.items()])
        if node.is_list:
            return ("list", node.line, node.column, [tree(v) for v in node.value])
        return ("scalar", node.line, node.column, node.raw, type(node.value).__name__,
                repr(node.value))

    chosen = source._fast if fast else (lambda text: None)
    kept, source._fast = source._fast, chosen
    try:
        return tree(source.load(data, "fuzz.yaml"))
    except ScriptError as exc:
        return [str(p) for p in exc.problems]
    finally:
        source._fast = kept


NASTIER = NASTY + [b"? ", b"?\n", b"?", b"{a: b?c}", b"|#", b">-2#", b"{a: , b: }", b"key:\n", b"\xc2\x85",
                   b"\xe2\x80\xa8", b"\xef\xbb\xbf", b"\r\n", b"\r", b"\\", b"--- ", b"~"]


@st.composite
def damaged_more(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.sampled_from(NASTIER))
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(damaged_more())
def test_libyaml_reads_a_script_as_the_pure_loader_does(data: bytes) -> None:
    """Where libyaml's parser is trusted with a script (source._fast), it gives the very
    values and positions the pure loader gives, and the same problems (the pure loader
    words them): whatever the damage."""
    assert _read(data, fast=True) == _read(data, fast=False)


def test_libyaml_reads_the_shipped_scripts_and_the_pure_loader_is_not_asked() -> None:
    """Every shipped example goes through libyaml's parser (the pure loader would fail
    here), and reads as the pure loader reads it; a control: moving one value moves its
    position, which the comparison sees."""
    from unittest import mock

    from voiceguide.script import source

    if source._CParser is None:
        pytest.skip("this PyYAML has no libyaml")
    examples = sorted((ROOT / "scripts_yaml").glob("*.yaml"))
    slow = {p: _read(p.read_bytes(), fast=False) for p in examples}
    with mock.patch.object(source, "_Loader", side_effect=AssertionError("pure loader")):
        for path in examples:
            assert _read(path.read_bytes(), fast=True) == slow[path], path.name
    moved = examples[0].read_bytes().replace(b"title: ", b"title:  ", 1)
    assert _read(moved, fast=True) != slow[examples[0]]


@pytest.mark.parametrize("text", [
    "title: T\nvoices: {coach: {engine: hibari, voice: , rate: 165}}\nstages: [{name: A, "
    "duration: 5}]\n",  # an empty value in braces: libyaml places it a column on
    "title: T\nstages: [{name: A, duration: 5, ? say: Go}]\n",  # a key marked "? "
    "title: T\nstages: [{name: Ready?, duration: 5}]\n",  # a "?" in a value in braces
    "title: T\nintro: |#\n  Go.\nstages: [{name: A, duration: 5}]\n",  # a comment at "|"
    "title: T\nintro: Go\tnow.\nstages: [{name: A, duration: 5}]\n",  # a tab in a value
    "title: T\r\nstages: [{name: A, duration: 5}]\r\n",
    "ti\ufefftle: T\nstages: [{name: A, duration: 5}]\n",
    "title: Ready?\nintro: Set?\nstages: [{name: A, duration: 5}]\n",  # libyaml's to read
])
def test_what_libyaml_reads_otherwise_goes_to_the_pure_loader(text: str) -> None:
    assert _read(text.encode(), fast=True) == _read(text.encode(), fast=False)
