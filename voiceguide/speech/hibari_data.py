"""hibari's package data, found without importing hibari: importing it loads numpy and
its text-to-speech module (0.1 s), which neither the build nor the worker's first steps
need to find its voices and files."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

PACKAGE = "hibari-tts"  # the distribution hibari comes in (PyPI)


def assets() -> Path | None:
    """hibari's package data folder (its ``ASSETS``), None when hibari is not installed."""
    spec = importlib.util.find_spec("hibari")
    if spec is None or spec.origin is None:
        return None
    return Path(os.path.abspath(spec.origin)).parent / "assets"  # as hibari's own ASSETS


def registry() -> dict[str, dict[str, Any]]:
    """hibari's voice registry (``assets/voices.json``); empty when it cannot be read."""
    if (folder := assets()) is None:
        return {}
    try:
        found = json.loads((folder / "voices.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}
