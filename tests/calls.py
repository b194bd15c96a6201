"""Calls a test watches: a function replaced by one that notes what it was asked, then
does as it did."""

from __future__ import annotations

from typing import Any

import pytest


def recorded(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[Any]:
    """The first argument of every call of *owner*'s *name* from now on, in order (in
    this process: a forked child notes its own)."""
    asked: list[Any] = []
    original = getattr(owner, name)

    def noted(first: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(first)
        return original(first, *args, **kwargs)

    monkeypatch.setattr(owner, name, noted)
    return asked
