"""What the natural voice keeps in the store to start faster (``_hibari_worker``): its
optimised graph and its spelling-to-sound data, which must answer and sound exactly as
hibari's own files do."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from calls import recorded

from voiceguide.speech import _hibari_worker as worker
from voiceguide.speech.table import Table, pack
from voiceguide.store import Store, file_digest

TEXTS = [
    "Fifteen seconds left. Stay tall, and take 1234 breaths.",
    "Squeeze your shoulder blades gently, in a high knee march.",
    "Zorbly flinderwicks: the tagger and the unknown-word net both speak here.",
    "It's 7:30 pm on the 3rd of March; Dr. Smith read 1,250 words at $9.99.",
]


def test_a_table_answers_as_its_dict() -> None:
    mapping: dict[str, Any] = {f"w{n}": [n, {"DEFAULT": f"p{n}"}] for n in range(3000)}
    mapping |= {"": "empty", "naïve": "nˈIiv", "日本": None, "a\udcff": 1.5, "ß": {"x": 1}}
    table = Table(pack(mapping))
    for key, value in mapping.items():
        assert table.get(key) == value and key in table
    for absent in ("w3000", "W1", "naive", "日", " ", "w1 "):
        assert table.get(absent) is None and absent not in table
        assert table.get(absent, "default") == "default"
    assert table.get(7) is None and 7 not in table  # type: ignore[operator]
    assert "日本" in table  # a key whose value is None is still there
    with pytest.raises(ValueError):
        Table(b"voiceguide-speech/2 not a table")


def test_hibaris_tables_answer_as_its_dicts() -> None:
    import hibari.g2p as g2p

    for name in ("lexicon_us_gold.json.gz", "lexicon_us_silver.json.gz", "tagger.json.gz"):
        value = g2p._load_json(name)
        kept = worker._unpacked(worker._packed(value, tables=True))
        assert type(kept) is not dict or name == "tagger.json.gz"
        mappings = [(value, kept)] if name.startswith("lexicon") else \
            [(value[k], kept[k]) for k in value]
        for original, answer in mappings:
            if isinstance(original, dict):
                assert all(answer.get(k) == v for k, v in original.items())
                assert answer.get(name) is None
            else:
                assert answer == original
    assert worker._unpacked(worker._packed({"a": 1}, tables=True)) == {"a": 1}


def _clips(model: Any) -> list[bytes]:
    return [np.asarray(model(text, speed=speed, seed=worker.SEED)).tobytes()
            for text in TEXTS for speed in (1.0, 1.1667)]


def test_the_kept_voice_sounds_as_hibaris_own_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first load reads hibari's files and keeps what it made of them; the next takes
    the kept graph and tables, and every clip comes out the same to the bit."""
    import hibari.g2p as g2p

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(g2p, "_load_json", g2p._load_json)  # lexicons_kept replaces it
    first = worker.load("heart")
    assert isinstance(first.model_path, str)
    made = _clips(first)
    kept = Store().entries("voices").entries()
    assert len(kept) >= 6  # the graph, the model's digest and the spelling data
    again = worker.load("heart")
    assert isinstance(again.model_path, bytes)  # the kept graph
    assert isinstance(again.g2p.lexicon.golds.d, Table)
    assert isinstance(again.g2p.tagger.weights, Table)
    assert _clips(again) == made
    assert len(set(made)) == len(made)  # a control: the texts do sound different


def test_a_file_is_hashed_again_once_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from voiceguide import store

    memo = Store(tmp_path / "store").entries("voices")
    path = tmp_path / "model.onnx"
    path.write_bytes(b"first")
    assert file_digest(path, memo) == hashlib.sha256(b"first").hexdigest()
    assert memo.entries() == []  # just written: it may change again within the clock's tick
    monkeypatch.setattr(store, "QUIET_S", -1.0)  # as if it had been quiet long enough
    assert file_digest(path, memo) == hashlib.sha256(b"first").hexdigest()
    assert len(memo.entries()) == 1
    assert file_digest(path, memo) == hashlib.sha256(b"first").hexdigest()  # from the memo
    assert len(memo.entries()) == 1
    written = path.stat().st_mtime_ns
    path.write_bytes(b"other")  # the same size: its times tell (a later tick, here for sure)
    os.utime(path, ns=(written + 10**9, written + 10**9))
    assert file_digest(path, memo) == hashlib.sha256(b"other").hexdigest()
    assert len(memo.entries()) == 2
    assert file_digest(tmp_path / "gone.onnx", memo) is None
    other = tmp_path / "moved.onnx"
    other.write_bytes(b"third")
    os.replace(other, path)  # another file in its place: another inode
    assert file_digest(path, memo) == hashlib.sha256(b"third").hexdigest()


def test_a_cold_start_with_a_core_to_spare_keeps_its_tables_aside_and_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With speakers to fork (a second core), the first load packs hibari's data in a
    forked child, and the load after finds the very tables an unforked load keeps."""
    import hibari.g2p as g2p
    from waiting import until

    def voices(folder: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes()
                for p in Store(folder / "voiceguide").entries("voices").entries()}

    original, real_fork, children = g2p._load_json, os.fork, []

    def fork() -> int:
        children.append(pid := real_fork())
        return pid

    monkeypatch.setattr(os, "fork", fork)
    for folder, spare in ((tmp_path / "here", False), (tmp_path / "aside", True)):
        monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
        monkeypatch.setattr(g2p, "_load_json", original)
        monkeypatch.setattr(worker, "spare_core", spare)
        worker.load("heart")
        assert bool(children) is spare
    here = voices(tmp_path / "here")
    until(lambda: voices(tmp_path / "aside").keys() == here.keys(), "the tables kept aside")
    assert voices(tmp_path / "aside") == here


def test_with_a_core_to_spare_the_rules_are_read_beside_the_session_and_sound_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spelling-to-sound rules read on a thread while onnxruntime makes the session
    are the model's own: cold and warm, every clip is the same to the bit as a load that
    reads them itself, after the session."""
    import threading

    import hibari.g2p as g2p

    made_on: list[str] = []
    real_init = g2p.G2P.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        made_on.append(threading.current_thread().name)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(g2p.G2P, "__init__", init)
    monkeypatch.setattr(g2p, "_load_json", g2p._load_json)  # lexicons_kept replaces it
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    heard = {}
    for spare, state in ((False, "cold"), (True, "warm"), (False, "warm")):
        monkeypatch.setattr(worker, "spare_core", spare)
        made_on.clear()
        heard[spare, state] = _clips(worker.load("heart"))
        assert made_on == ["voiceguide-rules" if spare else "MainThread"]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other"))
    monkeypatch.setattr(worker, "spare_core", True)
    heard[True, "cold"] = _clips(worker.load("heart"))
    assert len(set(map(tuple, heard.values()))) == 1


def test_what_is_kept_is_the_values_own_bytes_whoever_else_holds_its_parts() -> None:
    """The same value packs to the same bytes when its parts are held once more elsewhere
    (as the thread that reads hibari's rules, or a forked child's parent, may hold them):
    two processes keep one entry alike."""
    weights: dict[str, Any] = {f"w{n}": {"NN": n / 10} for n in range(worker.TABLED)}
    weights["w0"] = {"".join(["so", "lo"]): 1.5}  # made at run time: held by the value alone
    value = {"weights": weights, "tags": ["".join(["V", "B"])]}
    alone, table = worker._packed(value, tables=True), pack(weights)
    held = [*weights["w0"], *value["tags"]]  # each part once more
    assert worker._packed(value, tables=True) == alone and pack(weights) == table
    assert len(held) == 2


@pytest.mark.parametrize("british", [False, True])
def test_the_files_read_ahead_are_the_large_ones_hibaris_rules_read(
        monkeypatch: pytest.MonkeyPatch, british: bool) -> None:
    import hibari.g2p as g2p

    asked = recorded(monkeypatch, g2p, "_load_json")
    g2p.G2P(british=british)
    assert set(worker.rule_files(british)) == {n for n in asked if n.endswith(".json.gz")}


def test_a_cold_start_with_a_core_to_spare_reads_the_rules_files_in_children(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the large files is read in the worker itself; its rules hold the tables a
    warm start reads, and the children keep them for the next start."""
    import hibari.g2p as g2p

    original = g2p._load_json
    decoded = recorded(monkeypatch, g2p, "_load_json")  # in this process only
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(worker, "spare_core", True)
    model = worker.load("heart")
    assert decoded == ["tokenizer_exceptions.json"]
    assert isinstance(model.g2p.tagger.weights, Table) and not worker._reading
    from waiting import until

    kept = Store(tmp_path / "voiceguide").entries("voices")
    until(lambda: len([e for e in kept.entries() if e.stat().st_size > 1 << 20]) >= 4,
          "the three files' tables and the graph kept by the children")
    monkeypatch.setattr(g2p, "_load_json", original)  # the warm start after: from the store
    decoded = recorded(monkeypatch, g2p, "_load_json")
    worker.load("heart")
    assert decoded == []


def test_a_child_reading_ahead_hands_its_bytes_over_whole_then_keeps_them(
        tmp_path: Path) -> None:
    data = os.urandom(3 << 20)  # far more than a pipe holds
    kept = tmp_path / "kept"
    reader = worker._ReadAhead(lambda: (data, kept.write_bytes))
    assert reader.result() == data
    from waiting import until

    until(lambda: kept.exists() and kept.read_bytes() == data, "the child keeping the bytes")


def test_a_child_reading_ahead_that_fails_or_lingers_is_given_up(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Its caller reads the file itself: None, never part of the bytes, never a wait
    without end; a child that lingers, or is not wanted, is killed and reaped."""
    import time

    from waiting import until

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    def fails() -> tuple[bytes, Any]:
        raise ValueError("unreadable")

    def lingers() -> tuple[bytes, Any]:
        time.sleep(600)
        return b"late", print

    assert worker._ReadAhead(fails).result() is None
    monkeypatch.setattr(worker, "READ_AHEAD_S", 0.2)
    lingering = worker._ReadAhead(lingers)
    assert lingering.result() is None
    until(lambda: gone(lingering.pid), "the lingering child killed")
    unwanted = worker._ReadAhead(lambda: (bytes(3 << 20), print))
    unwanted.give_up()
    until(lambda: gone(unwanted.pid), "the unwanted child stopped")


def test_the_worker_starts_without_urllibs_http_stack_which_still_answers() -> None:
    """hibari's voices module loads without the HTTP stack it needs only to download; the
    first name asked of ``urllib.request`` imports the real module and is its own."""
    import subprocess
    import sys

    said = subprocess.run([sys.executable, "-c", (
        "import sys\n"
        "from voiceguide.speech._hibari_worker import downloads_unloaded\n"
        "downloads_unloaded()\n"
        "import hibari.voices as voices\n"
        "print('http.client' in sys.modules)\n"
        "opened = voices.urllib.request.urlopen\n"
        "import urllib.request\n"
        "print('http.client' in sys.modules, opened is urllib.request.urlopen,\n"
        "      sys.modules['urllib.request'].__file__ == urllib.request.__file__)\n")],
        capture_output=True, text=True, check=True)
    assert said.stdout.split() == ["False", "True", "True", "True"]


@pytest.mark.parametrize("british", [False, True])
def test_the_files_read_at_the_workers_start_are_read_as_hibari_reads_them(
        british: bool) -> None:
    import hibari.g2p as g2p

    for name in worker.rule_files(british):
        value = worker.json_of(Path(g2p.ASSETS), name)
        assert value == g2p._load_json(name)
        assert worker._packed(value, True) == worker._packed(g2p._load_json(name), True)


def test_the_workers_start_reads_its_voices_rules_ahead_for_the_load_to_take(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before hibari is imported, children start reading the voice's large files; the
    load takes what they made and reads none of them itself."""
    import hibari.g2p as g2p

    monkeypatch.setattr(g2p, "_load_json", g2p._load_json)  # lexicons_kept replaces it
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(worker, "spare_core", True)
    worker.rules_read_early(["heart", "no such voice"])
    assert set(worker._reading) == set(worker.rule_files(False))
    decoded = recorded(monkeypatch, g2p, "_load_json")
    model = worker.load("heart")
    assert decoded == ["tokenizer_exceptions.json"] and not worker._reading
    assert isinstance(model.g2p.tagger.weights, Table)
