"""voiceguide's command line (being written)."""

import click


@click.group()
def main() -> None:
    """voiceguide: compile drill scripts into guided audio sessions."""
