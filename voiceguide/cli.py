"""voiceguide's command line: a thin layer over ``voiceguide.session``.

Each command parses its options, calls one function and prints. Every
``VoiceguideError`` becomes one line on stderr and an exit status (2 for an
invalid script or usage, 1 for anything else); Ctrl-C exits 130 and SIGTERM
143, without a traceback. ``--debug`` shows tracebacks of real bugs.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from voiceguide import __version__, builtins, defaults, engines
from voiceguide.durations import DurationError, clock, parse_duration
from voiceguide.errors import (
    OutputError,
    ScriptError,
    Terminated,
    UsageError,
    VoiceguideError,
    memory_limit_mb,
    out_of_memory,
    shown,
)

ALLOW_COMMANDS_ENV = "VOICEGUIDE_ALLOW_COMMANDS"
MIN_MEMORY_MB = 256  # a build with espeak-ng, measured: 180 MB of address space (2 cores)
OUT_OF_MEMORY = ("voiceguide: out of memory; close other programs, or raise the memory limit "
                 "(ulimit -v) this command runs under")
PACE_HELP = "Where each duration range resolves: 0 = shortest, 1 = longest."


class _Group(click.Group):
    """Turns voiceguide's errors into one clean line and the right exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        for signum in (signal.SIGTERM, signal.SIGHUP):  # a closed terminal stops a build too
            signal.signal(signum, _on_sigterm)
        if hasattr(signal, "SIGXFSZ"):  # over a file-size limit, a write fails like a full disk
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        # One BLAS thread: voiceguide runs its own work on every core, and OpenBLAS's own
        # threads would only reserve memory (and end the process when they cannot).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        limit = memory_limit_mb()
        if limit is not None and limit < MIN_MEMORY_MB:
            _line(f"voiceguide: needs at least {MIN_MEMORY_MB} MB of memory to start, and this "
                  f"command runs under a limit of {limit} MB (ulimit -v): raise the limit",
                  err=True)
            ctx.exit(1)
        try:
            return super().invoke(ctx)
        except ScriptError as exc:
            for problem in exc.problems:
                _line(str(problem), err=True)
            ctx.exit(exc.exit_code)
        except VoiceguideError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            _line(f"voiceguide: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Aborted!", err=True)
            ctx.exit(130)
        except Terminated:
            click.echo("voiceguide: terminated", err=True)
            ctx.exit(143)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort,
                BrokenPipeError):
            raise  # click's own; a closed stdout is handled by run()
        except OSError as exc:  # the machine: a full disk, a folder that is a file, ...
            if ctx.obj and ctx.obj.get("debug"):
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            _line(f"voiceguide: {exc.strerror or exc}{where}; check the disk and the folders "
                  "voiceguide writes to", err=True)
            ctx.exit(1)
        except MemoryError:  # the machine, or a limit set on it (ulimit -v, a container)
            if ctx.obj and ctx.obj.get("debug"):
                raise
            _line(OUT_OF_MEMORY, err=True)
            ctx.exit(1)
        except Exception as exc:  # a bug: one line by default, the traceback with --debug
            if ctx.obj and ctx.obj.get("debug"):
                raise
            if out_of_memory(exc):
                # under a memory limit, a library that cannot map itself fails to import and
                # a thread without a stack fails to start: the machine, not a bug
                _line(OUT_OF_MEMORY, err=True)
                ctx.exit(1)
            _line(f"voiceguide: internal error ({type(exc).__name__}: {exc}); run again "
                       "with --debug for the traceback and please report it", err=True)
            ctx.exit(1)


def _line(text: str, err: bool = False) -> None:
    """One line of output with control characters shown escaped (see ``shown``)."""
    click.echo(shown(text), err=err)


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


# ---------------------------------------------------------------------------
# Option types: validated at the edge, failing with click's usage errors (exit 2)


class DurationType(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration(value)
        except DurationError as exc:
            self.fail(str(exc), param, ctx)


class PaceType(click.ParamType):
    name = "P"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        try:
            pace = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number between 0 and 1", param, ctx)
        if not 0 <= pace <= 1:
            self.fail(f"{value} is not between 0 and 1", param, ctx)
        return pace


class RateType(click.ParamType):
    """``WPM`` for the default voice, or ``NAME=WPM`` for a named profile."""

    name = "[NAME=]WPM"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str | None, float]:
        if isinstance(value, tuple):
            return value
        name, _, number = value.rpartition("=")
        try:
            rate = float(number)
        except ValueError:
            self.fail(f"{value!r} is not a rate in words per minute (e.g. 160 or coach=160)",
                      param, ctx)
        if not 0 < rate <= 1000:
            self.fail(f"rate {number} is not between 0 and 1000 words per minute", param, ctx)
        return (name or None), rate


class VoiceType(click.ParamType):
    """``ID`` (or a profile name) for the default voice, or ``NAME=ID`` for a profile."""

    name = "[NAME=]ID"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[str | None, str]:
        if isinstance(value, tuple):
            return value
        name, sep, voice = value.partition("=")
        if not sep:
            return None, value
        if not name or not voice:
            self.fail(f"{value!r}: write ID, or NAME=ID to change a voice profile", param, ctx)
        return name, voice


def _build_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``build``, ``plan`` and ``check`` share."""
    options = [
        click.option("--pace", type=PaceType(), help=PACE_HELP),
        click.option("--length", "length", type=DurationType(),
                     help="Choose the pace whose session length is closest to this (e.g. 20m)."),
        click.option("--voice", "voices", type=VoiceType(), multiple=True,
                     help="The default voice (an engine voice id or a profile name), or "
                     "NAME=ID to change a profile's voice. Repeatable."),
        click.option("--rate", "rates", type=RateType(), multiple=True,
                     help="The default voice's rate in words per minute, or NAME=WPM for a "
                     "profile. Repeatable."),
        click.option("--engine", type=click.Choice(engines.BUILT_IN),
                     help="The default voice's engine; alone, it speaks with that engine's "
                     "voice for the script's language."),
        click.option("--speed", type=FiniteRange(0.25, 4.0), default=1.0,
                     show_default=True, help="Multiply every voice's rate by this."),
        click.option("--allow-commands", is_flag=True, envvar=ALLOW_COMMANDS_ENV,
                     help="Let the script's voice profiles with engine: command run their "
                     f"programs (or set {ALLOW_COMMANDS_ENV}=1). Only for scripts you trust."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class FiniteRange(click.FloatRange):
    """click's FloatRange, refusing nan (which every range comparison lets through)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


def _settings(pace: float | None, length: int | None, voices: tuple, rates: tuple,
              engine: str | None, speed: float) -> Any:
    from voiceguide.plan import Settings

    if pace is not None and length is not None:
        raise click.UsageError("--pace and --length both choose the pace: give one of them")
    default_voice = [v for n, v in voices if n is None]
    default_rate = [r for n, r in rates if n is None]
    return Settings(
        pace=pace,
        length_ms=length,
        voice=default_voice[-1] if default_voice else None,
        rate=default_rate[-1] if default_rate else None,
        engine=engine,
        profile_voices=tuple((n, v) for n, v in voices if n is not None),
        profile_rates=tuple((n, r) for n, r in rates if n is not None),
        speed=speed,
    )


def _options(choices: dict[str, Any], quiet: bool = True, **audio: Any) -> Any:
    """The session's options from the shared command-line choices (see _build_options)."""
    from voiceguide.session import Options
    from voiceguide.store import CacheError, cache_limit

    try:
        cache_limit()  # a junk limit is found before any work, not after the MP3 is written
    except CacheError as exc:
        raise UsageError(str(exc)) from exc
    allow_commands = choices.pop("allow_commands")
    progress = None if quiet or not sys.stderr.isatty() else _Progress()
    return Options(settings=_settings(**choices), progress=progress,
                   allow_commands=allow_commands, **audio)


class _Progress:
    """A one-line progress display on stderr for terminals: counts, percent and time left."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.last = ""
        self.label = ""
        self.clock = clock
        self.started: dict[str, float] = {}

    def __call__(self, what: str, done: int, total: int) -> None:
        now = self.clock()
        began = self.started.setdefault(what, now)
        left = ""
        if 0 < done < total and now - began >= 1:
            left = f", about {clock(round((now - began) * (total - done) / done * 1000))} left"
        count = f"{done:,}/{total:,} " if what.endswith("clips") else ""
        what = shown(self.label + what)
        line = (f"\r{what}: {count}{100 * done // max(total, 1):3d}%{left}" if done
                else f"\r{what}…")
        if line != self.last:
            padding = " " * max(0, len(self.last) - len(line))
            click.echo(line + padding, nl=False, err=True)
            self.last = line
        if done and done >= total:
            click.echo("\r" + " " * len(line) + "\r", nl=False, err=True)
            self.last = ""
            self.started.pop(what, None)


def _warn(plan: Any, script: Path | None = None) -> None:
    """The plan's notes and warnings on stderr; named by *script* where several are built."""
    of = f"{script}: " if script is not None else ""
    for note in plan.notes:
        _line(f"voiceguide: {of}{note}", err=True)
    for warning in plan.warnings:
        _line(f"warning: {of}{warning}", err=True)


# ---------------------------------------------------------------------------
# Commands


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voiceguide")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Compile drill scripts (YAML) into guided audio sessions (MP3).

    \b
    Example:
        voiceguide init                  # writes drill.yaml, a commented starter
        voiceguide plan drill.yaml       # the timeline, second by second
        voiceguide build drill.yaml      # output/drill.mp3
    """
    ctx.obj = {"debug": debug}


@main.command()
@click.argument("scripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@_build_options
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Where to write the MP3 (default output/SCRIPT.mp3); a folder with "
              "several scripts.")
@click.option("--bitrate", default=defaults.BITRATE, show_default=True,
              type=click.Choice(defaults.BITRATES), help="MP3 bit rate.")
@click.option("--sample-rate", default=str(defaults.SAMPLE_RATE), show_default=True,
              type=click.Choice([str(r) for r in defaults.SAMPLE_RATES]),
              help="MP3 sample rate in Hz.")
@click.option("-q", "--quiet", is_flag=True, help="No progress display or warnings.")
@click.option("--vtt", is_flag=True, help="Also write a WebVTT transcript beside each MP3.")
@click.option("--split", is_flag=True, help="Also a file per stage in NAME/ beside each MP3, "
              "with the playlist NAME/NAME.m3u8.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Build this many scripts at once  [default: the number of cores]")
def build(scripts: tuple[Path, ...], output: Path | None, bitrate: str, sample_rate: str,
          quiet: bool, vtt: bool, split: bool, jobs: int | None, **choices: Any) -> None:
    """Compile each SCRIPT into an MP3 and print the path of each file written.

    \b
    Example:
        voiceguide build drill.yaml --pace 1 -o long.mp3
    """
    options = _options(choices, quiet, sample_rate=int(sample_rate), bitrate=bitrate)
    _check_format(int(sample_rate), bitrate)
    targets = [_target(script, output, len(scripts)) for script in scripts]
    _refuse_clashes(scripts, [_build_outputs(t, vtt, split) for t in targets])
    from voiceguide.islands import jobs as cores
    from voiceguide.jobs import built

    jobs = min(jobs or cores(), len(scripts))
    if jobs > 1:
        options.progress = None  # one line cannot show several builds
    for script, (target, plan) in zip(scripts, built(scripts, targets, options, jobs, split),
                                      strict=True):
        if not quiet:
            _warn(plan, script if len(scripts) > 1 else None)
        _line(str(target))
        if vtt:
            from voiceguide.files import write_atomically
            from voiceguide.phone.vtt import transcript

            write_atomically(target.with_suffix(".vtt"), transcript(plan).encode())
            _line(str(target.with_suffix(".vtt")))
        if split:
            from voiceguide.split import folder_for

            _line(str(folder_for(target) / f"{target.stem}.m3u8"))


def _check_format(sample_rate: int, bitrate: str) -> None:
    """MPEG-2 (the sample rates below 32000) carries at most 160 kbit/s."""
    from voiceguide.mpeg import FrameError, FrameFormat

    try:
        FrameFormat(sample_rate, int(bitrate.rstrip("k")))
    except FrameError as exc:
        raise UsageError(f"--bitrate {bitrate}: {exc}") from exc


def _target(script: Path, output: Path | None, count: int) -> Path:
    """Where a script's MP3 goes; checked before any work so a typo costs nothing.

    A symbolic link is followed (the file it points to is updated); anything at the
    target but a regular, writable file is refused rather than replaced.
    """
    name = script.stem + ".mp3"
    if output is None:
        folder = Path("output")
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot use the default output folder {folder}: "
                              f"{exc.strerror}; give -o FILE") from exc
        if not folder.is_dir():
            raise OutputError(f"{folder} is not a folder; remove it, or give -o FILE")
        output, count = folder / name, 1
    elif count > 1:
        if not output.is_dir():
            raise OutputError(f"{output} is not a folder; with several scripts, -o names an "
                              "existing folder")
        output = output / name
    elif output.is_dir():
        raise OutputError(f"{output} is a folder; give a file name such as {output / name}")
    if output.is_symlink():
        output = Path(os.path.realpath(output))
    if output.exists() and not output.is_file():
        raise click.BadParameter(f"{output} is not a regular file; voiceguide replaces only "
                                 "regular files", param_hint="-o")
    if output.exists() and not os.access(output, os.W_OK):
        raise OutputError(f"{output} is read-only; make it writable or choose another -o")
    folder = output.parent
    if not folder.is_dir():
        raise OutputError(f"folder {folder} does not exist; create it first (mkdir -p "
                          f"{folder})")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write to folder {folder}: permission denied")
    return output


def _build_outputs(target: Path, vtt: bool, split: bool) -> list[Path]:
    """Every file (and the stage folder) a build of one script writes."""
    from voiceguide.split import folder_for

    return [target, *([target.with_suffix(".vtt")] if vtt else []),
            *([folder_for(target)] if split else [])]


def _publish_outputs(scripts: tuple[Path, ...], folder: Path, split: bool) -> list[list[Path]]:
    """Every file a publish writes into *folder*, by script (the folder's own files with
    the first: the feed, the page and its files, the index and the covers)."""
    from voiceguide.phone.feed import files
    from voiceguide.phone.publish import folder_files

    outputs = []
    for number, script in enumerate(scripts):
        own = [folder / name for name in files(script.stem).values()]
        shared = [folder / name for name in folder_files()] if number == 0 else []
        outputs.append([*_build_outputs(folder / f"{script.stem}.mp3", False, split),
                        *own[1:], *shared])
    return outputs


def _refuse_clashes(scripts: tuple[Path, ...], outputs: list[list[Path]],
                    option: str = "-o") -> None:
    """The output rules, before any work: nothing is written over a script, no two outputs
    go to one file, and each output is a regular file voiceguide may replace (or new)."""
    seen: dict[Path, tuple[Path, Path]] = {}
    inputs = {_identity(s): s for s in scripts}
    for script, written in zip(scripts, outputs, strict=True):
        for output in written:
            where = _identity(output)
            if where in inputs:
                raise click.BadParameter(f"{output} is the script {inputs[where]}; write it "
                                         "somewhere else", param_hint=option)
            if where in seen:
                first, _ = seen[where]
                what = (f"{first} and {script} would both be written to {output}" if first !=
                        script else f"{script} would write two of its files to {output}")
                raise click.BadParameter(f"{what}; choose other names with {option}",
                                         param_hint=option)
            seen[where] = (script, output)
            _replaceable(output, option)


def _replaceable(output: Path, option: str) -> None:
    """A file voiceguide will write: anything there but a regular file (or, for a stage
    folder, a folder) is refused, and so is a read-only file."""
    if output.suffix and output.exists() and not output.is_file():
        raise click.BadParameter(f"{output} is not a regular file; voiceguide replaces only "
                                 "regular files", param_hint=option)
    if not output.suffix and output.exists() and not output.is_dir():
        raise click.BadParameter(f"{output} is not a folder; the stage files go into a folder "
                                 "of that name", param_hint=option)
    if output.is_file() and not os.access(output, os.W_OK):
        raise OutputError(f"{output} is read-only; make it writable or choose another {option}")


def _identity(path: Path) -> Path:
    """One name per file: the resolved path (the same file however it is named)."""
    return Path(os.path.realpath(path))


@main.command()
@click.argument("script", type=click.Path(path_type=Path))
@_build_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--svg", type=click.Path(path_type=Path, dir_okay=False),
              help="Also draw the timeline picture into this SVG file.")
def plan(script: Path, as_json: bool, svg: Path | None, **choices: Any) -> None:
    """Show the timeline that build would render for SCRIPT.

    A readable table by default, or with --json the plan object (format
    voiceguide.plan/1). Timing warnings go to stderr.

    \b
    Example:
        voiceguide plan drill.yaml --length 15m
    """
    from voiceguide import session
    from voiceguide.plan import describe

    options = _options(choices)
    if svg is not None:
        _refuse_clashes((script,), [[svg]], "--svg")
    the_plan = session.plan(script, options)
    if svg is not None:
        from voiceguide.files import write_atomically
        from voiceguide.phone.timeline import picture

        write_atomically(svg, picture(the_plan).encode())
    _warn(the_plan)
    if as_json:
        click.echo(the_plan.dumps())
    else:
        for line in describe(the_plan):
            _line(line)


@main.command()
@click.argument("scripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@_build_options
def check(scripts: tuple[Path, ...], **choices: Any) -> None:
    """Validate each SCRIPT without building it: exit 0, or 2 with located errors.

    Speech is synthesised (and cached) to know whether everything fits.

    \b
    Example:
        voiceguide check drill.yaml
    """
    from voiceguide import session

    options = _options(choices)
    problems: list = []
    for script in scripts:
        try:
            the_plan = session.check(script, options)
        except ScriptError as exc:
            problems += exc.problems
            continue
        _warn(the_plan)
        _line(f"{script}: ok, {clock(the_plan.duration_ms)}, "
                   f"{len(the_plan.chapters)} chapters")
    if problems:
        raise ScriptError(problems)


@main.command()
@click.option("--language", help="Only voices for this language (e.g. en, de, en-gb).")
@click.option("--engine", help="Only this engine's voices.")
@click.option("--json", "as_json", is_flag=True, help="Print the voices as JSON.")
def voices(language: str | None, engine: str | None, as_json: bool) -> None:
    """List the voices each installed engine offers: id, language, name.

    \b
    Example:
        voiceguide voices --language en
    """
    from voiceguide.speech import SpeechLibrary

    library = SpeechLibrary()
    found = library.list_voices(language=language, engine=engine)
    fetchable = library.fetchable_voices(language=language, engine=engine)
    if as_json:
        click.echo(json.dumps([_voice_json(v, True) for v in found]
                              + [_voice_json(v, False) for v in fetchable], indent=2))
        return
    for name in library.engine_names():
        if engine is not None and engine != name:
            continue
        if name == engines.COMMAND:
            click.echo("# command: any TTS program, set up per voice profile "
                       "(engine: command, command: [...])")
            continue
        problem = library.engine(name).problem()
        state = "usable" if problem is None else f"not usable: {problem}"
        click.echo(f"# {name}: {state}")
    click.echo(f"{'ENGINE':9} {'ID (as typed in a script)':28} {'LANGUAGE':14} {'OFFLINE':8} NAME")
    variants: dict[str, tuple[str, ...]] = {}
    for voice, offline in [(v, True) for v in found] + [(v, False) for v in fetchable]:
        gender = f" ({voice.gender.lower()})" if voice.gender else ""
        click.echo(f"{voice.engine:9} {voice.id:28} {voice.language:14} "
                   f"{'ready' if offline else 'no':8} {voice.name}{gender}")
        if voice.variants:
            variants.setdefault(voice.engine, voice.variants)
    for voice in fetchable[:1]:
        click.echo(f"# not offline yet: {library.engine(voice.engine).voice_problem(voice.id)}")
    for name, names in variants.items():
        usable = [v for v in names if " " not in v]
        example = "f3" if "f3" in usable else usable[0]
        click.echo(f"# {name} variants, added to any voice id (e.g. {found[0].id}+{example}):")
        for line in textwrap.wrap(" ".join(usable), 76):
            click.echo(f"#   {line}")


def _voice_json(voice: Any, offline: bool) -> dict[str, Any]:
    return {"engine": voice.engine, "id": voice.id, "language": voice.language,
            "name": voice.name, "gender": voice.gender, "variants": list(voice.variants),
            "offline": offline}


class SayTargetType(click.Path):
    """A file name that ``say`` can write: .mp3 or .wav."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        path = super().convert(value, param, ctx)
        if Path(str(path)).suffix.lower() not in AUDITION_SUFFIXES:
            self.fail(f"{value!r}: say writes {' or '.join(AUDITION_SUFFIXES)} files", param, ctx)
        return path


AUDITION_SUFFIXES = (".mp3", ".wav")


@main.command()
@click.argument("text")
@click.option("--voice", help="The engine's voice id (see `voiceguide voices`); default: the "
              "engine's English voice.")
@click.option("--rate", type=click.FloatRange(1, 1000), help="Words per minute.")
@click.option("--engine", type=click.Choice(engines.BUILT_IN),
              help=f"Default: {engines.NATURAL} where installed, else {engines.DEFAULT}.")
@click.option("-o", "--output", type=SayTargetType(path_type=Path), default=Path("say.mp3"),
              show_default=True, help="Where to write the clip (.mp3 or .wav).")
def say(text: str, voice: str | None, rate: float | None, engine: str | None,
        output: Path) -> None:
    """Speak TEXT into a file, to audition any engine, voice and rate.

    \b
    Example:
        voiceguide say "Ten seconds. Keep that balance." --rate 190 -o heart.mp3
        voiceguide say "Ten seconds." --engine espeak-ng --voice gmw/en-us+f3 -o f3.wav
    """
    from voiceguide.audition import audition

    if not text.strip():
        raise click.BadParameter("give some text to speak", param_hint="TEXT")
    audition(text, engine=engine, voice=voice, rate=rate, target=output)
    _line(str(output))


@main.command()
@click.argument("file", type=click.Path(path_type=Path), default=Path("drill.yaml"))
@click.option("--from", "example", type=click.Choice(sorted(builtins.examples())),
              default="starter", show_default=True, help="The example to start from.")
def init(file: Path, example: str) -> None:
    """Write a drill script to start from (default: a commented starter) into FILE.

    An existing file is never replaced. The starter builds as it is.

    \b
    Example:
        voiceguide init
        voiceguide init hills.yaml --from hill_repeats
    """
    from voiceguide.files import write_atomically

    if file.exists() or file.is_symlink():
        raise UsageError(f"{file} exists already; give another name (voiceguide init "
                          "NEW.yaml) or remove it first")
    write_atomically(file, builtins.examples()[example].read_bytes())
    _line(str(file))


class BaseUrlType(click.ParamType):
    """An absolute http(s) address where the published folder can be fetched."""

    name = "URL"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(str(value))
            parts.port  # noqa: B018 - a port that is not a number raises here
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
                or parts.query or parts.fragment or not str(value).isprintable() \
                or any(c.isspace() or c in '"<>\\^`{|}' for c in str(value)):
            self.fail(f"{value!r} is not an http:// or https:// address such as "
                      "https://example.org/runs/", param, ctx)
        return str(value) if str(value).endswith("/") else f"{value}/"


class EmailType(click.ParamType):
    """An e-mail address for the feed's owner: one @, a dotted domain, nothing else."""

    name = "EMAIL"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        import re

        text = str(value)
        if not re.fullmatch(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+",
                            text) or len(text) > 254:
            self.fail(f"{value!r} is not an e-mail address such as coach@example.org", param,
                      ctx)
        return text


class FeedTextType(click.ParamType):
    """A line of text for the feed (a title, an author): printable, not empty."""

    name = "TEXT"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = " ".join(str(value).split())
        if not text or not text.isprintable() or len(text) > 300:
            self.fail(f"{value!r}: give a line of printable text (at most 300 characters)",
                      param, ctx)
        return text


@main.command()
@click.argument("scripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--to", "folder", required=True, type=click.Path(path_type=Path),
              help="The folder to publish into (made if missing).")
@click.option("--base-url", type=BaseUrlType(),
              help="Where the folder will be served from (kept for the next publish); "
              "`serve` fills in its own.")
@click.option("--title", type=FeedTextType(), help="The feed's title (kept).")
@click.option("--author", type=FeedTextType(), help="The feed's author and owner (kept).")
@click.option("--email", type=EmailType(), help="The owner's e-mail, for podcast directories "
              "(kept).")
@click.option("--image", type=click.Path(path_type=Path, dir_okay=False),
              help="The feed's cover: a square JPEG or PNG of 1400-3000 px (kept); default: "
              "one made from the title.")
@click.option("--category", type=FeedTextType(), help="The podcast category, e.g. "
              "'Health & Fitness > Fitness' (the default; kept).")
@click.option("--language", "feed_language", type=FeedTextType(),
              help="The feed's language (default: the sessions' own; kept).")
@click.option("--split", is_flag=True, help="Also a file per stage and an M3U8 playlist.")
@_build_options
def publish(scripts: tuple[Path, ...], folder: Path, base_url: str | None, title: str | None,
            author: str | None, email: str | None, image: Path | None, category: str | None,
            feed_language: str | None, split: bool, **choices: Any) -> None:
    """Build each SCRIPT into FOLDER as a podcast: MP3s, transcripts, chapters, covers,
    feed.xml and the player page index.html. Publishing again updates those sessions
    and keeps the others, and what was chosen for the feed.

    \b
    Example:
        voiceguide publish drill.yaml hills.yaml --to runs --title "Club runs" \\
            --author "Coach Dana" --base-url https://example.org/runs/
        voiceguide serve runs
    """
    from voiceguide.phone.publish import Choices
    from voiceguide.phone.publish import publish as publish_into
    from voiceguide.words import is_language_code

    for script in scripts:
        if not script.name.isprintable() or not _is_utf8(script.name):
            raise click.BadParameter(f"{shown(script.name)}: the session's files and addresses "
                                     "take the script's name, which is not printable UTF-8; "
                                     "rename the script", param_hint="SCRIPTS")
    if feed_language is not None and not is_language_code(feed_language):
        raise click.BadParameter(f"{feed_language!r} is not a language code such as en or de",
                                 param_hint="--language")
    options = _options(choices)
    targets = [folder / f"{script.stem}.mp3" for script in scripts]
    _refuse_clashes(scripts, _publish_outputs(scripts, folder, split), "--to")
    wanted = Choices(title=title, author=author, email=email, category=category,
                     language=feed_language, base_url=base_url, image=image)

    def built(target: Path, plan: Any) -> None:
        _warn(plan, scripts[targets.index(target)])
        _line(str(target))

    def waiting() -> None:
        _line(f"voiceguide: another publish is writing {folder}; waiting for it to finish",
              err=True)

    done = publish_into(list(scripts), folder, options, wanted, split=split, on_built=built,
                        on_wait=waiting)
    for warning in done.warnings:
        _line(f"warning: {warning}", err=True)
    _line(str(folder / "index.html"))
    if done.feed is not None:
        _line(str(done.feed))
    else:
        _line(f"voiceguide: {done.note}", err=True)


def _is_utf8(name: str) -> bool:
    """A file name the file system gave as UTF-8 (else Python holds its bytes as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False), required=False)
@click.option("--host", default="0.0.0.0", show_default=True,
              help="The address to listen on (0.0.0.0: every network of this machine).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="The port to listen on (0: any free one).")
@click.option("--base-url", type=BaseUrlType(),
              help="The address phones use, if not this machine's own (e.g. behind a proxy).")
def serve(folder: Path | None, host: str, port: int, base_url: str | None) -> None:
    """Serve a FOLDER that publish wrote (default: this folder, if publish wrote it),
    read-only, to phones on the same network; prints the feed's address and a QR code
    of it. Ctrl-C stops it.

    \b
    Example:
        voiceguide serve runs --port 8000
    """
    from voiceguide.phone import feed, qr, server

    where = folder if folder is not None else Path(".")
    shown_as = str(where) if folder is not None else "this folder"
    if not where.is_dir():
        raise OutputError(f"{where} is not a folder; serve a folder made by voiceguide publish")
    if not (where / feed.INDEX).is_file():
        raise OutputError(f"{shown_as} was not written by voiceguide publish, so serve shares "
                          "nothing from it; publish first: voiceguide publish drill.yaml --to "
                          "runs && voiceguide serve runs")
    try:
        httpd = server.server(where, host, port, base_url)
    except OSError as exc:
        raise OutputError(f"cannot listen on {host}:{port}: {exc.strerror}; try another "
                          "--port") from exc
    feed_url = server.advertised(httpd) + feed.FEED
    _line(f"serving {where} — feed: {feed_url}")
    for line in qr.terminal_lines(feed_url):
        click.echo(line, color=True)  # the colours are the code, wherever it goes
    _line("add the feed in a podcast app on your phone; Ctrl-C stops the server")
    try:
        httpd.serve_forever()  # Ctrl-C ends it: the usual way to stop a server, so exit 0
    finally:
        httpd.server_close()
    _line("voiceguide: stopped serving", err=True)


@main.command()
def schema() -> None:
    """Print the JSON Schema of drill scripts, for editors that complete and check YAML.

    Save it beside your drills and name it on their first line:
    # yaml-language-server: $schema=drill-script.schema.json

    \b
    Example:
        voiceguide schema > drill-script.schema.json
    """
    from voiceguide.schema import dumps

    click.echo(dumps(), nl=False)


@main.group()
def cache() -> None:
    """Inspect or empty the speech cache ($XDG_CACHE_HOME/voiceguide)."""


@cache.command("info")
def cache_info() -> None:
    """Show where the speech cache is, how many clips it holds and its size.

    \b
    Example:
        voiceguide cache info
    """
    from voiceguide.store import cache_info as info
    from voiceguide.store import cache_limit

    found = info()
    counts = ", ".join(f"{count} {kind}" for kind, count in found.counts().items())
    _line(f"{found.root}: {counts}; {found.size / 1e6:.1f} MB of {cache_limit() / 1e6:,.0f} MB "
          "(VOICEGUIDE_CACHE_LIMIT)")


@cache.command("clear")
def cache_clear() -> None:
    """Delete every clip in the speech cache (they are made again when needed).

    \b
    Example:
        voiceguide cache clear
    """
    from voiceguide.store import cache_clear as clear

    removed = clear()
    click.echo(f"removed {len(removed.files)} files, {removed.size / 1e6:.1f} MB")


def run() -> None:
    """Entry point that also keeps a closed stdout (e.g. `| head`) quiet."""
    try:
        main(prog_name="voiceguide")
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
