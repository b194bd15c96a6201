"""Damaged real scripts: whatever the bytes, the loader returns a Script or raises ScriptError."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from voiceguide.errors import AudioError, ScriptError
from voiceguide.script import parse_script
from voiceguide.sounds import MAX_RATE, MIN_RATE, decode_bytes, sniff_bytes

ROOT = Path(__file__).parent.parent
SEEDS = [p.read_bytes() for p in sorted((ROOT / "scripts_yaml").glob("*.yaml"))] + [
    p.read_bytes() for p in sorted((Path(__file__).parent / "corpus").glob("*.yaml"))
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


WAV = (ROOT / "sounds" / "tick.wav").read_bytes()


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.binary(max_size=600),
                 st.builds(lambda at, piece: WAV[:at] + piece + WAV[at + len(piece):],
                           st.integers(0, 60), st.binary(min_size=1, max_size=8))))
def test_any_bytes_as_a_sound_decode_or_raise_audio_error(data: bytes) -> None:
    """A damaged or made-up sound file: decoded, or refused with voiceguide's own error."""
    fmt = sniff_bytes(data[:16])
    if fmt is None:
        return
    try:
        samples, rate = decode_bytes(data, fmt, "fuzz.wav")
    except AudioError:
        return
    assert MIN_RATE <= rate <= MAX_RATE and samples.dtype.name == "float32"
