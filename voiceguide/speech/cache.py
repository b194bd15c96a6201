"""The speech cache: synthesised WAVs keyed by everything that changes the audio.

Each entry is one file, a header line then the WAV bytes. The header holds
the WAV's length and sha256, so a truncated or altered entry is noticed,
deleted and made again, never used. Entries are written to a temporary file in
the same folder and renamed into place, so processes sharing the cache only
ever see whole entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from voiceguide.speech.request import SpeechRequest

MAGIC = b"voiceguide-speech/1"
SUFFIX = ".clip"


def default_dir() -> Path:
    """``$XDG_CACHE_HOME/voiceguide``, else ``~/.cache/voiceguide``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "voiceguide"


def cache_key(request: SpeechRequest, engine_version: str) -> str:
    """sha256 over everything that changes the audio."""
    rate = float(request.rate) if request.rate is not None else None
    fields = [
        MAGIC.decode(),
        request.engine,
        engine_version,
        request.voice,
        rate,
        list(request.options),
        request.text,
    ]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


class SpeechCache:
    """Verified entries by cache key, under ``folder/speech`` (or another subfolder)."""

    def __init__(self, folder: Path | None = None, *, subfolder: str = "speech") -> None:
        self.folder = (folder or default_dir()) / subfolder

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / (key + SUFFIX)

    def get(self, key: str) -> bytes | None:
        """The entry's WAV bytes, or None when missing or damaged (a damaged one is deleted)."""
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        data = _verified(blob)
        if data is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return data

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = b"%s %d %s\n" % (MAGIC, len(data), hashlib.sha256(data).hexdigest().encode())
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=SUFFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(header + data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def entries(self) -> list[Path]:
        return sorted(self.folder.glob(f"??/*{SUFFIX}")) if self.folder.is_dir() else []


def _verified(blob: bytes) -> bytes | None:
    header, newline, data = blob.partition(b"\n")
    parts = header.split(b" ")
    if not newline or len(parts) != 3 or parts[0] != MAGIC or not parts[1].isdigit():
        return None
    if int(parts[1]) != len(data) or hashlib.sha256(data).hexdigest().encode() != parts[2]:
        return None
    return data


def cache_info(folder: Path | None = None) -> tuple[int, int, Path]:
    """(entries, bytes, path) for ``voiceguide cache info``."""
    cache = SpeechCache(folder)
    sizes = [p.stat().st_size for p in cache.entries()]
    return len(sizes), sum(sizes), cache.folder.parent


def cache_clear(folder: Path | None = None) -> int:
    """Deletes every cached clip; returns how many there were."""
    cache = SpeechCache(folder)
    count = len(cache.entries())
    if cache.folder.is_dir():
        shutil.rmtree(cache.folder)
    return count
