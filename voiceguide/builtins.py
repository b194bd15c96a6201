"""voiceguide's own sounds and music loops, by name: the one list the script reader,
the sound library, the generator (soundgen.py) and the docs tests read.

Pure: importing it loads no audio library. The files are made by
``python -m voiceguide.audio.soundgen sounds`` and ship in the wheel.
"""

from __future__ import annotations

from pathlib import Path

SOUNDS = ("chime", "bell", "gong", "tick", "whistle", "double_chime")
MUSIC = ("soft_loop",)  # generated loops a music bed may name instead of a file
MUSIC_FOLDER = "music"  # beside the sounds, so a loop is never taken for a sound


def folder() -> Path:
    """``voiceguide/_sounds`` in an installed wheel, else ``sounds/`` of the source tree."""
    package = Path(__file__).resolve().parent
    installed = package / "_sounds"
    return installed if installed.is_dir() else package.parent / "sounds"


def examples_folder() -> Path:
    """The example drills: ``voiceguide/_examples`` in a wheel, else ``scripts_yaml/``."""
    package = Path(__file__).resolve().parent
    installed = package / "_examples"
    return installed if installed.is_dir() else package.parent / "scripts_yaml"


PROGRAMME_SUFFIX = "_programme"  # how the shipped programmes are named, apart from drills


def examples() -> dict[str, Path]:
    """The shipped example drills by name (``starter`` is what ``voiceguide init`` writes)."""
    return {p.stem: p for p in sorted(examples_folder().glob("*.yaml"))
            if not p.stem.endswith(PROGRAMME_SUFFIX)}


def programmes() -> dict[str, Path]:
    """The shipped example programmes by name (``starter_programme``: ``init --programme``)."""
    return {p.stem: p for p in sorted(examples_folder().glob(f"*{PROGRAMME_SUFFIX}.yaml"))}


def sound_path(name: str) -> Path:
    return folder() / f"{name}.wav"


def music_path(name: str) -> Path:
    return folder() / MUSIC_FOLDER / f"{name}.wav"
