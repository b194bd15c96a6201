"""The watch twin (spec 20): ``build --fit`` writes a FIT workout that Garmin's own decoder
and an independent one (fitdecode) both read, step for step as the plan says, and
``voiceguide import`` reads one back into a drill that checks and builds."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from voiceguide.cli import main

# open hills with a pace target, a repeat block whose last round leaves the jog out, a
# nested block (FIT repeats cannot nest here: the outer one is written round by round),
# heart-rate, zone and cadence targets, and every intensity
DRILL = """\
title: Hills and strides
sport: running
announce: false
start_sound: null
finish_sound: null
stages:
  - name: Warm-up
    duration: 20
    intensity: warmup
    target: {heart_rate: 120..140}
    say: Easy, at {target}.
  - repeat: 3
    name: Hills
    stages:
      - name: Hill
        open: true
        duration: 10..14
        target: {pace: "4:30..4:50/km"}
        say: Hill {round} of {rounds}. Tap next at the top.
      - name: Jog down
        duration: 8
        intensity: recovery
        skip_last: true
        say: Jog down.
  - repeat: 2
    stages:
      - name: Rest
        duration: 6
        intensity: rest
        target: {zone: 2}
      - repeat: 2
        stages:
          - name: Stride
            duration: 5
            target: {cadence: 170..180}
  - name: Cool-down
    duration: 12
    intensity: cooldown
    target: {pace: "8:00/mi"}
    say: Cool down.
"""
INTENSITY = {"warmup", "active", "rest", "recovery", "cooldown"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("fit")
    script = folder / "hills.yaml"
    script.write_text(DRILL, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
        result = CliRunner().invoke(main, ["build", str(script), "-o", str(folder / "hills.mp3"),
                                           "--fit", "--engine", "espeak-ng", "-q"])
        assert result.exit_code == 0, result.output
        plan = CliRunner().invoke(main, ["plan", str(script), "--json", "--engine",
                                         "espeak-ng"])
        assert plan.exit_code == 0, plan.output
    assert result.output.split() == [str(folder / "hills.mp3"), str(folder / "hills.fit")]
    return {"folder": folder, "script": script, "fit": folder / "hills.fit",
            "plan": json.loads(plan.output)}


def garmin(data: bytes) -> dict[str, list[dict[str, Any]]]:
    """The messages as Garmin's FIT SDK reads them, with no error and a valid CRC."""
    from garmin_fit_sdk import Decoder, Stream

    assert Decoder(Stream.from_byte_array(data)).is_fit()
    assert Decoder(Stream.from_byte_array(data)).check_integrity()
    messages, errors = Decoder(Stream.from_byte_array(data)).read()
    assert errors == []
    return messages


def fitdecode_steps(data: bytes) -> tuple[list[str], list[dict[str, Any]]]:
    """The message names and the workout steps as fitdecode reads them (CRC checked)."""
    import fitdecode

    names, steps = [], []
    with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                names.append(frame.name)
                if frame.name == "workout_step":
                    steps.append({f.name: f.value for f in frame.fields})
    return names, steps


def unrolled(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps a watch runs, in order: repeat steps done out (as the watch does them)."""
    done: list[dict[str, Any]] = []
    index = 0
    counts: dict[int, int] = {}
    while index < len(steps):
        step = steps[index]
        if step["duration_type"] == "repeat_until_steps_cmplt":
            counts[index] = counts.get(index, 0) + 1
            if counts[index] < step["target_value"]:
                index = step["duration_value"]
                continue
            counts[index] = 0
        else:
            done.append(step)
        index += 1
    return done


def expected_target(target: dict[str, Any] | None) -> tuple[str, int, int, int]:
    """(target_type, target_value, low, high) for a plan chapter's target, in FIT's raw
    units: a speed range in mm/s, heart rate bpm + 100, a zone by number."""
    if target is None:
        return ("open", 0, 0, 0)
    if target["kind"] == "zone":
        return ("heart_rate", int(target["low"]), 0, 0)
    if target["kind"] == "pace":
        return ("speed", 0, round(1e6 / target["high"]), round(1e6 / target["low"]))
    if target["kind"] == "heart_rate":
        return ("heart_rate", 0, int(target["low"]) + 100, int(target["high"]) + 100)
    return ("cadence", 0, int(target["low"]), int(target["high"]))


def test_both_decoders_read_every_step_as_the_plan_says(built: dict[str, Any]) -> None:
    data = built["fit"].read_bytes()
    messages = garmin(data)
    assert messages["file_id_mesgs"][0]["type"] == "workout"
    workout = messages["workout_mesgs"][0]
    assert workout["wkt_name"] == "Hills and strides" and workout["sport"] == "running"
    steps = messages["workout_step_mesgs"]
    assert workout["num_valid_steps"] == len(steps)
    assert [s["message_index"] for s in steps] == list(range(len(steps)))  # from 0, no gaps
    names, other = fitdecode_steps(data)
    assert names[:2] == ["file_id", "workout"] and names.count("workout_step") == len(steps)
    stages = [c for c in built["plan"]["chapters"] if c["stage"] is not None]
    for decoded in (steps, [_raw(s) for s in other]):
        done = unrolled(decoded)
        assert len(done) == len(stages)
        for step, chapter in zip(done, stages, strict=True):
            assert step["wkt_step_name"] == chapter["title"].split(": ", 1)[1].split(" (")[0]
            if chapter["open"]:
                assert step["duration_type"] == "open" and step.get("duration_value") is None
            else:
                assert step["duration_type"] == "time"
                assert step["duration_value"] == round(1000 * (chapter["end_s"]
                                                               - chapter["start_s"]))
            assert step["intensity"] in INTENSITY
            got = (step["target_type"], step["target_value"] or 0,
                   step.get("custom_target_value_low") or 0,
                   step.get("custom_target_value_high") or 0)
            assert got == expected_target(chapter["target"]), chapter["title"]
    intensities = [s["intensity"] for s in unrolled(steps)]
    assert intensities[0] == "warmup" and intensities[-1] == "cooldown"
    assert {"recovery", "rest", "active"} <= set(intensities)


def _raw(fields: dict[str, Any]) -> dict[str, Any]:
    """fitdecode's step with the raw values Garmin's decoder also gives: fitdecode names
    subfields (``duration_time`` in s, ``repeat_steps``, ``custom_target_speed_low`` in
    m/s); the raw field is the one the file holds."""
    kind = fields["duration_type"]
    raw = dict(fields)
    if "duration_time" in fields:
        raw["duration_value"] = round(fields["duration_time"] * 1000)
    if "duration_step" in fields:
        raw["duration_value"] = fields["duration_step"]
    if kind == "repeat_until_steps_cmplt":
        raw["target_value"] = fields["repeat_steps"]
    for end in ("low", "high"):
        for name, scale in (("speed", 1000), ("heart_rate", 1), ("cadence", 1)):
            value = fields.get(f"custom_target_{name}_{end}")
            if value is not None:
                raw[f"custom_target_value_{end}"] = round(value * scale)
    zone = [fields.get(f"target_{n}_zone") for n in ("hr", "speed", "cadence")]
    raw["target_value"] = raw.get("target_value") or next((z for z in zone if z), 0)
    return raw


def test_a_repeat_block_is_a_repeat_step_and_skip_last_unrolls_the_last_round(
        built: dict[str, Any]) -> None:
    steps = garmin(built["fit"].read_bytes())["workout_step_mesgs"]
    kinds = [(s.get("wkt_step_name"), s["duration_type"]) for s in steps]
    repeats = [s for s in steps if s["duration_type"] == "repeat_until_steps_cmplt"]
    # Hills: [Hill, Jog down] twice, then the last Hill alone; the strides block inside
    # the outer one is a repeat step in each of the outer block's two rounds
    assert kinds[1:4] == [("Hill", "open"), ("Jog down", "time"),
                          (None, "repeat_until_steps_cmplt")]
    assert repeats[0]["duration_value"] == 1 and repeats[0]["target_value"] == 2
    assert kinds[4] == ("Hill", "open")
    assert [(r["duration_value"], r["target_value"]) for r in repeats[1:]] == [(6, 2), (9, 2)]
    # notes that differ by round ({round}) are left off the repeated step
    assert "notes" not in steps[1] or steps[1]["notes"] is None
    assert steps[4]["notes"] == "Hill 3 of 3. Tap next at the top."
    assert steps[0]["notes"] == "Easy, at a heart rate of 120 to 140."


def test_the_same_session_gives_the_same_bytes(built: dict[str, Any], tmp_path: Path,
                                               private_cache: Path) -> None:
    result = CliRunner().invoke(main, ["build", str(built["script"]), "-o",
                                       str(tmp_path / "again.mp3"), "--fit", "--engine",
                                       "espeak-ng", "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "again.fit").read_bytes() == built["fit"].read_bytes()


def test_names_past_what_a_fit_string_holds_are_cut_between_characters(
        tmp_path: Path, private_cache: Path) -> None:
    from voiceguide.watch.fit import MAX_STRING_BYTES

    script = tmp_path / "long.yaml"
    script.write_text(f"title: {'é' * 300}\nannounce: false\nstart_sound: null\n"
                      f"finish_sound: null\nstages:\n  - name: {'ü' * 200}\n"
                      "    duration: 5\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", str(script), "--fit", "--engine", "espeak-ng",
                                       "-q", "-o", str(tmp_path / "long.mp3")])
    assert result.exit_code == 0, result.output
    messages = garmin((tmp_path / "long.fit").read_bytes())
    name = messages["workout_mesgs"][0]["wkt_name"]
    assert name == "é" * (MAX_STRING_BYTES // 2)
    assert messages["workout_step_mesgs"][0]["wkt_step_name"] == "ü" * (MAX_STRING_BYTES // 2)


def test_an_imported_workout_checks_builds_and_keeps_its_steps(
        built: dict[str, Any], tmp_path: Path, private_cache: Path) -> None:
    drill = tmp_path / "back.yaml"
    result = CliRunner().invoke(main, ["import", str(built["fit"]), "-o", str(drill)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(drill)
    import yaml

    read = yaml.safe_load(drill.read_text(encoding="utf-8"))
    blocks = [s for s in read["stages"] if "repeat" in s]
    assert blocks[0]["repeat"] == 2 and [s["name"] for s in blocks[0]["stages"]] == [
        "Hill", "Jog down"]
    assert blocks[0]["stages"][0]["open"] is True
    assert blocks[0]["stages"][0]["target"] == {"pace": "4:30..4:50/km"}
    assert read["stages"][0]["target"] == {"heart_rate": "120..140"}
    checked = CliRunner().invoke(main, ["check", str(drill), "--engine", "espeak-ng"])
    assert checked.exit_code == 0, checked.output
    again = CliRunner().invoke(main, ["build", str(drill), "--fit", "--engine", "espeak-ng",
                                      "-q", "-o", str(tmp_path / "back.mp3")])
    assert again.exit_code == 0, again.output
    first = unrolled(garmin(built["fit"].read_bytes())["workout_step_mesgs"])
    second = unrolled(garmin((tmp_path / "back.fit").read_bytes())["workout_step_mesgs"])
    keep = ("wkt_step_name", "intensity", "target_type", "target_value",
            "custom_target_value_low", "custom_target_value_high")
    assert [{k: s.get(k) for k in keep} for s in second] == [
        {k: s.get(k) for k in keep} for s in first]
    assert [s["duration_type"] for s in second] == [s["duration_type"] for s in first]


def _activity() -> bytes:
    from garmin_fit_sdk import Encoder

    encoder = Encoder()
    encoder.on_mesg(0, {"type": "activity", "manufacturer": "development", "product": 0,
                        "serial_number": 1, "time_created": 1_000_000_000})
    encoder.on_mesg(20, {"timestamp": 1_000_000_001, "heart_rate": 120})
    return bytes(encoder.close())


def _bad_crc(data: bytes) -> bytes:
    return data[:-2] + bytes([data[-2] ^ 0xFF, data[-1]])


@pytest.mark.parametrize("kind", ["activity", "truncated", "mp3", "junk", "empty", "bad crc",
                                  "huge junk", "no header"])
def test_what_is_not_a_fit_workout_is_one_line_and_writes_nothing(
        built: dict[str, Any], tmp_path: Path, kind: str) -> None:
    fit = built["fit"].read_bytes()
    data = {"activity": _activity(), "truncated": fit[: len(fit) // 2],
            "mp3": (built["folder"] / "hills.mp3").read_bytes(),
            "junk": bytes(range(256)) * 40, "empty": b"", "bad crc": _bad_crc(fit),
            "huge junk": b"\x0e\x10" * (25 << 20), "no header": fit[14:]}[kind]
    source = tmp_path / "workout.fit"
    source.write_bytes(data)
    result = CliRunner().invoke(main, ["import", str(source)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(source) in lines[0] and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["workout.fit"]


def test_import_never_replaces_a_file(built: dict[str, Any], tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("my own notes\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(built["fit"]), "-o", str(mine)])
    assert result.exit_code == 2 and "exists" in result.output
    assert mine.read_text(encoding="utf-8") == "my own notes\n"
    link = tmp_path / "link.yaml"
    link.symlink_to(tmp_path / "nowhere.yaml")
    result = CliRunner().invoke(main, ["import", str(built["fit"]), "-o", str(link)])
    assert result.exit_code == 2 and not (tmp_path / "nowhere.yaml").exists()
    control = CliRunner().invoke(main, ["import", str(built["fit"]), "-o",
                                        str(tmp_path / "new.yaml")])
    assert control.exit_code == 0 and (tmp_path / "new.yaml").is_file()


def test_the_file_is_written_by_an_atomic_link_that_refuses_an_existing_file(
        tmp_path: Path) -> None:
    """A file that appears between the check and the write is kept, not replaced."""
    from voiceguide.errors import UsageError
    from voiceguide.files import write_new

    target = tmp_path / "raced.yaml"
    target.write_text("theirs\n", encoding="utf-8")
    with pytest.raises(UsageError):
        write_new(target, b"ours\n")
    assert target.read_text(encoding="utf-8") == "theirs\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raced.yaml"]


def test_a_warm_build_reads_the_workout_back_and_a_damaged_one_is_made_again(
        built: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same bytes whatever the store holds: none, the workout kept before, or a
    damaged copy of it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "store"))
    def again(name: str) -> bytes:
        result = CliRunner().invoke(main, ["build", str(built["script"]), "-o",
                                           str(tmp_path / f"{name}.mp3"), "--fit", "--engine",
                                           "espeak-ng", "-q"])
        assert result.exit_code == 0, result.output
        return (tmp_path / f"{name}.fit").read_bytes()

    expected = built["fit"].read_bytes()
    assert again("cold") == expected
    kept = sorted((tmp_path / "store" / "voiceguide" / "watch").glob("??/*"))
    assert len(kept) == 1
    assert again("warm") == expected
    kept[0].write_bytes(kept[0].read_bytes()[:-3] + b"bad")
    assert again("damaged") == expected
