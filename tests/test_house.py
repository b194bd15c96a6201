"""The house: the folders show the pipeline, and no room grows into a warehouse."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "voiceguide"
STEPS = ("script", "speech", "plan", "audio", "mp3", "watch", "phone")  # each may use those
# before it, but the watch reads only the plan: it imports nothing of the audio steps
APART = {"watch": ("speech", "audio", "mp3")}


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_top_holds_few_modules_and_the_steps_are_packages() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 14, top
    for step in STEPS:
        assert (PACKAGE / step / "__init__.py").is_file(), step


def test_no_module_is_over_600_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}


def _imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name.startswith("voiceguide.")}


def test_no_step_imports_a_later_one() -> None:
    """script → speech → plan → audio → mp3 → phone: a step may use the ones before it
    (and the facts and facilities at the top), never one after; phone/publish.py alone
    builds, through the session."""
    order = {step: n for n, step in enumerate(STEPS)}
    wrong = []
    for path in modules():
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or parts[0] not in order:
            continue
        for name in _imported(path):
            target = name.split(".")[1]
            if target in order and order[target] > order[parts[0]] \
                    or target in APART.get(parts[0], ()):
                wrong.append(f"{'/'.join(parts)} imports {name}")
            if target == "session" and parts != ("phone", "publish.py"):
                wrong.append(f"{'/'.join(parts)} imports {name}")
    assert wrong == []
