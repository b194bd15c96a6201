"""Hostile and careless input: one-line errors, nothing injected, nothing lost, bounded cost.

Each kind of failure a careless user or a hostile script author can cause is
tried for real: real builds, real files, real signals and real processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unicodedata
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from waiting import alive, children, until

from voiceguide import scratch
from voiceguide.cli import main
from voiceguide.errors import ScriptError
from voiceguide.mp3.islands import PcmFrames
from voiceguide.mp3.writer import write_mp3
from voiceguide.plan import Chapter
from voiceguide.script import parse_script
from voiceguide.store import Entries

SHORT = "title: T\nstages:\n  - name: A\n    duration: 5\n    say: Go.\n"


pytestmark = pytest.mark.usefixtures("private_cache")  # see conftest.py


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def write(folder: Path, text: str = SHORT, name: str = "drill.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def voiceguide(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
               **popen: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voiceguide", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120, check=False, **popen)


def one_line(err: str, code: int, expected_code: int, *parts: str) -> None:
    assert code == expected_code, err
    assert "internal error" not in err and "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    for part in parts:
        assert part in err, err


# ---------------------------------------------------------------------------
# 1. Errors nothing caught


@pytest.mark.parametrize(("yaml_text", "expected"), [
    ('title: "A\\ud800"\nstages: [{name: A, duration: 5}]\n',
     "1:8: this text contains the unpaired surrogate U+D800"),
    ("title: T\nstages: [{name: A, duration: !!int 1e3}]\n",
     "is not a valid !!int"),
    ("title: T\nstages: [{name: A, duration: !!float x}]\n",
     "is not a valid !!float"),
])
def test_values_no_one_caught_are_located_errors(tmp_path: Path, yaml_text: str,
                                                 expected: str) -> None:
    code, _, err = run("check", str(write(tmp_path, yaml_text)))
    one_line(err, code, 2, expected)


@pytest.mark.parametrize("text", ["\\u200b\\u200d", "🏃🏃", "…!?", "\\u2060 \\ufeff"])
def test_a_text_with_nothing_to_pronounce_is_the_scripts_problem(tmp_path: Path,
                                                                 text: str) -> None:
    script = write(tmp_path, SHORT.replace("say: Go.", f'say: ["Go.", "{text}"]'))
    code, _, err = run("check", str(script))
    one_line(err, code, 2, "drill.yaml:5:18: this text has nothing to pronounce")
    script = write(tmp_path, SHORT.replace("say: Go.", "say: Go.\n    announce: '🏃'"))
    code, _, err = run("check", str(script))
    one_line(err, code, 2, "drill.yaml:6:15: this text has nothing to pronounce")


def test_placeholders_and_digits_alone_are_pronounceable(tmp_path: Path) -> None:
    script = write(tmp_path, SHORT.replace("say: Go.", 'say: ["{name}", "3 2 1"]'))
    code, _, err = run("plan", str(script), "--engine", "espeak-ng")
    assert code == 0, err


def test_out_of_memory_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from voiceguide import session

    def plan(*args: object) -> None:
        bytearray(1 << 62)  # more than any machine has: Python's own MemoryError

    monkeypatch.setattr(session, "plan", plan)
    code, _, err = run("plan", str(write(tmp_path)))
    one_line(err, code, 1, "out of memory", "raise the memory limit")



def test_a_libraries_failed_allocation_is_memory_running_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime's own exception for a model it could not load names the cause only in
    its message; any other failure is not the machine's."""
    from voiceguide import errors

    monkeypatch.setattr(errors, "memory_limit_mb", lambda: None)

    class Fail(Exception):  # onnxruntime's: neither a MemoryError nor a RuntimeError
        pass

    assert errors.out_of_memory(Fail("[ONNXRuntimeError] : 1 : FAIL : Load model from "
                                     "hibari.onnx failed:std::bad_alloc"))
    assert errors.out_of_memory(MemoryError())
    assert not errors.out_of_memory(Fail("[ONNXRuntimeError] : 1 : FAIL : bad model"))
    assert not errors.out_of_memory(RuntimeError("no limit: not the machine's"))

NATURAL = ("title: T\nvoices: {c: {engine: hibari, voice: heart}}\nvoice: c\n"
           "stages: [{name: A, duration: 5, say: Steady now.}]\n")


@contextlib.contextmanager
def busy_cores() -> Iterator[None]:
    """Every core kept busy meanwhile (a memory floor that held only on a quiet machine
    failed here: a busy allocator hands threads arenas of their own)."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(timeout=30)


def limited_run(megabytes: int, *args: str, env: dict[str, str]) -> tuple[int, str]:
    """voiceguide in a process whose address space is limited, as ``ulimit -v`` does."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes * 2**20, megabytes * 2**20))

    done = subprocess.run([sys.executable, "-m", "voiceguide", *args], preexec_fn=limit,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    return done.returncode, done.stderr


def test_a_memory_limit_too_small_to_start_is_one_line_before_any_work(tmp_path: Path) -> None:
    from voiceguide.cli import MIN_MEMORY_MB

    script = write(tmp_path)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    code, err = limited_run(120, "build", str(script), "-o", str(tmp_path / "a.mp3"), env=env)
    one_line(err, code, 1, f"needs at least {MIN_MEMORY_MB} MB", "limit of 120 MB")
    assert not (tmp_path / "a.mp3").exists() and not (tmp_path / "cache").exists()
    # and that much is enough for a build with espeak-ng, from a cold cache, on a machine
    # kept busy on every core meanwhile (a floor that held only on a quiet one failed here)
    with busy_cores():
        for n in range(3):
            code, err = limited_run(MIN_MEMORY_MB, "build", str(script), "--engine",
                                    "espeak-ng", "-o", str(tmp_path / f"b{n}.mp3"),
                                    env={**env, "XDG_CACHE_HOME": str(tmp_path / f"c{n}")})
            assert code == 0, err
            assert (tmp_path / f"b{n}.mp3").stat().st_size > 0


def test_a_natural_voice_short_of_memory_is_one_line_before_it_starts(tmp_path: Path) -> None:
    """Under the least voiceguide starts with, the natural voice does not fit: the build
    says so in the machine's one line, at once, without starting hibari's worker (which
    under such a limit ran out of memory in ever different places, or hung)."""
    from voiceguide.cli import MIN_MEMORY_MB
    from voiceguide.speech.hibari_engine import MIN_MEMORY_MB as NATURAL_MB

    assert MIN_MEMORY_MB < NATURAL_MB
    script = write(tmp_path, NATURAL)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for limit in (MIN_MEMORY_MB, NATURAL_MB - 1):
        code, err = limited_run(limit, "build", str(script), "-o", str(tmp_path / "a.mp3"),
                                env=env)
        one_line(err, code, 1, f"natural voice needs at least {NATURAL_MB} MB",
                 f"limit of {limit} MB", "raise the limit")
        assert not (tmp_path / "a.mp3").exists()


def test_the_natural_voice_speaks_at_its_floor_on_a_busy_machine(tmp_path: Path) -> None:
    """The floor is enough: cold builds with the natural voice under it succeed while every
    core is kept busy; and once its clips are kept, the build needs only voiceguide's own."""
    from voiceguide.cli import MIN_MEMORY_MB
    from voiceguide.speech.hibari_engine import MIN_MEMORY_MB as NATURAL_MB

    script = write(tmp_path, NATURAL)
    with busy_cores():
        for n in range(2):
            env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / f"c{n}")}
            code, err = limited_run(NATURAL_MB, "build", str(script), "-o",
                                    str(tmp_path / f"b{n}.mp3"), env=env)
            assert code == 0, err
    code, err = limited_run(MIN_MEMORY_MB, "build", str(script), "-o", str(tmp_path / "w.mp3"),
                            env=env)
    assert code == 0, err
    assert (tmp_path / "w.mp3").read_bytes() == (tmp_path / "b0.mp3").read_bytes()


def test_publish_refuses_a_script_name_that_is_not_utf8(tmp_path: Path) -> None:
    name = os.fsdecode(b"bad\xff.yaml")
    script = write(tmp_path, name=name)
    code, _, err = run("publish", str(script), "--to", str(tmp_path / "site"))
    assert code == 2 and "not printable UTF-8" in err and "Traceback" not in err
    assert not (tmp_path / "site").exists()


def test_a_symlink_loop_among_sounds(tmp_path: Path) -> None:
    (tmp_path / "a.wav").symlink_to("b.wav")
    (tmp_path / "b.wav").symlink_to("a.wav")
    script = write(tmp_path, SHORT.replace("stages:", "sounds: {a: a.wav}\nstages:"))
    code, _, err = run("check", str(script))
    one_line(err, code, 2, "2:13: sound path 'a.wav' cannot be followed")


def test_a_cache_home_that_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    code, _, err = run("check", str(write(tmp_path)))
    one_line(err, code, 1, "needs", "to be a folder", "XDG_CACHE_HOME")


@pytest.fixture
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder anyone may use (pytest's own are private to their owner)."""
    folder = Path(tempfile.mkdtemp(prefix="vg-shared-", dir="/tmp"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def as_stranger(command: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """*command* as a user with no passwd entry and no HOME (root drops to uid 54321).

    The stranger may read and search every folder (CAP_DAC_READ_SEARCH, as a user who
    installed voiceguide may read the installation), so a checkout in a private folder
    such as root's home still runs; writing is checked as for any user, and writing is
    what these tests are about."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become a user without a passwd entry")
    clean = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    reader = ["--inh-caps", "+dac_read_search", "--ambient-caps", "+dac_read_search"]
    return subprocess.run(["setpriv", "--reuid", "54321", "--regid", "54321", "--clear-groups",
                           *reader, *command], capture_output=True, text=True, timeout=120,
                          env={**clean, **env}, cwd=tmp_path, check=False)


def test_no_home_and_no_passwd_entry(shared: Path) -> None:
    tmp_path = shared
    script = write(tmp_path)
    script.chmod(0o644)
    done = as_stranger([sys.executable, "-m", "voiceguide", "check", str(script)], tmp_path)
    one_line(done.stderr, done.returncode, 1, "no home folder", "XDG_CACHE_HOME")


def test_cache_clear_on_a_cache_it_may_not_change(shared: Path) -> None:
    tmp_path = shared
    cache = tmp_path / "cache"
    (cache / "voiceguide" / "speech" / "ab").mkdir(parents=True)
    (cache / "voiceguide" / "speech" / "ab" / ("ab" + "0" * 62 + ".clip")).write_bytes(b"x")
    done = as_stranger([sys.executable, "-m", "voiceguide", "cache", "clear"], tmp_path,
                       XDG_CACHE_HOME=str(cache))
    one_line(done.stderr, done.returncode, 1, "cannot clear the speech cache")
    assert list((cache / "voiceguide" / "speech" / "ab").iterdir())  # nothing half-removed


@pytest.mark.parametrize("make", ["file", "read-only"])
def test_the_default_output_folder_unusable(shared: Path, make: str) -> None:
    tmp_path = shared
    write(tmp_path)
    if make == "file":
        (tmp_path / "output").write_text("not a folder")
        done = voiceguide("build", "drill.yaml", cwd=tmp_path)
        one_line(done.stderr, done.returncode, 1, "cannot use the default output folder output")
    else:
        (tmp_path / "output").mkdir(mode=0o555)
        done = as_stranger([sys.executable, "-m", "voiceguide", "build", "drill.yaml"], tmp_path,
                           XDG_CACHE_HOME=str(tmp_path / "c"))
        one_line(done.stderr, done.returncode, 1, "permission denied")


def test_plan_into_a_full_disk(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "voiceguide", "plan", str(write(tmp_path)),
                               "--json"], stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=120, check=False)
    one_line(done.stderr, done.returncode, 1, "No space left on device")


def wav_header(rate: int, frames: int = 100) -> bytes:
    """A WAV file whose header claims *rate* Hz."""
    import io

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x10\x20" * frames)
    return out.getvalue()


@pytest.mark.parametrize(("rate", "frames", "expected"), [
    (2_000_000_000, 2000, "sample rate of 2,000,000,000 Hz"),
    (1, 2000, "sample rate of 1 Hz"),
])
def test_a_sound_whose_header_lies_is_refused(tmp_path: Path, rate: int, frames: int,
                                              expected: str) -> None:
    """Refused from its header (how fast: benchmarks/hostile_cost.py, which times it)."""
    (tmp_path / "s.wav").write_bytes(wav_header(rate, frames))
    script = write(tmp_path, SHORT.replace("stages:", "sounds: {s: s.wav}\nstages:"))
    done = voiceguide("check", str(script))
    one_line(done.stderr, done.returncode, 2, expected)


# ---------------------------------------------------------------------------
# 2. Script text that reaches places it must not


def test_names_cannot_inject_chapters(tmp_path: Path) -> None:
    hostile = 'name: "Warm up\\0\\n[CHAPTER]\\nTIMEBASE=1/1000\\nSTART=1\\nEND=2\\ntitle=evil"'
    code, _, err = run("check", str(write(tmp_path, SHORT.replace("name: A", hostile))))
    one_line(err, code, 2, "3:11: this text contains the control character U+0000")
    # the MP3 writer cleans on its own too, whatever reaches it: ffmpeg reads one chapter
    title = "x\0y\n[CHAPTER]\rz=1;#"
    target = tmp_path / "one.mp3"
    write_mp3(PcmFrames([bytes(2 * 44100)]), target, tags={"title": title}, chapters=[Chapter(title, 0, 1000)])
    chapters = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(target)],
        capture_output=True, text=True, check=True).stdout)["chapters"]
    assert len(chapters) == 1
    assert chapters[0]["tags"]["title"] == "x\ufffdy\n[CHAPTER]\ufffdz=1;#"


def test_text_fields_keep_what_the_author_wrote(tmp_path: Path) -> None:
    script = write(tmp_path, "title: 1.50\nstages:\n  - name: 3:2\n    duration: 060\n")
    code, out, err = run("plan", str(script), "--json")
    assert code == 0, err
    assert '"title": "1.50"' in out and '"Stage 1: 3:2"' in out and '"end_s": 60.0' in out


@pytest.mark.parametrize("value", ['"a\\nb"', '"tab\\tok\\rno"', '"\\e[2J"', '"\\x9b31m"'])
def test_control_characters_in_names_are_located_errors(tmp_path: Path, value: str) -> None:
    code, _, err = run("check", str(write(tmp_path, SHORT.replace("name: A", f"name: {value}"))))
    assert code == 2
    assert err.startswith(f"{tmp_path / 'drill.yaml'}:3:11: this text contains")
    assert "\x1b" not in err and "\x9b" not in err and len(err.splitlines()) == 1


def test_escape_sequences_never_reach_the_terminal(tmp_path: Path) -> None:
    script = write(tmp_path, '"\\e]0;owned\\a\\e[2J": 1\n' + SHORT)
    code, _, err = run("check", str(script))
    assert code == 2
    assert "\x1b" not in err and "\x07" not in err
    assert "unknown key '\\x1b]0;owned\\x07\\x1b[2J'" in err


def test_a_script_cannot_run_programs_without_the_users_consent(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    program = [sys.executable, "-c", f"open({str(marker)!r}, 'w'); raise SystemExit(1)",
               "{output}"]
    argv = ", ".join(repr(a) for a in program)
    script = write(tmp_path, SHORT.replace(
        "stages:", f"voices: {{c: {{engine: command, command: [{argv}]}}}}\nvoice: c\nstages:"))
    for command in ("check", "plan", "build"):
        code, _, err = run(command, str(script), *(["-o", str(tmp_path / "o.mp3")]
                                                    if command == "build" else []))
        one_line(err, code, 2, "2:13: voice profile 'c' would run the program",
                 "--allow-commands")
    assert not marker.exists() and not (tmp_path / "o.mp3").exists()
    code, _, err = run("check", str(script), "--allow-commands")
    assert code == 1 and marker.exists()  # allowed: it ran (and failed, as written)


def _title_and_name(quoted: str) -> bytes:
    return f"title: {quoted}\nstages:\n  - name: {quoted}\n    duration: 5\n".encode()


WRITABLE = st.characters(categories=["L", "M", "N", "P", "S", "Zs"])  # no controls or surrogates


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(WRITABLE, min_size=1, max_size=40).filter(str.strip))
def test_any_writable_text_in_any_field_is_kept_as_written(text: str) -> None:
    """Letters, marks, digits, punctuation, symbols and spaces of any script: every example
    is accepted and comes back exactly as written (bar the spaces around it)."""
    script = parse_script(_title_and_name(json.dumps(text, ensure_ascii=False)), Path("d.yaml"))
    assert script.title == text.strip() == script.stages[0].name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40).filter(lambda t: any(unicodedata.category(c)[0] == "C" for c in t)))
def test_text_with_control_or_unpaired_characters_is_refused_in_one_clean_line(text: str) -> None:
    """Every example holds a control, format, surrogate or unassigned character (escaped as
    YAML allows): it is kept, or refused at its line in one line that shows no control."""
    try:
        script = parse_script(_title_and_name(json.dumps(text)), Path("d.yaml"))
    except ScriptError as exc:
        assert exc.problems and all(p.line in (1, 3) for p in exc.problems)
        assert all("\n" not in str(p) and "\x1b" not in str(p) for p in exc.problems)
        return
    assert script.title == text.strip() == script.stages[0].name


# ---------------------------------------------------------------------------
# 3. Output paths that would destroy things


def test_two_scripts_into_one_file_are_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = write(tmp_path / "a"), write(tmp_path / "b")
    code, _, err = run("build", str(first), str(second), "-o", str(tmp_path))
    assert code == 2 and "would both be written to" in err
    assert not (tmp_path / "drill.mp3").exists()


def test_the_output_cannot_be_the_script(tmp_path: Path) -> None:
    script = write(tmp_path)
    code, _, err = run("build", str(script), "-o", str(script))
    assert code == 2 and "is the script" in err
    assert script.read_text(encoding="utf-8") == SHORT


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_special_files_are_never_replaced(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target.mp3"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/null")
    code, _, err = run("build", str(write(tmp_path)), "-o", str(target))
    assert code == 2 and "is not a regular file" in err
    assert target.is_fifo() if kind == "fifo" else os.readlink(target) == "/dev/null"


def test_a_read_only_file_is_not_replaced(shared: Path) -> None:
    tmp_path = shared
    target = tmp_path / "kept.mp3"
    target.write_bytes(b"precious")
    target.chmod(0o444)
    done = as_stranger([sys.executable, "-m", "voiceguide", "build", str(write(tmp_path)), "-o",
                        str(target)], tmp_path, XDG_CACHE_HOME=str(tmp_path / "c"))
    one_line(done.stderr, done.returncode, 1, "is read-only")
    assert target.read_bytes() == b"precious"


def test_a_symlink_target_updates_the_file_it_points_to(tmp_path: Path) -> None:
    (tmp_path / "sessions").mkdir()
    real = tmp_path / "sessions" / "real.mp3"
    real.write_bytes(b"old")
    link = tmp_path / "link.mp3"
    link.symlink_to(real)
    code, out, err = run("build", str(write(tmp_path)), "-o", str(link))
    assert code == 0, err
    assert link.is_symlink() and real.read_bytes()[:3] == b"ID3"
    assert out == f"{real}\n"


def test_an_output_name_that_looks_like_a_protocol(tmp_path: Path) -> None:
    write(tmp_path)
    done = voiceguide("build", "drill.yaml", "-o", "5:00.mp3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "5:00.mp3").read_bytes()[:3] == b"ID3"


def test_a_killed_build_leaves_no_scratch_folder_behind(tmp_path: Path) -> None:
    """SIGKILL while the speech engine works: the next build removes its scratch folders."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    long = SHORT.replace("say: Go.", "say: [" + ", ".join(
        f"Sentence {n} keeps the engine busy for a while" for n in range(40)) + "]")
    long = long.replace("duration: 5", "duration: 600")
    env = {**os.environ, "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(tmp_path / "c")}
    process = subprocess.Popen([sys.executable, "-m", "voiceguide", "check",
                                str(write(tmp_path, long))], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    until(lambda: process.poll() is not None
          or any(p.name.startswith("voiceguide-") for p in tmp.iterdir()),
          "the check to make its scratch folder")
    assert process.poll() is None
    workers = children(process.pid)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    left = [p for p in tmp.iterdir() if p.name.startswith(scratch.PREFIX)]
    assert left  # the kill left them
    until(lambda: not any(alive(w) for w in workers), "the killed check's workers to end")
    done = voiceguide("build", str(write(tmp_path)), "-o", str(tmp_path / "o.mp3"), env=env)
    assert done.returncode == 0, done.stderr
    assert [p for p in tmp.iterdir() if p.name.startswith(scratch.PREFIX)] == []


def test_a_zombie_counts_as_gone_to_the_sweep(tmp_path: Path) -> None:
    """A process that has ended but whose status nobody read (a killed build's worker
    where no init reaps orphans) leaves scratch folders that the next build removes."""
    pid = os.fork()
    if pid == 0:  # the child: ends at once, and is not waited for until the end
        os._exit(0)
    try:
        until(lambda: Path(f"/proc/{pid}/stat").read_bytes().rpartition(b")")[2].split()[0]
              == b"Z", "the child to end")
        left = tmp_path / f"{scratch.PREFIX}{pid}-abcdefgh"
        left.mkdir()
        mine = tmp_path / f"{scratch.PREFIX}{os.getpid()}-abcdefgh"
        mine.mkdir()
        assert scratch.alive(os.getpid()) and not scratch.alive(pid)
        assert scratch.sweep(tmp_path) == [left]
        assert mine.is_dir()  # a live process's folder stays
    finally:
        os.waitpid(pid, 0)


def test_sighup_stops_a_build_like_sigterm(tmp_path: Path) -> None:
    long = SHORT.replace("duration: 5", "duration: 3600")
    target = tmp_path / "o.mp3"
    target.write_bytes(b"earlier")
    process = subprocess.Popen([sys.executable, "-m", "voiceguide", "build",
                                str(write(tmp_path, long)), "-o", str(target)],
                               stderr=subprocess.PIPE, text=True)
    until(lambda: process.poll() is not None or any(
        p.stat().st_size > 0 for p in tmp_path.glob(".o.mp3.*.tmp")), "the build to write")
    assert process.poll() is None
    process.send_signal(signal.SIGHUP)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and err.strip() == "voiceguide: terminated"
    assert target.read_bytes() == b"earlier"
    until(lambda: not list(tmp_path.glob(".o.mp3.*")), "the temporary file to go")


# ---------------------------------------------------------------------------
# 4. Cost in proportion to the input


# Starts voiceguide from a small Python of its own and reports its peak memory: a process
# forked from this big test process would count the test's own memory as its peak (Linux
# keeps the high-water mark of the image an exec replaces), whatever voiceguide did.
_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
os.write(int(sys.argv[1]), f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}".encode())
"""


def measured(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run voiceguide; its result and the peak memory (MB) of it and what it waited for,
    from its own rusage (wait4), started from a process that is small itself."""
    read, write = os.pipe()
    try:
        done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(write), sys.executable,
                               "-m", "voiceguide", *args], text=True, capture_output=True,
                              pass_fds=(write,), timeout=300, check=False)
    finally:
        os.close(write)
    with os.fdopen(read) as report:
        code, peak_kb = report.read().split()
    return subprocess.CompletedProcess(done.args, int(code), done.stdout, done.stderr), \
        int(peak_kb) / 1024


def test_reading_dev_zero_is_bounded() -> None:
    done = voiceguide("check", "/dev/zero")
    one_line(done.stderr, done.returncode, 2, "/dev/zero:1:1: the file is too large: drill scripts are at most 1,000,000 bytes")


def test_hours_of_silence_in_a_small_file_are_refused(tmp_path: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono",
                    "-t", "36000", "-c:a", "flac", str(tmp_path / "s.flac")], check=True)
    assert (tmp_path / "s.flac").stat().st_size < 10_000_000
    script = write(tmp_path, SHORT.replace("stages:", "sounds: {s: s.flac}\nstages:"))
    done, peak_mb = measured("check", str(script))
    one_line(done.stderr, done.returncode, 2, "s.flac lasts more than 5 minutes")
    assert peak_mb < 500


def test_too_much_text_is_refused_before_any_speech(tmp_path: Path) -> None:
    lines = [f"  - Sentence {n} is one of very many that no session could ever say out loud."
             for n in range(2500)]
    script = write(tmp_path, "title: T\nintro:\n" + "\n".join(lines) + SHORT[8:])
    cache = tmp_path / "cold"
    done = voiceguide("check", str(script), env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    one_line(done.stderr, done.returncode, 2, "add up to more than 150,000 characters")
    assert not (cache / "voiceguide" / "speech").exists()  # nothing was synthesised


# ---------------------------------------------------------------------------
# 5. Cache entries must prove they belong to their key


def test_a_swapped_cache_entry_is_remade(tmp_path: Path) -> None:
    cache = Entries(tmp_path / "speech")
    cache.put("a" * 64, b"clip for a")
    cache.put("b" * 64, b"clip for b")
    entry_a = cache.folder / "aa" / ("a" * 64 + ".clip")
    entry_b = cache.folder / "bb" / ("b" * 64 + ".clip")
    entry_b.write_bytes(entry_a.read_bytes())  # a whole, valid entry, under the wrong key
    assert cache.get("a" * 64) == b"clip for a"
    assert cache.get("b" * 64) is None and not entry_b.exists()


def test_swapped_entries_do_not_change_a_build(tmp_path: Path) -> None:
    script = write(tmp_path, SHORT.replace("say: Go.", "say: [Go., Stop., Again.]")
                   .replace("duration: 5", "duration: 15"))
    cache = tmp_path / "c"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    first = voiceguide("build", str(script), "-o", str(tmp_path / "1.mp3"), env=env)
    assert first.returncode == 0, first.stderr
    entries = sorted((cache / "voiceguide" / "speech").glob("??/*.clip"))
    assert len(entries) >= 3
    blobs = [e.read_bytes() for e in entries]
    for entry, blob in zip(entries, blobs[1:] + blobs[:1], strict=True):
        entry.write_bytes(blob)  # every entry now holds another's whole, valid content
    second = voiceguide("build", str(script), "-o", str(tmp_path / "2.mp3"), env=env)
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "1.mp3").read_bytes() == (tmp_path / "2.mp3").read_bytes()


@pytest.mark.parametrize(("args", "script_name", "message"), [
    (["-o", "{dir}/talk.vtt", "--vtt"], "drill.yaml", "would write two of its files to"),
    (["-o", "{dir}/session.mp3", "--vtt"], "session.vtt", "is the script"),
    (["-o", "{dir}/drill.mp3", "--split"], "drill", "is the script"),
])
def test_no_output_of_a_build_lands_on_a_script_or_another_output(
        tmp_path: Path, args: list[str], script_name: str, message: str) -> None:
    script = write(tmp_path, name=script_name)
    before = script.read_bytes()
    code, _, err = run("build", str(script), *[a.format(dir=tmp_path) for a in args])
    assert code == 2 and message in err and "Traceback" not in err
    assert script.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [script_name]


def test_plan_svg_never_replaces_the_script(tmp_path: Path) -> None:
    script = write(tmp_path)
    code, _, err = run("plan", str(script), "--svg", str(script))
    one_line(err.splitlines()[-1], code, 2, "--svg", "is the script")
    assert script.read_text(encoding="utf-8") == SHORT


def test_an_unwritable_transcript_is_refused_before_the_mp3_is_replaced(tmp_path: Path) -> None:
    target = tmp_path / "kept.mp3"
    target.write_bytes(b"the earlier session")
    (tmp_path / "kept.vtt").mkdir()
    code, _, err = run("build", str(write(tmp_path)), "-o", str(target), "--vtt")
    assert code == 2 and "kept.vtt is not a regular file" in err
    assert target.read_bytes() == b"the earlier session"


def test_a_junk_cache_limit_is_refused_before_any_work(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEGUIDE_CACHE_LIMIT", "lots")
    target = tmp_path / "s.mp3"
    code, _, err = run("build", str(write(tmp_path)), "-o", str(target))
    one_line(err, code, 2, "VOICEGUIDE_CACHE_LIMIT='lots'")
    assert not target.exists()


def test_a_bad_stage_reused_through_aliases_is_reported_once_per_problem(tmp_path: Path) -> None:
    blocks = "".join("  - repeat: 2\n    stages: [*b, *b, *b]\n" for _ in range(20))
    script = write(tmp_path, "title: T\nx-bad: &b {name: X, duration: -5, cues: "
                   "[{at: 1, sayy: x}]}\nstages:\n" + blocks)
    code, _, err = run("check", str(script))
    lines = err.splitlines()
    assert code == 2 and len(lines) == len(set(lines)) == 4, err
    for part in ("unknown key 'x-bad'", "a duration must be more than 0 s",
                 "a cue needs 'say', 'sound' or both", "unknown key 'sayy' in a cue"):
        assert sum(part in line for line in lines) == 1, (part, err)
    assert all(f"{script}:2:" in line for line in lines)


def test_every_problem_of_a_stage_is_reported_even_without_a_name(tmp_path: Path) -> None:
    script = write(tmp_path, "title: on\nstages:\n  - name: yes\n    duration: 5\n    say: no\n")
    code, _, err = run("check", str(script))
    assert code == 2
    assert [line.split(": ", 1)[0].split(":", 1)[1] for line in err.splitlines()] == [
        "1:8", "3:11", "5:10"]


def test_publish_names_the_script_its_warnings_are_about(tmp_path: Path) -> None:
    waits = SHORT.replace("say: Go.", "say: Go.\n    cues: [{at: 0.5, say: Now.}]")
    script = write(tmp_path, waits, "waits.yaml")
    code, _, err = run("publish", str(script), "--to", str(tmp_path / "site"), "--engine",
                       "espeak-ng")
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings and all(line.startswith(f"warning: {script}: ") for line in warnings)


@pytest.mark.parametrize("name", ["feed.xml", "index.html", "player.js", "drill.vtt",
                                  "drill.svg"])
def test_publish_never_writes_over_a_script_in_its_folder(tmp_path: Path, name: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    script = write(site, name=name)
    code, _, err = run("publish", str(script), "--to", str(site))
    assert code == 2 and "is the script" in err
    assert script.read_text(encoding="utf-8") == SHORT and sorted(site.iterdir()) == [script]


@pytest.mark.parametrize(("yaml_text", "where", "limit"), [
    ("title: T\nstages:\n  - repeat: 100\n    stages:\n      - name: A\n        duration: 7m\n"
     "        cues:\n          - {every: 0.05, say: x}\n", "8:13", "more than 20,000 cues"),
    ("title: T\nstages:\n  - repeat: 20\n    stages:\n      - name: A\n        duration: 12m\n"
     "        cues:\n          - {every: 4, say: '{elapsed} gone, {remaining} to go in stage "
     "{number} of {stages}.'}\n", "8:29", "more than 150,000 different characters"),
])
def test_a_small_script_that_would_produce_too_much_is_refused_at_once(
        tmp_path: Path, yaml_text: str, where: str, limit: str) -> None:
    """What a script produces is bounded, not only what it says: these few hundred bytes
    would make hundreds of thousands of cues, or hours of different words."""
    assert len(yaml_text) < 400
    script = write(tmp_path, yaml_text)
    done = voiceguide("check", str(script), "--engine", "espeak-ng")
    one_line(done.stderr, done.returncode, 2, f"drill.yaml:{where}:", limit)
