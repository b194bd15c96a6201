"""Covers for feeds and sessions: a square PNG made from the feed's title, and checks of a
cover the user gives (spec 15).

Pillow draws and reads the images: it encodes PNG and JPEG properly and
measures text with a real font engine (FreeType). The font, DejaVu Sans Bold
(free licence, beside it in ``fonts/``), ships inside voiceguide: any title in
any Latin, Greek or Cyrillic script reads, and the same title gives the same
bytes on every machine, system fonts or not.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from voiceguide.errors import UsageError

SIZE = 3000  # px; podcast directories ask for 1400-3000, square
MIN_SIDE, MAX_SIDE = 1400, 3000
MAX_FILE_BYTES = 20 << 20
KINDS = {"PNG": "image/png", "JPEG": "image/jpeg"}
FONT = Path(__file__).with_name("fonts") / "DejaVuSans-Bold.ttf"
BACKGROUND = (22, 51, 92)
ACCENT = (120, 180, 255)
INK = (255, 255, 255)


def generated(title: str) -> bytes:
    """A 3000 px square PNG with *title* large enough to read as a thumbnail."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (SIZE, SIZE), BACKGROUND)
    draw = ImageDraw.Draw(image)
    margin = SIZE // 10
    draw.rectangle((margin, margin, margin + SIZE // 5, margin + SIZE // 60), fill=ACCENT)
    width = SIZE - 2 * margin
    for size in (330, 280, 240, 200, 170, 140, 120):
        font = ImageFont.truetype(str(FONT), size)
        lines = _wrapped(draw, title, font, width)
        if lines is not None and len(lines) * size * 1.2 <= SIZE - 3.2 * margin:
            break
    else:
        lines = textwrap.wrap(title, 30)[:8] or [title]
    top = margin * 2
    for line in lines:
        draw.text((margin, top), line, font=font, fill=INK)
        top += round(size * 1.2)
    small = ImageFont.truetype(str(FONT), 110)
    draw.text((margin, SIZE - margin - 110), "voiceguide", font=small, fill=ACCENT)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


def _wrapped(draw: object, text: str, font: object, width: int) -> list[str] | None:
    """*text* in lines no wider than *width* at *font*, or None if a word does not fit."""
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(trial, font=font) <= width:  # type: ignore[attr-defined]
            lines[-1] = trial
        elif draw.textlength(word, font=font) <= width:  # type: ignore[attr-defined]
            lines.append(word)
        else:
            return None
    return lines


def checked(path: Path, option: str = "--image") -> tuple[bytes, str]:
    """The bytes and MIME type of a cover the user gave: a square JPEG or PNG of
    1400-3000 px; a UsageError naming *option* otherwise."""
    from PIL import Image, UnidentifiedImageError

    try:
        if not path.is_file():
            raise UsageError(f"{option} {path}: no such file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UsageError(f"{option} {path}: over {MAX_FILE_BYTES >> 20} MB; a cover is "
                             "a JPEG or PNG of 1400-3000 px")
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot be read ({exc.strerror})") from exc
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UsageError(f"{option} {path}: not a JPEG or PNG image") from exc
    if kind not in KINDS:
        raise UsageError(f"{option} {path}: a {kind} image; give a JPEG or PNG")
    if width != height:
        raise UsageError(f"{option} {path}: {width}×{height} px is not square; podcast apps "
                         "need a square cover")
    if not MIN_SIDE <= width <= MAX_SIDE:
        raise UsageError(f"{option} {path}: {width} px; a cover is {MIN_SIDE}-{MAX_SIDE} px "
                         "on each side")
    return data, KINDS[kind]


THUMB = 144  # px: the page shows covers at 72 CSS px, sharp on a 2x screen


def thumbnail_name(cover: str) -> str:
    """The page's small copy of the cover file *cover*: ``cover.png`` → ``cover.small.jpg``."""
    return f"{cover.rsplit('.', 1)[0]}.small.jpg"


def thumbnail(data: bytes) -> bytes:
    """A small JPEG of a cover for the page (the feed and the lock screen keep the large
    one): a few KB where the cover is a hundred or more."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.draft("RGB", (THUMB, THUMB))  # a JPEG decodes at a fraction of its size
        small = image.convert("RGB")
        small.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        small.save(out, "JPEG", quality=85, optimize=True, progressive=False)
    return out.getvalue()


def suffix(data: bytes) -> str:
    return ".png" if data.startswith(b"\x89PNG") else ".jpg"
