"""Built-in sounds are reproducible; user sound files are typed by content and read safely."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from voiceguide import builtins
from voiceguide.audio import soundgen
from voiceguide.audio.sounds import SoundLibrary, sniff_format, validate_sound_file
from voiceguide.errors import AudioError

REQUIRED = {"chime", "bell", "gong", "tick"}


def test_generated_sounds_match_the_shipped_files(tmp_path: Path) -> None:
    written = soundgen.generate(tmp_path)
    assert {p.stem for p in written} >= REQUIRED
    for path in written:
        shipped = builtins.folder() / path.relative_to(tmp_path)
        assert shipped.read_bytes() == path.read_bytes(), f"{path.name}: run `make sounds`"


def test_one_list_names_the_built_in_sounds_and_loops() -> None:
    """The generator, the shipped files and the script reader agree with builtins.py."""
    assert tuple(soundgen.BUILTINS) == builtins.SOUNDS
    assert tuple(soundgen.MUSIC) == builtins.MUSIC
    assert sorted(p.stem for p in builtins.folder().glob("*.wav")) == sorted(builtins.SOUNDS)
    assert SoundLibrary().names() == set(builtins.SOUNDS)
    docs = (Path(__file__).parent.parent.parent / "docs" / "drill-scripts.md").read_text("utf-8")
    for name in (*builtins.SOUNDS, *builtins.MUSIC):
        assert f"`{name}`" in docs, f"docs/drill-scripts.md does not name {name}"


@pytest.mark.parametrize(
    ("name", "min_s", "max_s"),
    [("chime", 0.7, 1.5), ("bell", 2.0, 3.2), ("gong", 2.0, 4.0), ("tick", 0.01, 0.1)],
)
def test_builtin_sounds_have_their_character(name: str, min_s: float, max_s: float) -> None:
    samples, rate = SoundLibrary().audio(name)
    assert rate == 44100
    assert min_s <= len(samples) / rate <= max_s
    assert 0.5 < np.abs(samples).max() <= 1.0
    assert samples[-1] == 0.0  # ends faded out, never with a click


def _encode(source: Path, target: Path, *codec: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), *codec, str(target)], check=True
    )
    return target


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("encoded")
    chime = builtins.folder() / "chime.wav"
    return {
        "wav": _encode(chime, folder / "a.wav", "-ar", "48000"),
        "flac": _encode(chime, folder / "a.flac"),
        "ogg": _encode(chime, folder / "a.ogg", "-c:a", "libvorbis"),
        "mp3": _encode(chime, folder / "a.mp3", "-id3v2_version", "0", "-write_xing", "0"),
        "id3": _encode(chime, folder / "b.mp3"),
    }


@pytest.mark.parametrize("kind", ["wav", "flac", "ogg", "mp3", "id3"])
def test_each_format_is_recognised_and_decoded(kind: str, encoded: dict[str, Path]) -> None:
    path = encoded[kind]
    assert sniff_format(path) == ("mp3" if kind == "id3" else kind)
    assert validate_sound_file(path) is None
    samples, rate = SoundLibrary({"mine": path}).audio("mine")
    assert rate == (48000 if kind == "wav" else 44100)
    assert samples.dtype == np.float32
    assert 0.8 < len(samples) / rate < 1.2
    assert np.abs(samples).max() > 0.5


def test_the_name_of_a_file_does_not_decide_its_type(
    tmp_path: Path, encoded: dict[str, Path]
) -> None:
    disguised = tmp_path / "really_flac.mp3"
    disguised.write_bytes(encoded["flac"].read_bytes())
    assert sniff_format(disguised) == "flac"
    assert validate_sound_file(disguised) is None


def test_a_playlist_saved_as_mp3_cannot_reach_other_files(
    tmp_path: Path, encoded: dict[str, Path]
) -> None:
    playlist = tmp_path / "pull.mp3"
    playlist.write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n"
        f"{encoded['mp3']}\n#EXT-X-ENDLIST\n"
    )
    assert sniff_format(playlist) is None
    reason = validate_sound_file(playlist)
    assert reason == "pull.mp3 is not a WAV, FLAC, OGG or MP3 file"
    with pytest.raises(AudioError, match="not a WAV"):
        SoundLibrary({"pull": playlist}).audio("pull")


def test_a_playlist_behind_an_id3_header_is_not_followed(
    tmp_path: Path, encoded: dict[str, Path]
) -> None:
    sneaky = tmp_path / "sneaky.mp3"
    sneaky.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + f"#EXTM3U\n{encoded['mp3']}\n".encode())
    assert sniff_format(sneaky) == "mp3"
    assert validate_sound_file(sneaky) is not None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", None),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"OggS\x00\x02", "ogg"),
        (b"ID3\x04\x00", "mp3"),
        (bytes([0xFF, 0xFB, 0x90, 0x44]), "mp3"),  # MPEG-1 layer III, 128k, 44.1 kHz
        (bytes([0xFF, 0xFB, 0xF0, 0x44]), None),  # bitrate index 15 is invalid
        (bytes([0xFF, 0xF9, 0x90, 0x44]), None),  # layer bits 00 are reserved
        (b"#EXTM3U\n", None),
        (b"", None),
    ],
)
def test_sniffing_reads_magic_bytes(tmp_path: Path, content: bytes, expected: str | None) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(content)
    assert sniff_format(path) == expected


def test_unusable_files_get_a_one_line_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    reasons = [validate_sound_file(broken), validate_sound_file(tmp_path / "missing.wav")]
    for reason in reasons:
        assert reason is not None
        assert "\n" not in reason


def test_a_silent_file_is_unusable(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono",
         "-t", "0.5", str(silent)],
        check=True,
    )  # fmt: skip
    assert validate_sound_file(silent) == "silent.wav is silent"


def test_user_sounds_override_builtins_and_unknown_names_fail(
    encoded: dict[str, Path],
) -> None:
    library = SoundLibrary({"chime": encoded["ogg"]})
    assert library.names() >= REQUIRED
    builtin, _ = SoundLibrary().audio("chime")
    mine, _ = library.audio("chime")
    assert len(mine) != len(builtin) or not np.array_equal(mine, builtin)
    with pytest.raises(AudioError, match="unknown sound 'klaxon'"):
        library.audio("klaxon")


def test_missing_ffmpeg_is_reported_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, encoded: dict[str, Path]
) -> None:
    monkeypatch.setattr("voiceguide.audio.decode.shutil.which", lambda _name: None)
    with pytest.raises(AudioError, match="sudo apt-get install ffmpeg"):
        SoundLibrary({"x": encoded["flac"]}).audio("x")
