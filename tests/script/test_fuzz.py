"""Damaged real scripts: whatever the bytes, the loader returns a Script or raises ScriptError."""

from __future__ import annotations

from pathlib import Path

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
