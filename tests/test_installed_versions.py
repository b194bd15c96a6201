"""``tools.installed_version``: what importlib.metadata says, without importing it."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from voiceguide import tools


def test_every_installed_distribution_has_the_version_importlib_metadata_gives() -> None:
    names = sorted({d.metadata["Name"] for d in importlib.metadata.distributions()})
    assert len(names) > 20 and {"hibari-tts", "lameenc", "click"} <= set(names)
    for name in names:
        assert tools.installed_version(name) == importlib.metadata.version(name), name
    assert tools.installed_version("Hibari_TTS") == importlib.metadata.version("hibari-tts")


def _fresh(monkeypatch: pytest.MonkeyPatch, *folders: Path) -> None:
    monkeypatch.setattr(sys, "path", [str(f) for f in folders])
    tools.installed_version.cache_clear()
    tools._listed.cache_clear()


def test_a_folder_with_two_candidates_or_an_egg_is_left_to_importlib_metadata(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Read from the folder's name where it is the only one in the first place that has
    any; else importlib.metadata answers (here from the METADATA it finds first)."""
    def dist(folder: Path, name: str, version: str, suffix: str = ".dist-info") -> None:
        info = folder / f"{name}-{version}{suffix}"
        info.mkdir(parents=True)
        (info / ("METADATA" if suffix == ".dist-info" else "PKG-INFO")).write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")

    first, second = tmp_path / "first", tmp_path / "second"
    dist(first, "drill_tool", "1.2.0")
    dist(second, "drill_tool", "9.9.9")
    try:
        _fresh(monkeypatch, first, second)
        assert tools.installed_version("drill-tool") == "1.2.0"
        dist(first, "Drill.Tool", "1.3.0")
        _fresh(monkeypatch, first, second)
        assert tools.installed_version("drill-tool") == importlib.metadata.version("drill-tool")
        dist(tmp_path / "eggs", "egg_tool", "0.5", ".egg-info")
        dist(second, "egg_tool", "7.0")
        _fresh(monkeypatch, tmp_path / "eggs", second)
        assert tools.installed_version("egg-tool") == "0.5" == importlib.metadata.version("egg-tool")
        with pytest.raises(importlib.metadata.PackageNotFoundError):
            tools.installed_version("no-such-distribution")
    finally:
        tools.installed_version.cache_clear()
        tools._listed.cache_clear()
