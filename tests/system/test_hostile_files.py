"""Hostile sound files: a disguised playlist must not make voiceguide read or fetch anything."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.audio.sounds import decode_bytes, decode_file
from voiceguide.cli import main
from voiceguide.errors import AudioError

ROOT = Path(__file__).parent.parent.parent


class Listener:
    """A local TCP port that records whether anyone connected."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()

    def settled(self) -> int:
        """The connections made, counted once the accepting thread has finished."""
        self.close()
        return self.connections


@pytest.fixture
def listener() -> Listener:
    found = Listener()
    yield found
    if found._thread.is_alive():
        found.close()


def playlist(segments: list[str]) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:10"]
    for segment in segments:
        lines += ["#EXTINF:1.0,", segment]
    return ("\n".join(lines + ["#EXT-X-ENDLIST"]) + "\n").encode()


@pytest.fixture
def hostile(tmp_path: Path, listener: Listener) -> Path:
    """``pull.mp3``: an HLS playlist whose segments are an MP3 elsewhere and a URL."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(ROOT / "sounds" / "chime.wav"),
                    str(elsewhere / "secret.mp3")], check=True, timeout=60)
    folder = tmp_path / "drill"
    folder.mkdir()
    (folder / "pull.mp3").write_bytes(playlist(
        [str(elsewhere / "secret.mp3"), f"http://127.0.0.1:{listener.port}/segment.mp3"]))
    return folder


def test_a_disguised_playlist_is_a_located_script_error_and_nothing_connects(
    hostile: Path, listener: Listener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    script = hostile / "drill.yaml"
    script.write_text("title: T\nsounds:\n  pull: pull.mp3\nstages: [{name: A, duration: 5}]\n")
    for args in (["check", str(script)], ["build", str(script), "-o", str(hostile / "o.mp3")]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == (f"{script}:3:9: sound 'pull': pull.mp3 is not a WAV, "
                                         "FLAC, OGG or MP3 file")
    assert listener.settled() == 0
    assert not (hostile / "o.mp3").exists()


def test_the_decoder_reads_nothing_but_the_bytes_it_is_given(
    hostile: Path, listener: Listener
) -> None:
    """Even told the playlist is an MP3, ffmpeg sees only stdin with its demuxer forced."""
    data = (hostile / "pull.mp3").read_bytes()
    for fmt in ("mp3", "wav", "ogg", "flac"):
        with pytest.raises(AudioError):
            decode_bytes(data, fmt, "pull.mp3")
    with pytest.raises(AudioError, match="unsupported format hls"):
        decode_bytes(data, "hls", "pull.mp3")
    assert listener.settled() == 0


def test_a_playlist_behind_an_mp3_header_is_not_followed(hostile: Path, listener: Listener) -> None:
    """An ID3 tag in front passes the sniffing; the forced MP3 demuxer still reads no playlist."""
    disguised = hostile / "tagged.mp3"
    disguised.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + (hostile / "pull.mp3").read_bytes())
    with pytest.raises(AudioError):
        decode_file(disguised)
    assert listener.settled() == 0


def test_the_listener_counts_a_decoder_that_is_allowed_to_fetch(
    hostile: Path, listener: Listener
) -> None:
    """The control for the tests above: the same playlist, with ffmpeg allowed to follow it,
    does reach the listener, so a count of zero there means nothing connected."""
    subprocess.run(["ffmpeg", "-v", "quiet", "-protocol_whitelist", "file,http,tcp",
                    "-f", "hls", "-i", str(hostile / "pull.mp3"), "-f", "null", "-"],
                   timeout=60, check=False)
    assert listener.settled() >= 1


@pytest.mark.parametrize(("content", "message"), [
    (b"RIFF\x24\x00\x00\x00WAVE" + bytes(range(32)), "cannot be decoded"),
    (b"<html><body>not audio</body></html>", "is not a WAV, FLAC, OGG or MP3 file"),
    (b"", "is not a WAV, FLAC, OGG or MP3 file"),
])
def test_damaged_or_foreign_files_are_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=message):
        decode_file(path)


def test_symlinks_and_dot_dot_must_stay_in_the_script_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "drill"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(ROOT / "sounds" / "chime.wav", tmp_path / "outside.wav")
    shutil.copy(ROOT / "sounds" / "chime.wav", folder / "inside.wav")
    (folder / "link.wav").symlink_to(tmp_path / "outside.wav")
    (folder / "sub" / "ok.wav").symlink_to(folder / "inside.wav")
    script = folder / "drill.yaml"
    script.write_text("title: T\nsounds:\n  a: link.wav\n  b: ../outside.wav\n"
                      "  c: sub/../../outside.wav\n  d: sub/ok.wav\n  e: ./sub/../inside.wav\n"
                      "stages: [{name: A, duration: 5}]\n")
    result = CliRunner().invoke(main, ["check", str(script)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{script}:3:6: sound path 'link.wav' leads outside the script's folder",
        f"{script}:4:6: sound path '../outside.wav' leads outside the script's folder",
        f"{script}:5:6: sound path 'sub/../../outside.wav' leads outside the script's folder",
    ]


def test_control_plain_ffmpeg_does_follow_the_playlist(hostile: Path) -> None:
    """Shows the hazard is real here: ffmpeg left to guess the format reads the other file."""
    done = subprocess.run(["ffmpeg", "-v", "info", "-i", str(hostile / "pull.mp3"), "-f", "null",
                           "-"], capture_output=True, text=True, timeout=60, check=False)
    assert "secret.mp3' for reading" in done.stderr
