"""The cluster's address (hostile input, kind 3): a scheduler that says nothing, one that
sends junk, tls:// without certificates, an address with a query, a fragment or a user —
each is one line naming the scheduler, exit 1 (2 for a malformed address), within a
bounded wait, nothing written."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")  # the optional extra; make test installs it

VOICEGUIDE = Path(sys.executable).with_name("voiceguide")
BOUND_S = 60  # far past voiceguide's own wait (9 s): a hang fails here, never blocks CI


@pytest.fixture
def peer(request: pytest.FixtureRequest) -> Iterator[str]:
    """A port on this machine that accepts and then says nothing, or sends junk."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    kept: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            kept.append(connection)
            if request.param == "junk":
                with contextlib.suppress(OSError):
                    connection.sendall(b"\xff" * 64 + b"junk" * 1000)

    threading.Thread(target=serve, daemon=True).start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    for connection in kept:
        connection.close()


def build(tmp_path: Path, scheduler: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "s.yaml"
    script.write_text("title: S\nstages:\n  - name: Go\n    duration: 3\n", encoding="utf-8")
    return subprocess.run([str(VOICEGUIDE), "build", str(script), "-o", str(tmp_path / "s.mp3"),
                           "--scheduler", scheduler], capture_output=True, text=True,
                          timeout=BOUND_S)


@pytest.mark.parametrize("peer", ["silent", "junk"], indirect=True)
@pytest.mark.parametrize("scheme", ["tcp", "tls"])
def test_a_peer_that_is_not_a_scheduler_is_one_line_in_a_bounded_wait(
        tmp_path: Path, peer: str, scheme: str) -> None:
    result = build(tmp_path, f"{scheme}://{peer}")
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and peer in lines[0] and "Traceback" not in result.stderr, lines
    assert "internal error" not in lines[0] and "memory" not in lines[0]
    assert not (tmp_path / "s.mp3").exists()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786?x=1", "tcp://127.0.0.1:8786#here",
                                     "tcp://user:secret@127.0.0.1:8786", "tcp://127.0.0.1",
                                     "http://127.0.0.1:8786", "tcp://:8786"])
def test_a_malformed_address_is_a_usage_error(tmp_path: Path, address: str) -> None:
    result = build(tmp_path, address)
    assert result.returncode == 2 and "--scheduler" in result.stderr, result.stderr
    assert "secret" not in result.stderr  # a password is never echoed
    assert not (tmp_path / "s.mp3").exists()
