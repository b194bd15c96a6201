"""The README's promises: its example script is the one shipped, and it is valid."""

import re
from pathlib import Path

from voiceguide import engines
from voiceguide.script import load_script

ROOT = Path(__file__).resolve().parent.parent


def test_readme_example_is_the_shipped_script() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```yaml\n# (scripts_yaml/\S+)\n(.*?)```", readme, re.S)
    assert match, "the README's YAML example names its file on its first line"
    shipped = (ROOT / match.group(1)).read_text(encoding="utf-8")
    assert shipped == f"# {match.group(1)}\n{match.group(2)}"
    load_script(ROOT / match.group(1))


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme


def test_every_example_script_loads() -> None:
    from voiceguide import builtins
    from voiceguide.script.programme import is_programme, load_programme

    scripts = sorted((ROOT / "scripts_yaml").glob("*.yaml"))
    assert len(scripts) >= 4
    for path in scripts:
        # the shipped programmes are told apart by their names, and are programmes
        assert is_programme(path) == path.stem.endswith(builtins.PROGRAMME_SUFFIX), path
        if is_programme(path):
            assert load_programme(path).entries
        else:
            assert load_script(path).stages


def table_names(path: Path, header: str) -> list[str]:
    """The first column of the Markdown table whose header row starts with *header*."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1].strip().strip("`"))
    return rows


def test_the_voices_page_lists_every_engine() -> None:
    assert table_names(ROOT / "docs" / "voices.md", "engine") == [
        engines.NATURAL, *[e for e in engines.ALL if e != engines.NATURAL]]


def test_every_built_in_engine_has_an_implementation() -> None:
    from voiceguide.speech import engines as factories

    assert tuple(factories()) == engines.BUILT_IN
    assert [factories()[name]().name for name in engines.BUILT_IN] == list(engines.BUILT_IN)


def test_every_script_key_is_documented_with_its_line() -> None:
    """keys.py is the one source: docs/drill-scripts.md gives every key of every part its
    line, word for word, in that part's table (and the schema shows the same line)."""
    from voiceguide.script import keys

    docs = (ROOT / "docs" / "drill-scripts.md").read_text(encoding="utf-8")
    sections = {"TOP": "### Top level", "PROFILE": "### Voice profile", "STAGE": "### Stage\n",
                "COUNTDOWN": "### Stage\n", "TARGET": "### Stage\n", "CUE": "### Cue", "MUSIC": "## Music and cadence",
                "BLOCK": "## Rounds: repeat blocks", "PROGRAMME": "### The programme file",
                "WEEK": "### Weeks and sessions", "ENTRY": "### Weeks and sessions"}
    tables = [name.removesuffix("_KEYS") for name in dir(keys) if name.endswith("_KEYS")]
    assert sorted(tables) == sorted(sections)
    for part, heading in sections.items():
        start = docs.index(heading)
        text = docs[start : docs.index("\n#", start + len(heading))]
        for key in getattr(keys, part):
            assert f"| `{key.name}` | {key.doc} |" in text, f"{part}: {key.name}"


def test_the_readme_names_every_option_of_the_phone_commands() -> None:
    from voiceguide.cli import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("publish", "serve"):
        for param in main.commands[command].params:
            for name in getattr(param, "opts", []):
                if name.startswith("--") and name != "--help":
                    assert name in readme, f"{command} {name} is not in README.md"
    assert "--split" in readme


def test_the_readme_names_every_command_and_the_docs_every_example() -> None:
    from voiceguide import builtins
    from voiceguide.cli import main

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in main.commands:
        assert f"`voiceguide {name}" in readme, f"voiceguide {name} is not in README.md"
    table = (ROOT / "docs" / "drill-scripts.md").read_text(encoding="utf-8")
    for example in builtins.examples():
        assert f"| `{example}.yaml` |" in table or f"| `{example}` |" in table, example


def test_the_documented_limits_are_the_codes() -> None:
    from voiceguide.plan.layout import MAX_EVENTS
    from voiceguide.script import MAX_SPEECH_CHARS, MAX_TEXT_CHARS

    docs = (ROOT / "docs" / "drill-scripts.md").read_text(encoding="utf-8")
    for limit in (MAX_EVENTS, MAX_SPEECH_CHARS, MAX_TEXT_CHARS):
        assert f"{limit:,}" in docs, limit


def test_the_documented_memory_floors_are_the_codes() -> None:
    from voiceguide.cli import MIN_MEMORY_MB
    from voiceguide.speech import hibari_engine

    docs = (ROOT / "docs" / "voices.md").read_text(encoding="utf-8")
    said = " ".join(docs[docs.index("Under a memory limit"):].split("\n\n")[0].split())
    assert f"starts with {MIN_MEMORY_MB} MB" in said and f"only the {MIN_MEMORY_MB} MB" in said
    assert f"natural voice needs {hibari_engine.MIN_MEMORY_MB} MB" in said


def test_the_documented_defaults_are_the_models() -> None:
    """A key's line names its default, and that default is the one the model and the
    reader use (``script/model.py``): no second copy to drift."""
    from voiceguide.script import keys, model

    def shown(value: object) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return f"`{value}`" if isinstance(value, str) else str(value)

    lines = {(part, k.name): k.doc for part in ("TOP", "MUSIC") for k in getattr(keys, part)}
    defaults = {("TOP", "pace"): model.PACE, ("TOP", "start_sound"): model.START_SOUND,
                ("TOP", "finish_sound"): model.FINISH_SOUND,
                ("TOP", "cadence_sound"): model.CADENCE_SOUND,
                ("TOP", "cadence_level"): model.CADENCE_LEVEL,
                ("MUSIC", "level"): model.MUSIC_LEVEL, ("MUSIC", "duck"): model.DUCK}
    for key, value in defaults.items():
        assert f"default {shown(value)}" in lines[key], (key, value)
    assert model.Script.__dataclass_fields__["pace"].default == model.PACE
    assert model.Music.__dataclass_fields__["duck"].default == model.DUCK
