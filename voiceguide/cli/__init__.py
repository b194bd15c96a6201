"""voiceguide's command line: a thin layer over ``voiceguide.session``.

Each command parses its options, calls one function and prints. Every
``VoiceguideError`` becomes one line on stderr and an exit status (2 for an
invalid script or usage, 1 for anything else); Ctrl-C exits 130 and SIGTERM
143, without a traceback. ``--debug`` shows tracebacks of real bugs.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import click

from voiceguide import __version__, builtins, defaults, engines, tools
from voiceguide.cli.options import (
    SayTargetType,
    SchedulerType,
    build_options,
    echo,
    session_options,
    warn,
)
from voiceguide.durations import clock
from voiceguide.errors import (
    OptionError,
    ScriptError,
    Terminated,
    UsageError,
    VoiceguideError,
    memory_limit_mb,
    out_of_memory,
)
from voiceguide.script.programme import programmes_among

MIN_MEMORY_MB = 256  # a build with espeak-ng, measured: 200 MB of address space (2 cores busy)
OUT_OF_MEMORY = ("voiceguide: out of memory; close other programs, or raise the memory limit "
                 "(ulimit -v) this command runs under")


def _speak_early(engine: str | None, script: Path | None = None) -> None:
    """For a command that may speak with the natural voice: its worker starts loading now,
    beside the command reading its script and the cache (``hibari_engine.start_early``).
    *script*: the one it reads, when the natural voice speaks only if the script says so."""
    if engine not in (None, engines.NATURAL):
        return
    from voiceguide.speech import hibari_engine

    if hibari_engine.started_early():
        return  # by ``voiceguide.__main__``, which read the script for it already
    if engine is None and script is not None and not hibari_engine.may_speak(script):
        return
    hibari_engine.start_early(tools.cores_per_build())


class _Command(click.Command):
    """A command whose OptionError is click's own usage error for that option."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OptionError as exc:
            raise click.BadParameter(exc.message, ctx=ctx, param_hint=exc.option) from None


class _Group(click.Group):
    """Turns voiceguide's errors into one clean line and the right exit status."""

    command_class = _Command

    def invoke(self, ctx: click.Context) -> Any:
        tools.settle_process()
        limit = memory_limit_mb()
        if limit is not None:
            tools.bound_arenas()  # the same address space whatever else the machine does
        if limit is not None and limit < MIN_MEMORY_MB:
            echo(f"voiceguide: needs at least {MIN_MEMORY_MB} MB of memory to start, and this "
                  f"command runs under a limit of {limit} MB (ulimit -v): raise the limit",
                  err=True)
            ctx.exit(1)
        try:
            return super().invoke(ctx)
        except ScriptError as exc:
            for problem in exc.problems:
                echo(str(problem), err=True)
            ctx.exit(exc.exit_code)
        except VoiceguideError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            echo(f"voiceguide: {exc}", err=True)
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
            echo(f"voiceguide: {exc.strerror or exc}{where}; check the disk and the folders "
                  "voiceguide writes to", err=True)
            ctx.exit(1)
        except MemoryError:  # the machine, or a limit set on it (ulimit -v, a container)
            if ctx.obj and ctx.obj.get("debug"):
                raise
            echo(OUT_OF_MEMORY, err=True)
            ctx.exit(1)
        except Exception as exc:  # a bug: one line by default, the traceback with --debug
            if ctx.obj and ctx.obj.get("debug"):
                raise
            if out_of_memory(exc):
                # under a memory limit, a library that cannot map itself fails to import and
                # a thread without a stack fails to start: the machine, not a bug
                echo(OUT_OF_MEMORY, err=True)
                ctx.exit(1)
            echo(f"voiceguide: internal error ({type(exc).__name__}: {exc}); run again "
                       "with --debug for the traceback and please report it", err=True)
            ctx.exit(1)
        finally:
            if (natural := sys.modules.get("voiceguide.speech.hibari_engine")) is not None:
                natural.stop_early()  # a worker started for a command that did not speak


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
@build_options
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
@click.option("--fit", is_flag=True, help="Also the session's workout for a watch, NAME.fit "
              "beside each MP3.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Build this many scripts at once  [default: the number of cores]")
@click.option("--scheduler", type=SchedulerType(), help="Build on the workers of this Dask "
              "cluster (tcp://HOST:PORT; pip install 'voiceguide[dask]').")
def build(scripts: tuple[Path, ...], output: Path | None, bitrate: str, sample_rate: str,
          quiet: bool, vtt: bool, split: bool, fit: bool, jobs: int | None,
          scheduler: str | None, **choices: Any) -> None:
    """Compile each SCRIPT into an MP3 and print the path of each file written.

    \b
    Example:
        voiceguide build drill.yaml --pace 1 -o long.mp3
    """
    if len(scripts) == 1 and scheduler is None:
        _speak_early(choices.get("engine"), scripts[0])
    from voiceguide.files import refuse_clashes, target_for
    from voiceguide.session import build_outputs

    options = session_options(choices, quiet, sample_rate=int(sample_rate), bitrate=bitrate)
    _check_format(int(sample_rate), bitrate)
    from voiceguide.script.programme import is_programme

    for script in scripts:
        if is_programme(script):
            raise UsageError(f"{script} is a programme: publish its sessions together "
                             f"(voiceguide publish {script} --to DIR), or build its scripts")
    targets = [target_for(script, output, len(scripts)) for script in scripts]
    refuse_clashes(scripts, [build_outputs(t, vtt, split, fit) for t in targets])
    from voiceguide.batch.local import built
    from voiceguide.tools import cores

    jobs = min(jobs or cores(), len(scripts))
    if jobs > 1 or scheduler:
        options.progress = None  # one line cannot show several builds
    if scheduler:
        from voiceguide.batch.cluster import built_on

        results = built_on(scheduler, [(s, t, options) for s, t in zip(scripts, targets,
                                                                        strict=True)], split)
    else:
        results = built(scripts, targets, options, jobs, split)
    failed: list[VoiceguideError] = []
    for script, (target, plan) in zip(scripts, results, strict=True):
        if isinstance(plan, VoiceguideError):  # on a cluster, one build fails alone
            failed.append(plan)
            for line in (map(str, plan.problems) if isinstance(plan, ScriptError)
                         else [f"voiceguide: {plan}"]):
                echo(line, err=True)
            continue
        if not quiet:
            warn(plan, script if len(scripts) > 1 else None)
        echo(str(target))
        if vtt:
            from voiceguide.files import write_atomically
            from voiceguide.phone.vtt import transcript

            write_atomically(target.with_suffix(".vtt"), transcript(plan).encode())
            echo(str(target.with_suffix(".vtt")))
        if fit:
            from voiceguide.files import write_atomically
            from voiceguide.store import Store
            from voiceguide.watch.fit import SUFFIX, workout

            write_atomically(target.with_suffix(SUFFIX), workout(plan, Store().entries("watch")))
            echo(str(target.with_suffix(SUFFIX)))
        if split:
            from voiceguide.mp3.stages import folder_for

            echo(str(folder_for(target) / f"{target.stem}.m3u8"))
    if failed:
        raise click.exceptions.Exit(max(f.exit_code for f in failed))


def _check_format(sample_rate: int, bitrate: str) -> None:
    """MPEG-2 (the sample rates below 32000) carries at most 160 kbit/s."""
    from voiceguide.mp3.frames import FrameError, FrameFormat

    try:
        FrameFormat(sample_rate, int(bitrate.rstrip("k")))
    except FrameError as exc:
        raise UsageError(f"--bitrate {bitrate}: {exc}") from exc


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@build_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--svg", type=click.Path(path_type=Path, dir_okay=False),
              help="Also draw the timeline picture into this SVG file.")
def plan(files: tuple[Path, ...], as_json: bool, svg: Path | None, **choices: Any) -> None:
    """Show the timeline that build would render for SCRIPT, or each session of a
    PROGRAMME (then followed by any scripts it names outside its folder).

    A readable table by default, or with --json the plan object (format
    voiceguide.plan/1; for a programme, voiceguide.programme/1 with each
    session's plan). Timing warnings go to stderr.

    \b
    Example:
        voiceguide plan drill.yaml --length 15m
        voiceguide plan programme.yaml
    """
    if len(files) == 1:
        _speak_early(choices.get("engine"), files[0])
    from voiceguide import session
    from voiceguide.files import refuse_clashes
    from voiceguide.plan import describe

    options = session_options(choices)
    programmes, loose = programmes_among(files)
    if programmes:
        if len(programmes) > 1 or loose:
            raise UsageError("plan shows one programme (with the scripts it names outside its "
                             "folder) or one script")
        if svg is not None:
            raise click.BadParameter("draws one session; give a script, not a programme",
                                     param_hint="--svg")
        from voiceguide.plan import programme as shown_programme

        plans = session.programme_plans(programmes[0], options)
        for entry, the_plan in plans:
            warn(the_plan, programmes[0].where(entry))
        if as_json:
            click.echo(shown_programme.dumps(programmes[0], plans))
        else:
            for line in shown_programme.describe(programmes[0], plans):
                echo(line)
        return
    if len(loose) > 1:
        raise UsageError("plan shows one script; voiceguide check takes several")
    script = loose[0]
    if svg is not None:
        refuse_clashes((script,), [[svg]], "--svg")
    the_plan = session.plan(script, options)
    if svg is not None:
        from voiceguide.files import write_atomically
        from voiceguide.phone.timeline import picture

        write_atomically(svg, picture(the_plan).encode())
    warn(the_plan)
    if as_json:
        click.echo(the_plan.dumps())
    else:
        for line in describe(the_plan):
            echo(line)


@main.command()
@click.argument("scripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@build_options
def check(scripts: tuple[Path, ...], **choices: Any) -> None:
    """Validate each SCRIPT (or PROGRAMME, and every session of it) without building:
    exit 0, or 2 with located errors.

    Speech is synthesised (and cached) to know whether everything fits.

    \b
    Example:
        voiceguide check drill.yaml
    """
    if len(scripts) == 1:
        _speak_early(choices.get("engine"), scripts[0])
    from voiceguide import session
    from voiceguide.plan.programme import summary

    options = session_options(choices)
    problems: list = []
    programmes, loose = programmes_among(scripts, problems)
    for programme in programmes:
        try:
            plans = session.programme_plans(programme, options)
        except ScriptError as exc:
            problems += exc.problems
            continue
        for entry, the_plan in plans:
            warn(the_plan, programme.where(entry))
        echo(f"{programme.path}: ok, {summary(programme, plans)}")
    for script in loose:
        try:
            the_plan = session.check(script, options)
        except ScriptError as exc:
            problems += exc.problems
            continue
        warn(the_plan)
        echo(f"{script}: ok, {clock(the_plan.duration_ms)}, "
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
    if not text.strip():
        raise click.BadParameter("give some text to speak", param_hint="TEXT")
    _speak_early(engine)
    from voiceguide.audition import audition

    audition(text, engine=engine, voice=voice, rate=rate, target=output)
    echo(str(output))


@main.command()
@click.argument("file", type=click.Path(path_type=Path), required=False)
@click.option("--from", "example", type=click.Choice(sorted(builtins.examples())),
              default=None, help="The example to start from  [default: starter]")
@click.option("--programme", is_flag=True, help="Write a starter programme (two weeks of "
              "shipped drills) into FILE (default programme.yaml), and the drills it names "
              "beside it.")
def init(file: Path | None, example: str | None, programme: bool) -> None:
    """Write a drill script to start from (default: a commented starter) into FILE
    (default drill.yaml), or with --programme a programme and its drills.

    An existing file is never replaced (a drill the programme names that is there
    already is kept as it is). The starters build as they are.

    \b
    Example:
        voiceguide init
        voiceguide init hills.yaml --from hill_repeats
        voiceguide init --programme
    """
    from voiceguide.files import write_atomically

    if programme and example is not None:
        raise click.BadParameter("a programme starts from its own starter; give --from or "
                                 "--programme", param_hint="--from")
    file = file or Path("programme.yaml" if programme else "drill.yaml")
    if file.exists() or file.is_symlink():
        raise UsageError(f"{file} exists already; give another name (voiceguide init "
                          "NEW.yaml) or remove it first")
    if not programme:
        write_atomically(file, builtins.examples()[example or "starter"].read_bytes())
        echo(str(file))
        return
    from voiceguide.script.programme import load_programme

    starter = builtins.programmes()["starter_programme"]
    drills = {e.script.name for e in load_programme(starter).entries}
    written = []
    for name in sorted(drills):  # the drills first: the programme names them
        beside = file.parent / name
        if not (beside.exists() or beside.is_symlink()):
            write_atomically(beside, builtins.examples()[Path(name).stem].read_bytes())
            written.append(beside)
    write_atomically(file, starter.read_bytes())
    for path in (file, *written):
        echo(str(path))


@main.command()
def schema() -> None:
    """Print the JSON Schema of drill scripts and programmes, for editors that complete and
    check YAML.

    Save it beside your drills and name it on their first line:
    # yaml-language-server: $schema=drill-script.schema.json

    \b
    Example:
        voiceguide schema > drill-script.schema.json
    """
    from voiceguide.script.schema import dumps

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
    echo(f"{found.root}: {counts}; {found.size / 1e6:.1f} MB of {cache_limit() / 1e6:,.0f} MB "
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


from voiceguide.cli import phone, watch  # noqa: E402, F401 - registers publish, serve, import


def run() -> None:
    """Entry point that also keeps a closed stdout (e.g. `| head`) quiet."""
    try:
        main(prog_name="voiceguide")
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
