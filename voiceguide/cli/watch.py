"""The watch's command: ``import`` (a FIT workout into a drill script). ``build --fit`` and
``publish`` write the other way, each session's workout beside its MP3."""

from __future__ import annotations

from pathlib import Path

import click

from voiceguide.cli import main
from voiceguide.cli.options import echo

STDOUT = "-"


@main.command("import")
@click.argument("workout", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="The drill script to write (default WORKOUT.yaml beside it; - prints "
              "it); never an existing file.")
def import_(workout: Path, output: Path | None) -> None:
    """Write a drill script from a watch's FIT WORKOUT: a stage per step, repeat steps as
    repeat blocks, open (lap button) steps as open stages, the notes as what each says.

    \b
    Example:
        voiceguide import hills.fit -o hills.yaml && voiceguide build hills.yaml
    """
    from voiceguide.errors import OptionError
    from voiceguide.files import write_new
    from voiceguide.watch.drill import drill_yaml

    target = output if output is not None else workout.with_suffix(".yaml")
    if str(target) != STDOUT and (target.exists() or target.is_symlink()):
        raise OptionError(f"{target} exists; voiceguide never replaces a file: choose "
                          "another name", "-o")
    text = drill_yaml(workout)
    if str(target) == STDOUT:
        click.echo(text, nl=False)
        return
    write_new(target, text.encode())
    echo(str(target))
