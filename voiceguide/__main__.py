"""The ``voiceguide`` command (and ``python -m voiceguide``).

A single ``build``, ``plan``, ``check`` or ``say`` that may speak with the natural
voice starts its worker before anything else (``hibari_engine.start_early``): it
loads beside the command's own imports (0.1 s of a start), as well as beside its
reading of the script and the cache. The command line is only glanced at here, for
that guess; click reads it properly, and the command starts the worker itself
where the guess did not (``cli._speak_early``).
"""

from __future__ import annotations

import sys
from pathlib import Path

SPEAKING = ("build", "plan", "check", "say")  # the commands that call cli._speak_early


def run() -> None:
    from voiceguide.errors import Terminated

    try:
        _speak_first(sys.argv[1:])
        from voiceguide.cli import run as command

        command()
    except Terminated:  # before the command could say so itself
        if (natural := sys.modules.get("voiceguide.speech.hibari_engine")) is not None:
            natural.stop_early()
        print("voiceguide: terminated", file=sys.stderr)
        sys.exit(143)


def _speak_first(args: list[str]) -> None:
    """Starts the natural voice's worker for *args* (the command line) when it is plainly
    a single script's build, plan or check, or a say, that leaves the engine and the
    cluster to their defaults; anything else is left to the command."""
    if not args or args[0] not in SPEAKING or any(
            arg in ("-h", "--help") or arg.startswith(("--engine", "--scheduler"))
            for arg in args):
        return
    scripts = [arg for arg in args[1:] if arg.endswith((".yaml", ".yml"))]
    if args[0] != "say" and len(scripts) != 1:
        return
    from voiceguide import tools
    from voiceguide.speech import hibari_engine

    if args[0] == "say" or hibari_engine.may_speak(Path(scripts[0])):
        tools.settle_process()  # as the command would before its worker starts
        hibari_engine.start_early(tools.cores_per_build())


if __name__ == "__main__":
    run()
