"""Covers for feeds and sessions: a square PNG made from the feed's title, and checks of a
cover the user gives (spec 15).

Pillow draws and reads the images: it encodes PNG and JPEG properly and
measures text with a real font engine (FreeType). The font, DejaVu Sans Bold
(free licence, beside it in ``fonts/``), ships inside voiceguide: any title in
any Latin, Greek or Cyrillic script reads, and the same title gives the same
bytes on every machine, system fonts or not.
"""

from __future__ import annotations

import hashlib
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


class CoverProblem(ValueError):
    """Why an image cannot be a session's or a feed's cover (said after its name)."""


def checked(path: Path, option: str = "--image") -> tuple[bytes, str]:
    """The bytes and MIME type of a cover the user gave: a square JPEG or PNG of
    1400-3000 px, decoded whole, as 8-bit RGB; a UsageError naming *option* otherwise."""
    try:
        return judged(path)
    except CoverProblem as problem:
        raise UsageError(f"{option} {path}: {problem}") from None


def judged(path: Path) -> tuple[bytes, str]:
    """The cover at *path* as podcast apps take it (8-bit RGB; the file's own bytes when it
    is so already), or CoverProblem. Its size is read from its header and judged before
    anything is decoded, so a header claiming 60,000 px costs nothing; then it is decoded
    whole (a truncated file is refused), at most 3000 × 3000 px."""
    try:
        if not path.is_file():
            raise CoverProblem("no such file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CoverProblem(f"over {MAX_FILE_BYTES >> 20} MB; a cover is a JPEG or PNG of "
                               f"{MIN_SIDE}-{MAX_SIDE} px")
        data = path.read_bytes()
    except OSError as exc:
        raise CoverProblem(f"cannot be read ({exc.strerror})") from exc
    key = hashlib.sha256(data).digest()
    if key not in _JUDGED:  # a build checks its cover, embeds it, publish copies it: once
        if len(_JUDGED) >= 4:
            _JUDGED.pop(next(iter(_JUDGED)))
        _JUDGED[key] = _decoded(data)
    return _JUDGED[key]


_JUDGED: dict[bytes, tuple[bytes, str]] = {}  # by the sha256 of the file's bytes


def _decoded(data: bytes) -> tuple[bytes, str]:
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # judged below
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                _judge_size(kind, width, height)
                image.load()  # every pixel: a truncated or damaged file fails here
                if image.mode == "RGB" and image.info.get("transparency") is None:
                    return data, KINDS[str(kind)]
                return _as_rgb(image, str(kind)), KINDS[str(kind)]
    except Image.DecompressionBombError:
        raise CoverProblem(f"its header claims far more pixels than a cover "
                           f"({MIN_SIDE}-{MAX_SIDE} px a side)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        if isinstance(exc, CoverProblem):
            raise
        raise CoverProblem("not a complete JPEG or PNG image") from exc


def _judge_size(kind: str | None, width: int, height: int) -> None:
    if kind not in KINDS:
        raise CoverProblem(f"a {kind} image; give a JPEG or PNG")
    if width != height:
        raise CoverProblem(f"{width}×{height} px is not square; podcast apps need a square "
                           "cover")
    if not MIN_SIDE <= width <= MAX_SIDE:
        raise CoverProblem(f"{width} px; a cover is {MIN_SIDE}-{MAX_SIDE} px on each side")


def _as_rgb(image: object, kind: str) -> bytes:
    """*image* (CMYK, greyscale, 16-bit, a palette, transparent) as 8-bit RGB, in its own
    format: transparency laid over white."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    elif image.mode in ("I;16", "I;16B", "I;16L", "I"):
        flat = image.convert("I").point(lambda v: v / 257).convert("L").convert("RGB")
    else:
        flat = image.convert("RGB")
    out = io.BytesIO()
    if kind == "JPEG":
        flat.save(out, "JPEG", quality=95)
    else:
        flat.save(out, "PNG")
    return out.getvalue()


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
