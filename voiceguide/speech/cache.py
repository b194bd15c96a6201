"""The speech cache: synthesised WAVs keyed by everything that changes the audio.

Each entry is one file, a header line then the WAV bytes. The header holds
the entry's own key and the WAV's length and sha256, so a truncated or
altered entry is noticed, deleted and made again, never used; so is a whole
entry moved or copied under another key (it names the key it belongs to).
Entries are written to a temporary file in the same folder and renamed into
place, so processes sharing the cache only ever see whole entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voiceguide.errors import CacheError
from voiceguide.speech.request import SpeechRequest

MAGIC = b"voiceguide-speech/2"
SUFFIX = ".clip"


def default_dir() -> Path:
    """``$XDG_CACHE_HOME/voiceguide``, else ``~/.cache/voiceguide``; CacheError if unusable."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        base = Path(xdg)
    else:
        try:
            base = Path.home() / ".cache"
        except (RuntimeError, KeyError) as exc:  # no HOME and no passwd entry
            raise CacheError("no home folder to keep the speech cache in: set HOME, or "
                             "XDG_CACHE_HOME to a folder") from exc
    folder = base / "voiceguide"
    for part in (base, folder):
        if part.exists() and not part.is_dir():
            raise CacheError(f"the speech cache needs {part} to be a folder, but it is a file: "
                             "remove it, or set XDG_CACHE_HOME to a folder")
    return folder


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
        data = _verified(blob, key)
        if data is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        else:
            with contextlib.suppress(OSError):
                os.utime(path)  # recently used: the size limit evicts the least recent first
        return data

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = b"%s %s %d %s\n" % (MAGIC, key.encode(), len(data),
                                     hashlib.sha256(data).hexdigest().encode())
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


def _verified(blob: bytes, key: str) -> bytes | None:
    """The entry's data when it is whole and belongs to *key*, else None."""
    header, newline, data = blob.partition(b"\n")
    parts = header.split(b" ")
    if not newline or len(parts) != 4 or parts[0] != MAGIC or parts[1] != key.encode():
        return None
    if not parts[2].isdigit() or int(parts[2]) != len(data):
        return None
    return data if hashlib.sha256(data).hexdigest().encode() == parts[3] else None


LIMIT_ENV = "VOICEGUIDE_CACHE_LIMIT"
DEFAULT_LIMIT = 2 * 1000**3  # bytes: thousands of sessions' speech
KINDS = {"speech": "speech clips", "speech/prepared": "prepared clips", "music": "music levels",
         "islands": "encoded islands", "levels": "session levels"}


@dataclass(frozen=True)
class Usage:
    """What the cache folder holds: every file in it is voiceguide's."""

    root: Path
    files: list[tuple[Path, int, float]]  # path, bytes, last used

    @property
    def size(self) -> int:
        return sum(size for _, size, _ in self.files)

    def counts(self) -> dict[str, int]:
        """Files per kind, the most specific folder first ('speech/prepared' before 'speech')."""
        found = dict.fromkeys(KINDS.values(), 0) | {"other files": 0}
        for path, _, _ in self.files:
            relative = path.relative_to(self.root).as_posix()
            kind = next((KINDS[k] for k in sorted(KINDS, key=len, reverse=True)
                         if relative.startswith(k + "/")), "other files")
            found[kind] += 1
        return {kind: count for kind, count in found.items() if count or kind in KINDS.values()}


def usage(root: Path | None = None) -> Usage:
    root = root or default_dir()
    files = []
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink():
                stat = path.stat()
                files.append((path, stat.st_size, stat.st_mtime))
    return Usage(root, files)


def cache_limit() -> int:
    """The size limit in bytes: ``VOICEGUIDE_CACHE_LIMIT`` (``500MB``, ``2GB``, or megabytes)."""
    text = os.environ.get(LIMIT_ENV, "").strip()
    if not text:
        return DEFAULT_LIMIT
    number, unit = text.upper().rstrip("B"), 1000**2
    if number.endswith(("M", "G")):
        number, unit = number[:-1], 1000 ** (2 if number.endswith("M") else 3)
    try:
        limit = float(number) * unit
    except ValueError:
        limit = -1.0
    if not 0 < limit < float("inf"):
        raise CacheError(f"{LIMIT_ENV}={text!r} is not a size such as 500MB or 2GB")
    return int(limit)


def trim(root: Path | None = None, limit: int | None = None) -> int:
    """Removes the least recently used files until the cache is within its limit (down to
    nine tenths of it, so that every build does not trim again); returns bytes freed."""
    found = usage(root)
    limit = cache_limit() if limit is None else limit
    total, freed = found.size, 0
    if total <= limit:
        return 0
    for path, size, _ in sorted(found.files, key=lambda f: f[2]):
        if total - freed <= limit * 9 // 10:
            break
        with contextlib.suppress(OSError):
            path.unlink()
            freed += size
    return freed


def cache_info(folder: Path | None = None) -> Usage:
    """What ``voiceguide cache info`` reports."""
    return usage(folder)


def cache_clear(folder: Path | None = None) -> Usage:
    """Deletes everything in the cache folder; returns what there was."""
    found = usage(folder)
    for entry in sorted(found.root.iterdir()) if found.root.is_dir() else []:
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError as exc:
            raise CacheError(f"cannot clear the speech cache: {exc.strerror} "
                             f"({exc.filename}); check its permissions") from exc
    return found
