"""Images the user gives (hostile input, kind 1): ``publish --image`` and a script's
``cover:`` are decoded whole, bounded, before any work; what podcast apps cannot take is
refused in one line (the option, or FILE:LINE:COL), exit 2, nothing written; what they
can take once converted (CMYK, greyscale, 16-bit, a palette, transparency) becomes 8-bit
RGB."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main

SIDE = 1400


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims *width* × *height* pixels, with one row of data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def image(mode: str, size: tuple[int, int], kind: str, **save: object) -> bytes:
    from PIL import Image

    colour: object = {"CMYK": (0, 80, 80, 0), "RGBA": (200, 40, 40, 128), "L": 120,
                      "I;16": 30000, "P": 3, "RGB": (20, 90, 160), "1": 1}[mode]
    picture = Image.new(mode, size, colour)  # type: ignore[arg-type]
    out = io.BytesIO()
    picture.save(out, kind, **save)
    return out.getvalue()


def jpeg(size: int = SIDE) -> bytes:
    return image("RGB", (size, size), "JPEG")


REFUSED = {
    "a header claiming 60,000 px": lambda: png_claiming(60_000, 60_000),
    "a header claiming 3000 px with no pixels": lambda: png_claiming(3000, 3000),
    "a truncated JPEG": lambda: jpeg()[: len(jpeg()) // 2],
    "1 px": lambda: image("RGB", (1, 1), "PNG"),
    "4000 px": lambda: image("RGB", (4000, 4000), "JPEG"),
    "wide": lambda: image("RGB", (2000, 1400), "PNG"),
    "a GIF": lambda: image("P", (SIDE, SIDE), "GIF"),
    "text": lambda: b"not an image at all\n" * 100,
}
CONVERTED = {
    "CMYK JPEG": lambda: image("CMYK", (SIDE, SIDE), "JPEG"),
    "greyscale PNG": lambda: image("L", (SIDE, SIDE), "PNG"),
    "16-bit PNG": lambda: image("I;16", (SIDE, SIDE), "PNG"),
    "palette PNG": lambda: image("P", (SIDE, SIDE), "PNG"),
    "transparent PNG": lambda: image("RGBA", (SIDE, SIDE), "PNG"),
}
SCRIPT = "title: Covered\ncover: {name}\nstages:\n  - name: Go\n    duration: 3\n"


def suffix(data: bytes) -> str:
    return ".jpg" if data.startswith(b"\xff\xd8") else ".png"


def written(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_an_image_podcast_apps_cannot_take_is_refused_as_the_option(
        tmp_path: Path, kind: str) -> None:
    data = REFUSED[kind]()
    given = tmp_path / f"given{suffix(data)}"
    given.write_bytes(data)
    (tmp_path / "s.yaml").write_text("title: S\nstages:\n  - name: Go\n    duration: 3\n",
                                     encoding="utf-8")
    before = written(tmp_path)
    result = CliRunner().invoke(main, ["publish", str(tmp_path / "s.yaml"), "--to",
                                       str(tmp_path / "site"), "--image", str(given),
                                       "--engine", "espeak-ng"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "--image" in result.output.strip().splitlines()[-1]
    assert written(tmp_path) == before  # no site, nothing else


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_a_scripts_cover_is_refused_at_its_line(tmp_path: Path, private_cache: Path,
                                                kind: str) -> None:
    data = REFUSED[kind]()
    name = f"cover{suffix(data)}"
    (tmp_path / name).write_bytes(data)
    script = tmp_path / "s.yaml"
    script.write_text(SCRIPT.format(name=name), encoding="utf-8")
    before = written(tmp_path)
    for command in (["check", str(script)], ["build", str(script), "-o",
                                             str(tmp_path / "s.mp3")]):
        result = CliRunner().invoke(main, [*command, "--engine", "espeak-ng"])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{script}:2:8: "), lines
        assert written(tmp_path) == before


@pytest.mark.parametrize("kind", sorted(CONVERTED))
def test_a_cover_apps_take_once_converted_is_8_bit_rgb_in_the_mp3_and_the_feed(
        tmp_path: Path, private_cache: Path, kind: str) -> None:
    from mutagen.id3 import ID3
    from PIL import Image

    data = CONVERTED[kind]()
    name = f"cover{suffix(data)}"
    (tmp_path / name).write_bytes(data)
    script = tmp_path / "s.yaml"
    script.write_text(SCRIPT.format(name=name), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(script), "-o", str(tmp_path / "s.mp3"),
                                       "--engine", "espeak-ng"])
    assert result.exit_code == 0, result.output
    embedded = ID3(tmp_path / "s.mp3").getall("APIC")[0].data
    published = CliRunner().invoke(main, ["publish", str(script), "--to",
                                          str(tmp_path / "site"), "--image",
                                          str(tmp_path / name), "--engine", "espeak-ng"])
    assert published.exit_code == 0, published.output
    own = tmp_path / "site" / f"s.cover{suffix(data)}"
    given = tmp_path / "site" / f"cover-own{suffix(data)}"
    for cover in (embedded, own.read_bytes(), given.read_bytes()):
        with Image.open(io.BytesIO(cover)) as opened:
            assert (opened.mode, opened.size, opened.format) == (
                "RGB", (SIDE, SIDE), "JPEG" if data.startswith(b"\xff\xd8") else "PNG")
            assert "transparency" not in opened.info


def test_an_rgb_cover_is_kept_byte_for_byte(tmp_path: Path, private_cache: Path) -> None:
    """The control: nothing to convert, the user's own bytes."""
    from mutagen.id3 import ID3

    data = jpeg()
    (tmp_path / "cover.jpg").write_bytes(data)
    script = tmp_path / "s.yaml"
    script.write_text(SCRIPT.format(name="cover.jpg"), encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(script), "-o", str(tmp_path / "s.mp3"),
                                       "--engine", "espeak-ng"])
    assert result.exit_code == 0, result.output
    assert ID3(tmp_path / "s.mp3").getall("APIC")[0].data == data
