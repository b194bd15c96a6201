"""The JSON Schema for editors: made from the reader's key tables, shipped, and right."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from voiceguide.cli import main
from voiceguide.script import keys, schema
from voiceguide.script.source import load

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = ROOT / "voiceguide" / "drill-script.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SHIPPED.read_text(encoding="utf-8")))

# Bad scripts whose problem is one of structure (a key, a type, a bound): the schema must
# refuse them as voiceguide does. The others are about timing, files or voices.
STRUCTURAL = ["announce_true", "bad_language", "cadence_level", "cadence_too_high", "cadence_too_low", "countdown_fraction", "countdown_mapping_bad_key", "countdown_mapping_too_big", "countdown_mapping_without_count", "countdown_too_big", "cue_from_without_every", "cue_no_time", "cue_two_times", "duration_negative", "duration_zero", "every_zero", "just_text", "many_problems", "missing_title_and_stages", "music_duck", "music_level", "music_no_files", "music_stage_not_bool", "music_unknown_key", "not_a_mapping", "pace_is_text", "pace_out_of_range", "range_three_items", "rate_too_high", "repeat_empty_stages", "repeat_misspelt_key", "repeat_not_a_number", "repeat_too_many_rounds", "repeat_without_stages", "repeat_zero", "skip_last_not_bool", "speech_bad_item", "speech_empty_list", "stage_is_text", "stages_is_a_mapping", "stages_is_empty", "text_too_long", "title_is_a_list", "title_is_empty", "unknown_cue_key", "unknown_engine", "unknown_key_no_hint", "unknown_profile_key", "unknown_stage_key", "unknown_top_key", "version_2", "volume_zero"]


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == schema.dumps(), "run: voiceguide schema > " \
        "voiceguide/drill-script.schema.json"
    jsonschema.Draft202012Validator.check_schema(json.loads(schema.dumps()))
    code = CliRunner().invoke(main, ["schema"])
    assert code.exit_code == 0 and code.stdout == schema.dumps()


def test_every_key_the_reader_accepts_is_in_the_schema_and_no_other() -> None:
    made = schema.schema()
    tables = {"TOP_KEYS": made["$defs"]["script"], "STAGE_KEYS": made["$defs"]["stage"],
              "CUE_KEYS": made["$defs"]["cue"], "PROFILE_KEYS": made["$defs"]["profile"],
              "BLOCK_KEYS": made["$defs"]["block"], "MUSIC_KEYS": made["$defs"]["music"],
              "COUNTDOWN_KEYS": made["$defs"]["countdown"],
              "PROGRAMME_KEYS": made["$defs"]["programme"], "WEEK_KEYS": made["$defs"]["week"],
              "ENTRY_KEYS": made["$defs"]["entry"]}
    for table, part in tables.items():
        assert tuple(part["properties"]) == getattr(keys, table)
        assert part["additionalProperties"] is False


@pytest.mark.parametrize("path", sorted((ROOT / "scripts_yaml").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_is_valid(path: Path) -> None:
    errors = [e.message for e in VALIDATOR.iter_errors(load(path.read_bytes(), str(path)).plain())]
    assert errors == []


@pytest.mark.parametrize("name", STRUCTURAL)
def test_structural_mistakes_fail_the_schema(name: str) -> None:
    path = ROOT / "tests" / "corpus" / f"{name}.yaml"
    assert list(VALIDATOR.iter_errors(load(path.read_bytes(), str(path)).plain()))


def test_every_property_has_its_keys_line_as_description() -> None:
    """What an editor shows on hover: each key's line from keys.py, without Markdown."""
    made = schema.schema()
    parts = {"TOP": made["$defs"]["script"], "PROGRAMME": made["$defs"]["programme"],
             "WEEK": made["$defs"]["week"], "ENTRY": made["$defs"]["entry"], "STAGE": made["$defs"]["stage"], "CUE": made["$defs"]["cue"],
             "PROFILE": made["$defs"]["profile"], "BLOCK": made["$defs"]["block"],
             "MUSIC": made["$defs"]["music"], "COUNTDOWN": made["$defs"]["countdown"]}
    for part, shape in parts.items():
        for key in getattr(keys, part):
            description = shape["properties"][key.name]["description"]
            assert description == key.doc.replace("**", "").replace("`", "")
            assert description and "`" not in description


@pytest.mark.parametrize(("item", "key"), [
    ("{name: A, duratoin: 5}", "duratoin"),
    ("{repeat: 2, stagse: [{name: A, duration: 5}]}", "stagse"),
])
def test_a_typo_inside_a_stage_or_a_block_is_reported_as_that_key(item: str, key: str) -> None:
    """A stage and a repeat block are told apart by 'repeat', so the best match an editor
    or check-jsonschema shows is the misspelt key, not a key that 'repeat' would need."""
    data = load(f"title: T\nstages:\n  - {item}\n".encode(), "drill.yaml").plain()
    best = jsonschema.exceptions.best_match(VALIDATOR.iter_errors(data))
    assert best is not None and key in best.message, best.message if best else None
