"""Builds on a Dask cluster: ``build SCRIPT… --scheduler tcp://HOST:PORT`` (and publish).

Every build is a pure function of its script, the files the script names and
the options, so any worker may build any session. The client sends each
session as a *bundle* — the script's bytes and those of the sounds, music and
cover it names, by their paths relative to the script — with the options; the
worker writes the bundle into a scratch folder, builds there with its own
content-addressed cache (speech, clips, islands, levels: per worker, so the
first session a worker builds is cold for it), and returns the files it made.
The client writes them where a local build would, each atomically: the same
bytes as a local build, given the same voiceguide, engines and models.

A build that fails on its worker fails alone, with its one line; a worker that
dies is replaced by the scheduler (Dask retries its task elsewhere, then gives
up on it); the others finish. Ctrl-C cancels what is still queued. A scheduler
that cannot be reached, or goes away, is one line and exit 1.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceguide.errors import ScriptError, VoiceguideError

if TYPE_CHECKING:
    from voiceguide.plan import Plan
    from voiceguide.session import Options

EXTRA = "pip install 'voiceguide[dask]'"
CONNECT_S = 6  # to reach the scheduler, and for it to have a worker
HANDSHAKE_S = 3  # past that, for a scheduler that answers to say who it is: 9 s in all


class ClusterError(VoiceguideError):
    """The cluster cannot build: unreachable, gone, no workers, or workers without
    voiceguide. Exit 1: the machines, not the scripts."""


class BuildFailed(VoiceguideError):
    """One session's build failed on the cluster; the others go on."""


@dataclass(frozen=True)
class Bundle:
    """A script and every file it names, by path relative to the script's folder."""

    script: str  # the script's own name in the bundle
    files: dict[str, bytes]
    home: Path  # the script's folder here, to name its problems and its cover as here


def bundle(script: Path) -> Bundle:
    """The files a build of *script* reads: the script, its sounds, music and cover (all
    inside its folder: the reader checks that). A script with problems raises them."""
    from voiceguide.script import load_script

    read = load_script(script)
    folder = script.parent.resolve()
    named = [*read.sounds.values(), *(m.path for m in (read.music.files if read.music else ())
                                      if m.path.is_relative_to(folder)),
             *([read.cover] if read.cover is not None else [])]
    files = {script.name: script.read_bytes()}
    for path in named:
        files[str(Path(path).resolve().relative_to(folder))] = Path(path).read_bytes()
    return Bundle(script.name, files, script.parent)


# glibc's malloc options (malloc.h). Dask's nanny starts workers with
# MALLOC_TRIM_THRESHOLD_=65536, which hands every large array's pages back at once and
# faults them in again on the next: a build's numpy work took twice as long (measured:
# 8.5 s against 4.5 s for hill_repeats, the time in the kernel). A build runs with the
# usual thresholds and gives its memory back when it is done.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
BUILD_TRIM, BUILD_MMAP = 256 << 20, 32 << 20


@contextlib.contextmanager
def _malloc_for_builds() -> Iterator[None]:
    try:
        libc = ctypes.CDLL(None)
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to change
        yield
        return
    mallopt(M_TRIM_THRESHOLD, BUILD_TRIM)
    mallopt(M_MMAP_THRESHOLD, BUILD_MMAP)
    try:
        yield
    finally:
        trim(0)
        with contextlib.suppress(ValueError):
            mallopt(M_TRIM_THRESHOLD, int(os.environ.get("MALLOC_TRIM_THRESHOLD_", BUILD_TRIM)))


def threads_by_host(client: Any) -> dict[str, int]:
    """How many builds the cluster's workers run at once on each machine, by host."""
    found: dict[str, int] = {}
    for address, worker in client.scheduler_info(n_workers=-1)["workers"].items():
        host = _host(address)  # as the worker finds it from its own address
        found[host] = found.get(host, 0) + int(worker.get("nthreads", 1))
    return found


def _host(address: str) -> str:
    return address.split("://", 1)[-1].rsplit(":", 1)[0]


def build_remote(bundled: Bundle, name: str, options: Options, cover: bytes | None,
                 split: bool, hosts: dict[str, int] | None = None) -> tuple[Plan, dict[str, bytes]]:
    """On a worker: the session built in a scratch folder into the MP3 *name*; (its plan,
    {file: bytes}) named relative to the MP3's folder (``NAME.mp3``, ``NAME/…`` with split).
    *hosts*: the builds each machine runs at once, so this one takes its share of the cores
    (two workers on one machine do not each speak and encode on all of them)."""
    from voiceguide import session
    from voiceguide.tools import share_cores

    if hosts:
        from distributed import get_worker

        with contextlib.suppress(ValueError):
            share_cores(hosts.get(_host(get_worker().address), 1))

    with tempfile.TemporaryDirectory(prefix="voiceguide-cluster-") as scratch, \
            _malloc_for_builds():
        home = Path(scratch) / "script"
        for relative, data in bundled.files.items():
            path = home / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        out = Path(scratch) / "out"
        out.mkdir()
        target = out / name
        try:
            plan = session.build(home / bundled.script, target, options, cover, split)
        except ScriptError as exc:  # named as the user knows the files
            raise ScriptError([replace(p, file=_here(p.file, home, bundled.home))
                               for p in exc.problems]) from None
        made = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
                if p.is_file()}
        if plan.cover:
            plan = replace(plan, cover=_here(plan.cover, home, bundled.home))
        return plan, made


def _here(path: str, there: Path, home: Path) -> str:
    """*path* under the worker's copy of the script's folder, as the same file here."""
    with contextlib.suppress(ValueError):
        return str(home / Path(path).relative_to(there))
    return path


def built_on(scheduler: str, jobs: list[tuple[Path, Path, Options]], split: bool = False,
             cover: bytes | None = None) -> Iterator[tuple[Path, Plan | VoiceguideError]]:
    """(target, plan or the error of that build) for each (script, target, options), in
    order, built on the cluster at *scheduler*; each target written as it arrives."""
    client = connect(scheduler)
    futures: list[Any] = []
    try:
        bundles = [bundle(script) for script, _, _ in jobs]  # every script's problems first
        hosts = threads_by_host(client)
        futures = [client.submit(build_remote, b, target.name, replace(options, progress=None),
                                 cover, split, hosts, pure=False,
                                 key=f"voiceguide-{n}-{os.getpid()}")
                   for n, (b, (_, target, options)) in enumerate(zip(bundles, jobs, strict=True))]
        for (script, target, _), future in zip(jobs, futures, strict=True):
            yield target, _arrived(script, target, future)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(futures)  # what is queued never starts
        raise
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=5)


def _arrived(script: Path, target: Path, future: Any) -> Plan | VoiceguideError:
    from distributed.client import FutureCancelledError

    try:
        plan, files = future.result()
    except VoiceguideError as exc:  # the build's own error, as a local build says it
        return exc
    except FutureCancelledError as exc:
        raise ClusterError(f"the cluster cancelled the builds ({exc}); is the scheduler "
                           "still running?") from None
    except OSError as exc:
        raise ClusterError(f"lost the scheduler while building {script}: {exc}") from None
    except ModuleNotFoundError as exc:
        raise ClusterError(f"the cluster's workers cannot run voiceguide ({exc}): "
                           f"{EXTRA} on every worker") from None
    except Exception as exc:  # a worker died (KilledWorker), ran out of memory, ...
        return BuildFailed(f"{script}: not built on the cluster: {type(exc).__name__}: {exc}")
    from voiceguide.files import write_atomically

    for name, data in files.items():  # NAME.mp3, and NAME/… with split
        path = target.parent / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    return plan


def _quiet() -> None:
    """Dask's own log lines (a lost scheduler is a page of tracebacks) stay off the user's
    terminal: what went wrong is said in voiceguide's one line."""
    import logging

    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _reached(client_type: Any, scheduler: str) -> Any:
    """A client connected to *scheduler*, within a bounded wait: in a thread of its own,
    since a peer that accepts and then says nothing holds Dask's handshake past its own
    timeout, and one that sends something else fails in whatever Dask decodes it with."""
    import threading

    found: list[Any] = []

    def attempt() -> None:
        try:
            found.append(client_type(scheduler, timeout=CONNECT_S, set_as_default=False))
        except BaseException as exc:  # noqa: BLE001 - what a peer sent is not our bug
            found.append(f"{type(exc).__name__}: {str(exc)[:80]}")
            exc.__traceback__ = None  # drops the half-made client now, in this thread

    thread = threading.Thread(target=attempt, name="dask-connect", daemon=True)
    thread.start()
    thread.join(CONNECT_S + HANDSHAKE_S)
    if not found:
        raise ClusterError(f"the Dask scheduler at {scheduler} did not answer within "
                           f"{CONNECT_S + HANDSHAKE_S} s; check the address and that it is "
                           "a Dask scheduler")
    if isinstance(found[0], str):
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler} ({found[0]}); "
                           "start it (dask scheduler) or check the address")
    return found[0]


def connect(scheduler: str) -> Any:
    """A client of the scheduler at *scheduler*, with a worker that can import voiceguide."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(f"--scheduler needs Dask's distributed: {EXTRA}") from None
    _quiet()

    class Bounded(Client):
        """A client that, when it could not connect, does not try to close for 20 s as it is
        collected (and print a traceback saying so)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            try:
                super().__init__(*args, **kwargs)
            except BaseException:
                self.failed = True
                with contextlib.suppress(Exception):
                    self._loop_runner.stop()
                raise

        def __del__(self) -> None:
            if not getattr(self, "failed", False):
                super().__del__()

    client = _reached(Bounded, scheduler)
    try:
        client.wait_for_workers(1, timeout=CONNECT_S)
        # a builtin, so that a worker without voiceguide can run it and say so
        found = client.run(eval, "__import__('voiceguide.batch.cluster').__version__")
    except (OSError, TimeoutError) as exc:
        client.close()
        raise ClusterError(f"the Dask scheduler at {scheduler} has no workers ({exc}); start "
                           "one (dask worker " + scheduler + ")") from None
    except ModuleNotFoundError as exc:
        client.close()
        raise ClusterError(f"the workers of {scheduler} cannot run voiceguide ({exc}): "
                           f"{EXTRA} on every worker") from None
    from voiceguide import __version__

    other = sorted({v for v in found.values() if v != __version__})
    if other:
        client.close()
        raise ClusterError(f"the workers of {scheduler} run voiceguide {', '.join(other)}, "
                           f"this is {__version__}: the same version everywhere gives the same "
                           "bytes; install it on every worker")
    return client


