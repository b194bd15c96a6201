"""espeak-ng's voices and variants, shared by the pyttsx3 and espeak-ng engines."""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

from voiceguide import tools
from voiceguide.speech.base import VoiceInfo

KNOWN_DATA_DIRS = (
    "/usr/lib/x86_64-linux-gnu/espeak-ng-data",
    "/usr/lib/aarch64-linux-gnu/espeak-ng-data",
    "/usr/share/espeak-ng-data",
    "/usr/local/share/espeak-ng-data",
    "/opt/homebrew/share/espeak-ng-data",
)
GENDERS = {"M": "male", "F": "female"}


@cache
def data_dir() -> Path | None:
    """espeak-ng's data folder, where the voice variants live."""
    env = os.environ.get("ESPEAK_DATA_PATH")
    candidates = [Path(env) / "espeak-ng-data", Path(env)] if env else []
    reported = _reported_data_dir()
    if reported:
        candidates.append(reported)
    candidates += [Path(p) for p in KNOWN_DATA_DIRS]
    return next((p for p in candidates if (p / "voices" / "!v").is_dir()), None)


def _reported_data_dir() -> Path | None:
    exe = shutil.which("espeak-ng")
    if exe is None:
        return None
    out = tools.run([exe, "--version"], doing="when asked its version",
                    timeout=tools.PROBE_TIMEOUT_S, check=False).stdout.decode("utf-8", "replace")
    _, found, rest = out.partition("Data at:")
    return Path(rest.strip()) if found and rest.strip() else None


@cache
def variants() -> tuple[str, ...]:
    """Variant names accepted after a voice id: ``gmw/en-us+f3``."""
    folder = data_dir()
    if folder is None:
        return ()
    return tuple(sorted(p.name for p in (folder / "voices" / "!v").iterdir() if p.is_file()))


def parse_voice_table(engine: str, table: str) -> list[VoiceInfo]:
    """VoiceInfos from the table ``espeak-ng --voices`` prints."""
    found = []
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        _, language, age_gender, name, ident = fields[:5]
        gender = GENDERS.get(age_gender.rpartition("/")[2])
        found.append(
            VoiceInfo(engine, ident.lower(), language, name.replace("_", " "), gender, variants())
        )
    return found


def voice_problem(engine: str, voices: list[VoiceInfo], voice_id: str) -> str | None:
    """Checks ``ID`` or ``ID+VARIANT`` the way espeak-ng resolves them (ids ignore case)."""
    base, plus, variant = voice_id.partition("+")
    match = next((v for v in voices if v.id.lower() == base.lower()), None)
    if match is None:
        return f"the {engine} engine has no voice {base!r}"
    if plus and variant not in match.variants:
        return (
            f"the {engine} engine has no voice variant {variant!r} "
            f"(variants are the files in espeak-ng's voices/!v folder, e.g. f3, m2, klatt)"
        )
    return None
