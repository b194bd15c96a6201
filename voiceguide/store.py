"""The content store: what voiceguide keeps between builds, by kind, addressed by content.

One folder, ``$XDG_CACHE_HOME/voiceguide`` (else ``~/.cache/voiceguide``),
holds one subfolder per kind of entry (``KINDS``): synthesised speech,
prepared clips, music levels, encoded islands and pieces, session levels, watch
workouts, and the natural voice's own data in a form that loads faster.
Every entry is found by a key, a sha256 over everything that makes it, so any
build may use any entry, and a change of engine, encoder or recipe simply
makes new keys.

Each entry is one file: a header line (this format's magic, the entry's own
key, the data's length and sha256) and the data. A truncated or altered
entry, or one moved under another key, is noticed, deleted and made again,
never used. Entries are written whole through ``files.keep``, so processes
sharing the store only ever see whole entries. The store as a whole has a size
limit (``VOICEGUIDE_CACHE_LIMIT``); ``trim`` evicts the least recently used.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from voiceguide.errors import CacheError
from voiceguide.files import keep, stale_temp

MAGIC = b"voiceguide-speech/2"  # the entry format (named for its first kind)
SUFFIX = ".clip"
KINDS = {"speech": "speech clips", "speech/prepared": "prepared clips", "music": "music levels",
         "islands": "encoded islands", "levels": "session levels", "watch": "watch workouts",
         "voices": "voice data"}
LIMIT_ENV = "VOICEGUIDE_CACHE_LIMIT"
DEFAULT_LIMIT = 2 * 1000**3  # bytes: thousands of sessions' speech
HEADER_MAX = 256  # bytes: an entry's header line is shorter


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


class Entries:
    """The verified entries of one kind, by key, under ``folder``; *root*, the store's
    folder when they are a store's kind (``Store.entries``): a put there is a change
    ``trim`` must look at."""

    def __init__(self, folder: Path, root: Path | None = None) -> None:
        self.folder, self.root = folder, root

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / (key + SUFFIX)

    def get(self, key: str) -> bytes | None:
        """The entry's data, or None when missing or damaged (a damaged one is deleted)."""
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

    def described(self, key: str) -> tuple[int, str] | None:
        """(the data's length, its sha256) as the entry's header gives them, reading the
        header line only; None when the entry is missing, or its header or its size is
        wrong. The data is verified when it is read (``get``): a damaged one is made again
        from what made it, the same bytes."""
        try:
            with open(self._path(key), "rb") as f:
                line = f.readline(HEADER_MAX)
                size = os.fstat(f.fileno()).st_size
        except OSError:
            return None
        header = _header(line, key)
        if header is None or size != len(line) + header[0]:
            return None
        with contextlib.suppress(OSError):
            os.utime(self._path(key))  # used, as by ``get``: the size limit keeps it longer
        return header

    def put(self, key: str, data: bytes) -> None:
        """Keep *data* under *key*; an OSError (an unwritable store) is the caller's."""
        header = b"%s %s %d %s\n" % (MAGIC, key.encode(), len(data),
                                     hashlib.sha256(data).hexdigest().encode())
        if self.root is not None:
            _grown(self.root)
        keep(self._path(key), header + data)

    def entries(self) -> list[Path]:
        return sorted(self.folder.glob(f"??/*{SUFFIX}")) if self.folder.is_dir() else []


QUIET_S = 2.0  # a file changed more recently may change again within its clock's tick


def file_digest(path: Path, memo: Entries | None) -> str | None:
    """The sha256 of the file at *path* (None when it cannot be read), kept in *memo* by
    the file's identity: its device, inode, size and times of change and modification,
    so a file is hashed again once anything has written to it (or moved another there).
    A file changed in the last ``QUIET_S`` is not kept: a write within the same tick of
    the file system's clock would leave its times as they were."""
    try:
        with open(path, "rb") as f:
            seen = os.fstat(f.fileno())
            identity = hashlib.sha256(repr(("file-digest/1", os.path.realpath(path), seen.st_dev,
                                            seen.st_ino, seen.st_size, seen.st_mtime_ns,
                                            seen.st_ctime_ns)).encode()).hexdigest()
            quiet = time.time() - max(seen.st_mtime, seen.st_ctime) > QUIET_S
            if memo is None or not quiet:
                memo = None
            with contextlib.suppress(OSError):
                if memo is not None and (kept := memo.get(identity)) is not None \
                        and len(kept) == 64:
                    return kept.decode("ascii")
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None
    if memo is not None:
        with contextlib.suppress(OSError):  # a store that cannot grow: hashed again next time
            memo.put(identity, digest.encode("ascii"))
    return digest


def _verified(blob: bytes, key: str) -> bytes | None:
    """The entry's data when it is whole and belongs to *key*, else None."""
    line, newline, data = blob.partition(b"\n")
    header = _header(line + newline, key)
    if header is None or header[0] != len(data):
        return None
    return data if hashlib.sha256(data).hexdigest() == header[1] else None


def _header(line: bytes, key: str) -> tuple[int, str] | None:
    """(length, sha256) from an entry's header line (its newline included) for *key*."""
    parts = line.removesuffix(b"\n").split(b" ")
    if not line.endswith(b"\n") or len(parts) != 4 or parts[0] != MAGIC or \
            parts[1] != key.encode() or not parts[2].isdigit() or len(parts[3]) != 64:
        return None
    return int(parts[2]), parts[3].decode("ascii", "replace")


class Store:
    """The whole store: its kinds' entries, what it holds, its trimming and clearing."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_dir()

    def entries(self, kind: str) -> Entries:
        assert kind in KINDS, kind
        return Entries(self.root / kind, self.root)

    def usage(self) -> Usage:
        return usage(self.root)

    def trim(self, limit: int | None = None) -> int:
        return trim(self.root, limit)


@dataclass(frozen=True)
class Usage:
    """What the store's folder holds: every file in it is voiceguide's."""

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


LEDGER = ".trimmed"  # in the store's folder: its size when last trimmed, while nothing was put

_grown_here: set[Path] = set()  # the stores this process has put entries into since it trimmed


def _grown(root: Path) -> None:
    """An entry is about to be put into the store at *root*: its ledger no longer holds.
    Removed before the entry is written, so a process killed while writing leaves no
    ledger, and the next ``trim`` looks at the whole store (removing its temporary file)."""
    _grown_here.add(root)
    with contextlib.suppress(OSError):
        (root / LEDGER).unlink()


def usage(root: Path | None = None) -> Usage:
    root = root or default_dir()
    files: list[tuple[Path, int, float]] = []
    folders, ledger = [root], str(root / LEDGER)
    while folders:  # one stat a file: a build reads this at its end, whatever the store holds
        try:
            listing = os.scandir(folders.pop())
        except OSError:  # gone meanwhile, or not a folder at all
            continue
        with listing:
            for entry in listing:
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False) and entry.path != ledger:
                        stat = entry.stat(follow_symlinks=False)
                        files.append((Path(entry.path), stat.st_size, stat.st_mtime))
    return Usage(root, sorted(files))


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
    """Removes what a killed process was writing (its temporary files), then the least
    recently used files until the store is within its limit (down to nine tenths of it,
    so that every build does not trim again); returns bytes freed.

    Listing the store costs a stat a file, at the end of every command, however much
    it holds; so a trim leaves a ledger of the size it left the store at, and a process
    that has put nothing since trims again only when that size is over its limit (a
    lower limit than the last trim's). Every put removes the ledger (``_grown``), and the
    process that put an entry trims at its end, whatever else ran meanwhile."""
    root = root or default_dir()
    limit = cache_limit() if limit is None else limit
    if root not in _grown_here and (kept := _ledger(root)) is not None and kept <= limit:
        return 0
    _grown_here.discard(root)
    found = usage(root)
    freed = 0
    for path, size, _ in found.files:
        if stale_temp(path):
            with contextlib.suppress(OSError):
                path.unlink()
                freed += size
    if freed:
        found = usage(root)
    total = found.size
    trimmed = 0
    if total > limit:
        for path, size, _ in sorted(found.files, key=lambda f: f[2]):
            if total - trimmed <= limit * 9 // 10:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                trimmed += size
    if root not in _grown_here and root.is_dir():  # nothing put meanwhile by this process
        with contextlib.suppress(OSError):  # no ledger: the next command lists the store
            keep(root / LEDGER, b"%d\n" % (total - trimmed))
    return freed + trimmed


def _ledger(root: Path) -> int | None:
    """The size the last trim left the store at, while nothing has been put since."""
    try:
        text = (root / LEDGER).read_bytes()
    except OSError:
        return None
    return int(text) if text.strip().isdigit() else None


def cache_info(folder: Path | None = None) -> Usage:
    """What ``voiceguide cache info`` reports."""
    return usage(folder)


def cache_clear(folder: Path | None = None) -> Usage:
    """Deletes everything in the store's folder; returns what there was. A build running
    meanwhile may add entries as they go: a folder that gained one is emptied again (a few
    times at most), and an entry already gone is passed over."""
    found = usage(folder)
    for entry in sorted(found.root.iterdir()) if found.root.is_dir() else []:
        for attempt in range(CLEAR_TRIES):
            try:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink(missing_ok=True)
                break
            except OSError as exc:
                if not (entry.exists() or entry.is_symlink()):
                    break  # gone already
                if exc.errno in (errno.ENOTEMPTY, errno.ENOENT) and attempt + 1 < CLEAR_TRIES:
                    continue
                raise CacheError(f"cannot clear the speech cache: {exc.strerror} "
                                 f"({exc.filename}); check its permissions") from exc
    return found


CLEAR_TRIES = 5  # a build writes an entry in well under a millisecond; rmtree takes longer
