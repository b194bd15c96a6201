"""A hibari worker process: loads each voice's model once, then speaks many clips,
on as many cores as it is given.

The model and its spelling-to-sound rules (onnxruntime, hibari's G2P) cost
about 0.5 s and 180 MB to load, so a build starts one worker and sends it
every clip; the main process never imports onnxruntime. With ``--workers N``
the worker loads the voices it is told of, then forks N speakers that share
those pages (copy-on-write, frozen against the garbage collector) and hands
each the next clip as it finishes the last: N cores speak for the memory of
about one model. Every clip is made with one onnxruntime thread and the
noise generator seeded afresh, so the same text, voice and speed give the
same bytes whichever speaker makes it, whatever was spoken before and however
many cores the machine has.

Voices are only ever loaded from files already on the machine: a voice that
hibari would download on first use is an error here, never a download.

Protocol (JSON lines): the parent writes
``{"id": N, "text": ..., "voice": ..., "speed": ..., "output": PATH}``; the
worker writes a 16-bit WAV to PATH and answers ``{"id": N, "ok": true}`` or
``{"id": N, "error": "..."}``, in the order clips are done, each also naming the
process that spoke it (``"speaker"``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import json
import marshal
import os
import select
import signal
import struct
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

# Before numpy and onnxruntime load: one thread each, so output never depends on the cores.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

from voiceguide.errors import memory_limit_mb, out_of_memory  # noqa: E402
from voiceguide.speech._worker import die_with_parent, private_stdout  # noqa: E402
from voiceguide.speech.hibari_data import PACKAGE, assets, registry  # noqa: E402
from voiceguide.speech.hibari_graph import KeptGraph  # noqa: E402
from voiceguide.speech.table import FORMAT, MARSHAL, Table, pack  # noqa: E402
from voiceguide.store import Entries, Store, file_digest  # noqa: E402

SEED = 0  # the noise component of every clip
THREADS = 1


TABLED = 10_000  # entries: a mapping of hibari's this large is kept as a table
TABLES_TESTED = ("0.2.",)  # hibari's versions known to ask of them only get and in


def rule_files(british: bool) -> tuple[str, ...]:
    """The large files of data hibari's spelling-to-sound rules read for an accent, the
    longest to read first (a test checks them against what its G2P asks for)."""
    accent = "gb" if british else "us"
    return ("tagger.json.gz", f"lexicon_{accent}_gold.json.gz",
            f"lexicon_{accent}_silver.json.gz")


def lexicons_kept(ahead: tuple[str, ...] = ()) -> None:
    """hibari's spelling-to-sound rules read their lexicons and tagger from gzipped JSON at
    every start: 0.20 s of the 0.45 s a worker took before its first clip. They are kept
    in the store (kind ``voices``), by the sha256 of each file: the large mappings
    (the lexicons, the tagger's weights) as tables that unpack a key at a time
    (``table.py``), the rest as marshal data. Every lookup answers as hibari's own dict
    would; an entry that cannot be read is made again.

    With a core to spare, the files of *ahead* that the store lacks are read now, each in
    a forked child that packs and keeps it (``read_ahead``), unless the worker's start
    began reading them already (``rules_read_early``): reading JSON holds the interpreter
    lock, so on threads the three files and onnxruntime's session took turns; in
    children they are read on the spare core while the session is made, and the rules
    are built of the very tables a warm start finds."""
    import hibari.g2p as g2p

    original = g2p._load_json
    if getattr(original, "kept", False):
        return  # kept already (a second voice loading)
    assets, tables = Path(g2p.ASSETS), _tables()
    try:
        kept = Store().entries("voices")
    except Exception:  # noqa: BLE001 -- no usable cache: hibari reads its own files
        return
    if spare_core:
        read_ahead(ahead, assets, tables, kept, original)

    def load_json(name: str) -> Any:
        reader = _reading.pop(name, None)
        if reader is not None and (data := reader.result()) is not None:
            with contextlib.suppress(Exception):
                return _unpacked(data)
        key = _rules_key(assets, name, tables, kept)
        if key is None:
            return original(name)
        # the cache is a help, never a condition: whatever it does, hibari's own files serve
        with contextlib.suppress(Exception):
            if (data := kept.get(key)) is not None:
                return _unpacked(data)
        value = original(name)
        aside(lambda: kept.put(key, _packed(value, tables)))
        return value

    load_json.kept = True  # type: ignore[attr-defined]
    g2p._load_json = load_json


def _tables() -> bool:
    """Whether hibari's large mappings may be kept as tables (``TABLES_TESTED``)."""
    from voiceguide.tools import installed_version

    with contextlib.suppress(Exception):
        return installed_version(PACKAGE).startswith(TABLES_TESTED)
    return False


def _rules_key(assets: Path, name: str, tables: bool, kept: Entries) -> str | None:
    """The store's key for hibari's file of rules *name*, as kept (None: unreadable)."""
    digest = file_digest(assets / name, kept)
    if digest is None:
        return None
    return hashlib.sha256(json.dumps(["hibari-g2p/2", name, digest, tables, *FORMAT,
                                      sys.version_info[:2]]).encode()).hexdigest()


def read_ahead(names: tuple[str, ...], assets: Path, tables: bool, kept: Entries,
               read: Callable[[str], Any]) -> None:
    """Starts a child reading (with *read*), packing and keeping each file of *names* that
    the store lacks and that no child is reading yet (``_reading``)."""
    for name in names:
        with contextlib.suppress(Exception):
            if name in _reading or (key := _rules_key(assets, name, tables, kept)) is None \
                    or kept.described(key) is not None:
                continue

            def work(name: str = name, key: str = key) -> tuple[bytes, Callable[[bytes], Any]]:
                return _packed(read(name), tables), lambda data: kept.put(key, data)

            _reading[name] = _ReadAhead(work)


def rules_read_early(voices: list[str]) -> None:
    """At the worker's start, before hibari and numpy are imported (0.1 s): the children
    that read the voices' files of rules start now, the files read as hibari reads them
    (``json_of``), and the rules take what they made (``lexicons_kept``)."""
    with contextlib.suppress(Exception):
        if (folder := assets()) is None:
            return
        known = registry()
        names = tuple(dict.fromkeys(name for voice in voices if voice in known
                                    for name in rule_files(bool(known[voice]["british"]))))
        read_ahead(names, folder, _tables(), Store().entries("voices"),
                   lambda name: json_of(folder, name))


def json_of(assets: Path, name: str) -> Any:
    """hibari's file of rules *name*, read as its ``g2p._load_json`` reads it (a test holds
    the two to the same values), without importing hibari."""
    import gzip

    if name.endswith(".gz"):
        with gzip.open(assets / name, "rt", encoding="utf-8") as f:
            return json.load(f)
    with open(assets / name, encoding="utf-8") as f:
        return json.load(f)


class _ReadAhead:
    """*work*'s bytes made in a forked child, for ``result`` to take; the child hands them
    over first, then gives them to *work*'s second part (to keep them), then ends.

    Forked before onnxruntime is imported or any thread of the worker's starts, the
    child needs no lock another thread could hold; it leaves by ``os._exit``. ``result``
    is None when the child could not make them, or took longer than ``READ_AHEAD_S``
    (then it is killed): the caller makes them itself."""

    def __init__(self, work: Callable[[], tuple[bytes, Callable[[bytes], Any]]]) -> None:
        readable, writable = os.pipe()
        with warnings.catch_warnings():  # Python 3.12 warns of any fork beside a thread
            warnings.simplefilter("ignore", DeprecationWarning)
            self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(readable)
                # none of the worker's pipes held open: the build sees the worker end
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                os.closerange(3, writable)
                os.closerange(writable + 1, os.sysconf("SC_OPEN_MAX"))
                gc.disable()  # a collection would write to every shared page
                with contextlib.suppress(BaseException):
                    data, keep = work()
                    with os.fdopen(writable, "wb") as pipe:
                        pipe.write(struct.pack("<Q", len(data)))
                        pipe.write(data)
                    keep(data)
            finally:
                os._exit(0)
        os.close(writable)
        self.pipe = readable

    def result(self) -> bytes | None:
        chunks, deadline, whole = [], time.monotonic() + READ_AHEAD_S, False
        try:
            while (left := deadline - time.monotonic()) > 0 and select.select(
                    [self.pipe], [], [], left)[0]:
                if not (chunk := os.read(self.pipe, 1 << 20)):
                    whole = True
                    break
                chunks.append(chunk)
        finally:
            self._end(kill=not whole)
        data = b"".join(chunks)
        if len(data) < 8 or struct.unpack_from("<Q", data)[0] != len(data) - 8:
            return None  # the child failed, or was killed before it was done
        return data[8:]

    def give_up(self) -> None:
        """Not wanted after all: the child is stopped (it would wait to hand its bytes
        over until the worker ended)."""
        self._end(kill=True)

    def _end(self, kill: bool) -> None:
        if kill:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        os.close(self.pipe)
        threading.Thread(target=os.waitpid, args=(self.pid, 0), daemon=True).start()


READ_AHEAD_S = 60.0  # a child reading ahead that has not answered by then is given up
_reading: dict[str, _ReadAhead] = {}  # by file: what children read ahead of the rules


spare_core = False  # main: the worker has speakers to fork, so a second core to use


def aside(work: Callable[[], None]) -> None:
    """Does *work* (keeping for the next start what this cold one made) in a forked child
    where a core is spare, so that the first clip does not wait for it (0.17 s for the
    lexicons' tables), else now; whatever goes wrong in it, the clips do not depend on it.
    The child is reaped by a thread that waits for it.

    ``load`` may call it from the thread that reads hibari's rules while the main thread
    is inside onnxruntime: the child only packs and writes with what is imported already,
    and leaves by ``os._exit``, so it needs no lock another thread could hold."""
    if spare_core:
        with contextlib.suppress(OSError):
            with warnings.catch_warnings():  # Python 3.12 warns of any fork beside a thread
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:
                try:
                    gc.disable()  # a collection would write to every shared page
                    with contextlib.suppress(BaseException):
                        work()
                finally:
                    os._exit(0)
            threading.Thread(target=os.waitpid, args=(pid, 0), daemon=True).start()
            return
    with contextlib.suppress(Exception):
        work()


def _packed(value: Any, tables: bool) -> bytes:
    """*value* as kept: its large mappings (itself, or its members) as tables; the
    bytes are the value's alone, whoever else holds its parts (``table.MARSHAL``)."""
    def large(item: Any) -> bool:
        return tables and isinstance(item, dict) and len(item) >= TABLED

    if large(value):
        return marshal.dumps(("table", pack(value)), MARSHAL)
    if isinstance(value, dict) and any(large(v) for v in value.values()):
        return marshal.dumps(("members", {k: v for k, v in value.items() if not large(v)},
                              {k: pack(v) for k, v in value.items() if large(v)}), MARSHAL)
    return marshal.dumps(("plain", value), MARSHAL)


def _unpacked(data: bytes) -> Any:
    kind, *parts = marshal.loads(data)
    if kind == "table":
        return Table(parts[0])
    if kind == "members":
        plain, packed = parts
        return {**plain, **{k: Table(blob) for k, blob in packed.items()}}
    if kind == "plain":
        return parts[0]
    raise ValueError(f"not a kept value: {kind!r}")


def load(voice: str) -> Any:
    """The voice's model from disk; FileNotFoundError rather than a download.

    With a core to spare, hibari's spelling-to-sound rules are read on a thread while
    onnxruntime makes the model's session, which leaves the interpreter lock while it
    works (0.1 s of a cold start, 0.03 s of a warm one); on a cold start their files are
    read by children meanwhile (``lexicons_kept``), and the rules hold the tables a warm
    start reads (100 MB less in the worker and the speakers it forks). The rules are
    the very ones the model would read itself."""
    from hibari import Hibari
    from hibari.g2p import G2P
    from hibari.voices import VOICES, voice_path

    from voiceguide import scratch  # noqa: F401 -- KeptGraph's, imported before the thread

    lexicons_kept(rule_files(VOICES[voice]["british"]))
    path = voice_path(voice, download_missing=False)
    graph = KeptGraph(path)  # onnxruntime imported: nothing is imported while the thread forks
    rules = _Beside(lambda: G2P(british=VOICES[voice]["british"])) if spare_core else None
    try:
        model = None
        if graph.kept:
            with graph.loading(), contextlib.suppress(Exception):  # else from the file, as ever
                model = Hibari(voice=voice, model=graph.kept, threads=THREADS)
        if model is None:
            with graph.saving():
                model = Hibari(voice=voice, model=path, threads=THREADS)
    finally:
        read = rules.result() if rules is not None else None
        while _reading:  # files the rules did not ask for
            _reading.popitem()[1].give_up()
    if read is not None and getattr(model, "_g2p", False) is None:
        model._g2p = read  # what hibari's own g2p property would have read, once
    model.g2p  # noqa: B018 -- loaded now, so that the speakers forked later share it
    return model


class _Beside:
    """*work* on a thread of its own; ``result`` waits for it and gives what it returned
    (None when it failed: whoever needs it makes it again, and sees why)."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.value: Any = None

        def run() -> None:
            with contextlib.suppress(Exception):
                self.value = work()

        self.thread = threading.Thread(target=run, name="voiceguide-rules", daemon=True)
        self.thread.start()

    def result(self) -> Any:
        self.thread.join()
        return self.value


def speak(models: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    from hibari import write_wav

    voice = job["voice"]
    if voice not in models:
        models[voice] = load(voice)
    audio = models[voice](job["text"], speed=job["speed"], seed=SEED)
    if len(audio) == 0:
        return {"error": "the text has nothing hibari can pronounce"}
    write_wav(job["output"], audio)
    return {"ok": True}


def answer(models: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """What the parent hears of one job: its id and how it went."""
    try:
        said = speak(models, job)
    except Exception as err:  # reported to the parent, which names the clip
        said = {"error": f"{type(err).__name__}: {err}"}
        if out_of_memory(err):
            said["memory"] = True  # the parent reports the machine, not the clip
    return {"id": job.get("id"), "speaker": os.getpid(), **said}


def serve(jobs: IO[str], channel: IO[str], models: dict[str, Any]) -> None:
    """One speaker: a job per line in, an answer per line out, until the input ends."""
    for line in jobs:
        channel.write(json.dumps(answer(models, json.loads(line))) + "\n")
        channel.flush()


class Speaker:
    """A forked speaker, as the dispatcher sees it: its pipes and the job it holds."""

    def __init__(self, models: dict[str, Any], others: list[int]) -> None:
        """*others*: the dispatcher's descriptors a speaker must not hold open (the other
        speakers' pipes, the channel to the parent), or no one would see them close."""
        jobs_read, self.jobs = os.pipe()
        self.answers, answers_write = os.pipe()
        dispatcher = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # the speaker: never returns
            status = 0
            try:
                for fd in (self.jobs, self.answers, *others):
                    os.close(fd)
                die_with_parent(dispatcher)
                with os.fdopen(jobs_read, encoding="utf-8") as jobs, \
                        os.fdopen(answers_write, "w", encoding="utf-8") as channel:
                    serve(jobs, channel, models)
            except BaseException:  # noqa: BLE001 -- the dispatcher sees the pipe close
                status = 1
            os._exit(status)
        os.close(jobs_read)
        os.close(answers_write)
        self.job: dict[str, Any] | None = None
        self.gone = False
        self.buffer = b""

    def give(self, job: dict[str, Any]) -> bool:
        """Hands *job* over; False when the speaker has gone (the job is still to do)."""
        try:
            os.write(self.jobs, (json.dumps(job) + "\n").encode())
        except OSError:  # it died before the dispatcher saw its answers pipe close
            self.gone = True
            return False
        self.job = job
        return True

    def done(self) -> None:
        """No more jobs: the speaker ends at the end of its input."""
        if self.jobs >= 0:
            os.close(self.jobs)
            self.jobs = -1

    def died(self) -> str:
        """Why the speaker stopped, once its answers pipe has closed."""
        os.close(self.answers)
        self.done()
        _, status = os.waitpid(self.pid, 0)
        if os.WIFSIGNALED(status):
            return f"the speech engine crashed (signal {os.WTERMSIG(status)})"
        return f"the speech engine stopped (exit status {os.WEXITSTATUS(status)})"


def _lost(job: dict[str, Any], reason: str) -> dict[str, Any]:
    """The answer for a job whose speaker died: under a memory limit, memory ran out (a
    speaker that cannot get a thread's memory is aborted before it can say so)."""
    said: dict[str, Any] = {"id": job.get("id"), "error": reason}
    if memory_limit_mb() is not None:
        said["memory"] = True
    return said


def dispatch(channel: IO[str], models: dict[str, Any], workers: int) -> None:
    """Forks *workers* speakers and gives each the next job as it answers the last."""
    gc.freeze()  # the loaded models stay shared: the collector never writes to their pages
    speakers: list[Speaker] = []
    for _ in range(workers):
        held = [fd for s in speakers for fd in (s.jobs, s.answers)]
        speakers.append(Speaker(models, [channel.fileno(), *held]))
    queue: deque[dict[str, Any]] = deque()
    stdin, open_input = sys.stdin.fileno(), True
    pending = b""
    while open_input or queue or any(s.job for s in speakers):
        idle = [s for s in speakers if s.job is None and not s.gone]
        while queue and idle:
            job = queue.popleft()
            if not idle.pop().give(job):
                queue.appendleft(job)
        if not speakers:  # every speaker died: the rest cannot be spoken
            while queue:
                gone = _lost(queue.popleft(), "no speaker is left")
                channel.write(json.dumps(gone) + "\n")
        watched = [s.answers for s in speakers] + ([stdin] if open_input else [])
        if not watched:
            break
        ready, _, _ = select.select(watched, [], [])
        if stdin in ready:
            chunk = os.read(stdin, 65536)
            open_input = bool(chunk)
            pending += chunk
            *lines, pending = pending.split(b"\n")
            queue.extend(json.loads(line) for line in lines if line.strip())
        for speaker in [s for s in speakers if s.answers in ready]:
            chunk = os.read(speaker.answers, 65536)
            if not chunk:
                reason = speaker.died()
                speakers.remove(speaker)
                if speaker.job is not None:
                    channel.write(json.dumps(_lost(speaker.job, reason)) + "\n")
                continue
            speaker.buffer += chunk
            *lines, speaker.buffer = speaker.buffer.split(b"\n")
            for line in lines:
                channel.write(line.decode() + "\n")
                speaker.job = None
        channel.flush()
    for speaker in speakers:
        speaker.done()
    for speaker in speakers:
        speaker.died()


def downloads_unloaded() -> None:
    """hibari's voices module imports urllib's HTTP stack for its downloads (25 ms of every
    start of the worker), which the worker never makes (``download_missing=False``):
    ``urllib.request`` is a stand-in until something asks it for a name, when the real
    module is imported and answers (an import statement asks nothing of it)."""
    import importlib
    import types
    import urllib

    if "urllib.request" in sys.modules:
        return
    stand_in = types.ModuleType("urllib.request", "urllib.request, imported at its first use")

    def real(name: str) -> Any:
        if sys.modules.get("urllib.request") is stand_in:
            del sys.modules["urllib.request"]
        return getattr(importlib.import_module("urllib.request"), name)

    stand_in.__getattr__ = real  # type: ignore[method-assign]
    sys.modules["urllib.request"] = stand_in
    urllib.request = stand_in  # type: ignore[attr-defined]  # as an import would name it


def main() -> None:
    downloads_unloaded()
    parser = argparse.ArgumentParser(prog="python -m voiceguide.speech._hibari_worker")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--voices", default="", help="voices to load before forking")
    args = parser.parse_args()
    die_with_parent()
    global spare_core
    spare_core = args.workers > 1
    voices = list(filter(None, args.voices.split(",")))
    if spare_core:
        rules_read_early(voices)
    channel = private_stdout()
    models: dict[str, Any] = {}
    for voice in voices:
        with contextlib.suppress(Exception):  # a voice that cannot load fails its clips
            models[voice] = load(voice)
    if args.workers <= 1:
        serve(sys.stdin, channel, models)
    else:
        dispatch(channel, models, args.workers)


if __name__ == "__main__":
    main()
