"""The speech cache and SpeechLibrary's use of it, with a counting engine."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from voiceguide.errors import EngineError
from voiceguide.speech import SpeechLibrary, VoiceInfo, wav
from voiceguide.speech.base import Engine
from voiceguide.speech.cache import cache_key
from voiceguide.speech.request import SpeechRequest
from voiceguide.store import Entries, Store, cache_clear, cache_info, default_dir


class CountingEngine(Engine):
    """A tone per request whose length follows the text, counting what it is asked for."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[list[SpeechRequest]] = []

    def version(self) -> str:
        return "1"

    def problem(self) -> str | None:
        return None

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo(self.name, "low", "en", "Low"), VoiceInfo(self.name, "high", "en", "High")]

    def synthesize(self, requests: Sequence[SpeechRequest]) -> list[bytes]:
        self.calls.append(list(requests))
        return [self._tone(r) for r in requests]

    @staticmethod
    def _tone(r: SpeechRequest) -> bytes:
        t = np.arange(len(r.text) * 800) / 16000
        return wav.encode(0.5 * np.sin(2 * np.pi * 220 * t), 16000)


@pytest.fixture
def engine() -> CountingEngine:
    return CountingEngine()


@pytest.fixture
def library(tmp_path: Path, engine: CountingEngine) -> SpeechLibrary:
    lib = SpeechLibrary(Store(tmp_path / "cache"))
    lib.register("counting", lambda: engine)
    return lib


def req(text: str, voice: str = "low", rate: float | None = 160) -> SpeechRequest:
    return SpeechRequest("counting", voice, rate, text)


def entry_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").rglob("*.clip"))


def test_second_run_is_a_hit(library: SpeechLibrary, engine: CountingEngine, tmp_path: Path) -> None:
    requests = [req("one"), req("two"), req("one")]
    library.prefetch(requests)
    assert [len(batch) for batch in engine.calls] == [2]
    again = SpeechLibrary(Store(tmp_path / "cache"))
    again.register("counting", lambda: engine)
    again.prefetch(requests)
    samples, rate = again.audio(req("two"))
    assert len(engine.calls) == 1
    assert rate == 16000 and samples.dtype == np.float32 and len(samples) == 3 * 800


def test_a_miss_is_synthesised_on_demand(library: SpeechLibrary, engine: CountingEngine) -> None:
    samples, _ = library.audio(req("hello"))
    assert len(samples) == 5 * 800 and float(np.max(np.abs(samples))) <= 1.0
    assert len(engine.calls) == 1


def test_everything_that_changes_audio_changes_the_key() -> None:
    base = req("text")
    variants = [
        req("text!"),
        req("text", voice="high"),
        req("text", rate=161),
        req("text", rate=None),
        SpeechRequest("other", "low", 160, "text"),
        SpeechRequest("counting", "low", 160, "text", ("--flag",)),
    ]
    keys = {cache_key(r, "1") for r in variants} | {cache_key(base, "2")}
    assert cache_key(base, "1") not in keys and len(keys) == len(variants) + 1
    assert cache_key(req("text", rate=160), "1") == cache_key(req("text", rate=160.0), "1")


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "header"])
def test_a_damaged_entry_is_detected_and_made_again(
    library: SpeechLibrary, engine: CountingEngine, tmp_path: Path, damage: str
) -> None:
    library.prefetch([req("steady")])
    first, _ = library.audio(req("steady"))
    [entry] = entry_files(tmp_path)
    blob = bytearray(entry.read_bytes())
    if damage == "truncate":
        blob = blob[: len(blob) - 100]
    elif damage == "flip":
        blob[-10] ^= 0x01
    elif damage == "empty":
        blob = bytearray()
    else:
        blob[:5] = b"XXXXX"
    entry.write_bytes(bytes(blob))
    second, _ = library.audio(req("steady"))
    assert len(engine.calls) == 2
    np.testing.assert_array_equal(first, second)
    assert Entries(tmp_path / "cache" / "speech").get(cache_key(req("steady"), "1")) is not None


def test_prefetch_batches_by_engine_voice_and_rate(library: SpeechLibrary, engine: CountingEngine) -> None:
    library.prefetch([req("a", "high"), req("b", "low"), req("c", "high"), req("d", "low", 200)])
    [batch] = engine.calls
    settings = [(r.voice, r.rate) for r in batch]
    assert settings == sorted(settings, key=lambda s: (s[0], s[1]))


def test_an_implausible_clip_is_an_error_not_a_cache_entry(
    library: SpeechLibrary, engine: CountingEngine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(engine, "_tone", lambda r: wav.encode(np.zeros(0), 16000))
    with pytest.raises(EngineError, match="no usable audio for 'silence'"):
        library.prefetch([req("silence")])
    assert entry_files(tmp_path) == []


def test_concurrent_writers_leave_one_whole_entry(tmp_path: Path) -> None:
    cache = Entries(tmp_path / "speech")
    data = CountingEngine._tone(req("shared text"))
    threads = [threading.Thread(target=cache.put, args=("ab" * 32, data)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get("ab" * 32) == data
    assert [p.name for p in (tmp_path / "speech").rglob("*")] == ["ab", "ab" * 32 + ".clip"]


def test_info_and_clear(library: SpeechLibrary, tmp_path: Path) -> None:
    library.prefetch([req("one"), req("two")])
    found = cache_info(tmp_path / "cache")
    assert found.counts()["speech clips"] == 2 and found.size > 2 * 800 * 2
    assert found.root == tmp_path / "cache"
    removed = cache_clear(tmp_path / "cache")
    assert len(removed.files) == 2 and removed.size == found.size
    assert cache_info(tmp_path / "cache").files == []


def test_cache_lives_under_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_dir() == tmp_path / "voiceguide"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_dir() == tmp_path / "home" / ".cache" / "voiceguide"


def test_trim_removes_what_a_killed_process_was_writing(tmp_path: Path) -> None:
    """A cache entry's temporary file whose writer is gone goes at the next trim (every
    command trims); one a running process is writing stays."""
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    folder = tmp_path / "cache" / "speech" / "ab"
    folder.mkdir(parents=True)
    stale = folder / f".abcd.clip.{gone}.0123456789ab.tmp"
    live = folder / f".abce.clip.{os.getpid()}.0123456789ab.tmp"
    kept = folder / "abcf.clip"
    for path in (stale, live, kept):
        path.write_bytes(b"x" * 100)
    assert Store(tmp_path / "cache").trim() == 100
    assert sorted(p.name for p in folder.iterdir()) == sorted([live.name, kept.name])


@pytest.mark.parametrize("damage", ["none", "truncate", "longer", "flip", "header", "other key"])
def test_an_entry_is_described_from_its_header_and_only_when_the_header_holds(
        tmp_path: Path, damage: str) -> None:
    """``described`` reads the header line alone: the data's length and sha256, or None
    when the entry is missing, cut short or grown, or its header is not this key's. Data
    altered in place is described as written and found out when it is read."""
    import hashlib

    entries = Entries(tmp_path / "store")
    key, data = "ab" * 32, bytes(range(256)) * 40
    assert entries.described(key) is None
    entries.put(key, data)
    [path] = (tmp_path / "store").glob("??/*")
    blob = bytearray(path.read_bytes())
    if damage == "truncate":
        blob = blob[:-1]
    elif damage == "longer":
        blob += b"\0"
    elif damage == "flip":
        blob[-10] ^= 0x01
    elif damage == "header":
        blob[:5] = b"XXXXX"
    elif damage == "other key":
        blob = blob.replace(key.encode(), ("cd" * 32).encode(), 1)
    path.write_bytes(bytes(blob))
    os.utime(path, (1, 1))
    described = entries.described(key)
    if damage in ("none", "flip"):
        assert described == (len(data), hashlib.sha256(data).hexdigest())
        assert path.stat().st_mtime > 1  # used: trimming evicts it after unused entries
        assert (entries.get(key) is None) == (damage == "flip")
    else:
        assert described is None and entries.get(key) is None


def _listing_forbidden(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every listing of a store from now on, recorded."""
    import voiceguide.store as store

    listed: list[Path] = []
    real = store.usage

    def listing(root: Path | None = None) -> store.Usage:
        listed.append(Path(root or default_dir()))
        return real(root)

    monkeypatch.setattr(store, "usage", listing)
    return listed


def test_a_trim_with_nothing_put_since_the_last_reads_the_ledger_not_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A trim leaves the store's size in a ledger; the next one, with nothing put since
    and the same limit, lists nothing; a put (by any process: it removes the ledger), a
    lower limit under that size, or a cleared store each make the next trim list it all
    again. The ledger is not one of the store's files."""
    import voiceguide.store as store

    root = tmp_path / "cache"
    kept = Store(root)
    kept.entries("speech").put("ab" * 32, b"x" * 1000)
    listed = _listing_forbidden(monkeypatch)
    assert kept.trim(10**9) == 0 and listed == [root]
    assert (root / store.LEDGER).is_file()
    assert all(path.name != store.LEDGER for path, _, _ in store.usage(root).files)
    listed.clear()
    assert kept.trim(10**9) == 0 and kept.trim(10**6) == 0 and listed == []  # control below
    kept.entries("watch").put("cd" * 32, b"y" * 1000)
    assert kept.trim(10**9) == 0 and listed == [root]
    listed.clear()
    assert kept.trim(1500) > 0 and listed == [root]  # under the ledger's size: trimmed
    assert kept.usage().size <= 1500
    cache_clear(root)
    assert not (root / store.LEDGER).exists()


def test_a_put_by_another_process_makes_the_next_trim_list_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    root = tmp_path / "cache"
    kept = Store(root)
    kept.entries("speech").put("ab" * 32, b"x" * 1000)
    kept.trim(10**9)
    listed = _listing_forbidden(monkeypatch)
    assert kept.trim(10**9) == 0 and listed == []
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                    "from voiceguide.store import Store; "
                    "Store(Path(sys.argv[1])).entries('speech').put('ef' * 32, b'z' * 3000)",
                    str(root)], check=True)
    assert kept.trim(2000) > 0 and listed == [root]
    assert kept.usage().size <= 1800


def test_a_writer_killed_while_it_puts_leaves_no_ledger(tmp_path: Path) -> None:
    """The ledger goes before an entry is written, so what a killed writer left half made
    is found by the next trim, though that process put nothing."""
    import subprocess
    import sys

    root = tmp_path / "cache"
    Store(root).entries("watch").put("cd" * 32, b"y")
    Store(root).trim(10**9)
    script = ("import os, sys; from pathlib import Path; import voiceguide.store as store; "
              "from voiceguide.store import Store; "
              "store.keep = lambda target, data: os._exit(9); "
              "Store(Path(sys.argv[1])).entries('speech').put('ab' * 32, b'x')")
    assert subprocess.run([sys.executable, "-c", script, str(root)]).returncode == 9
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = root / "speech" / "ab" / f".{'ab' * 32}.clip.{gone}.0123456789ab.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    assert Store(root).trim(10**9) == 4 and not stale.exists()
