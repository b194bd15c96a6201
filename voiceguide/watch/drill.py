"""A FIT workout read back into a drill script (spec 20.5): a stage per step, repeat steps
as repeat blocks, open steps as open stages, the notes as what the stage says.

The file is judged before it is decoded (its size, its header, its declared length) and
decoded by Garmin's FIT SDK, whose errors, a bad CRC among them, refuse it. The script is
written from the key tables (``script/keys.py``), so a key renamed there is renamed here.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import yaml

from voiceguide.durations import MAX_DURATION_MS, clock
from voiceguide.errors import UsageError
from voiceguide.script import keys, model
from voiceguide.watch.fit import HEART_RATE_OFFSET
from voiceguide.words import MILE_M

MAX_FIT_BYTES = 1 << 20  # a workout of 1000 steps with the longest notes is a third of it
OPEN_MS = 5 * 60_000  # what an open step may last at most, where FIT gives no length
SPEECH_MS_PER_CHAR = 80  # how long a note takes to say, to keep it only where it fits
START_MS = 3_000  # the start sound and the announcement before it
SHORT_MS = 8_000  # a step this short starts with its sound alone
FIT_SPORTS = {"running": "running", "walking": "walking", "cycling": "cycling",
              "training": "training"}
FIT_INTENSITIES = {"warmup": "warmup", "active": "active", "rest": "rest",
                   "recovery": "recovery", "cooldown": "cooldown", "interval": "active"}


class NotAWorkout(UsageError):
    """The file is not a FIT workout voiceguide can read."""


def drill_yaml(path: Path) -> str:
    """The drill script of the FIT workout at *path*."""
    messages = _decoded(path)
    workout = (messages.get("workout_mesgs") or [{}])[0]
    title = str(workout.get("wkt_name") or path.stem) or "Workout"
    steps = messages.get("workout_step_mesgs") or []
    if not steps:
        raise NotAWorkout(f"{path}: a FIT workout with no steps; nothing to import")
    top = _keys(keys.TOP)
    script: dict[str, Any] = {top["version"]: 1, top["title"]: title}
    sport = FIT_SPORTS.get(str(workout.get("sport")))
    if sport and sport != model.SPORT:
        script[top["sport"]] = sport
    script[top["stages"]] = _items(path, steps)
    head = (f"# Imported from {path.name} by voiceguide import: a stage per workout step.\n"
            "# Open steps last at most "
            f"{clock(OPEN_MS)} here: give each its longest time.\n")
    return head + yaml.safe_dump(script, sort_keys=False, allow_unicode=True, width=88)


def _decoded(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The messages of the FIT file at *path*, or NotAWorkout saying what it is instead."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FIT_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    if len(data) > MAX_FIT_BYTES:
        raise NotAWorkout(f"{path}: over {MAX_FIT_BYTES // 1024} KB, far larger than a FIT "
                          "workout; not imported")
    if len(data) < 14 or data[0] not in (12, 14) or data[8:12] != b".FIT":
        raise NotAWorkout(f"{path}: not a FIT file (no FIT header)")
    header, size = data[0], struct.unpack_from("<I", data, 4)[0]
    if header + size + 2 != len(data):
        raise NotAWorkout(f"{path}: a FIT file of {len(data)} bytes whose header says "
                          f"{header + size + 2}: cut short or chained; not imported")
    from garmin_fit_sdk import Decoder, Stream

    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read(
        convert_datetimes_to_dates=False)
    if errors:  # a bad CRC among them: the messages come back all the same
        raise NotAWorkout(f"{path}: a damaged FIT file ({str(errors[0])[:80]})")
    kind = [m.get("type") for m in messages.get("file_id_mesgs", [])]
    if kind != ["workout"]:
        what = f"a FIT {kind[0]} file" if kind and isinstance(kind[0], str) else "a FIT file"
        raise NotAWorkout(f"{path}: {what}, not a workout; voiceguide imports workouts")
    return {str(k): list(v) for k, v in messages.items()}  # type: ignore[call-overload]


def _items(path: Path, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stages and repeat blocks of the *steps*, in order: a repeat step makes the items
    since the step it repeats from into a block."""
    items: list[dict[str, Any]] = []
    firsts: list[int] = []  # the index of the step each item begins with
    for index, message in enumerate(steps):
        if not str(message.get("duration_type", "")).startswith("repeat"):
            items.append(_stage(message, index))
            firsts.append(index)
            continue
        first = message.get("duration_value")
        rounds = message.get("target_value") if message.get(
            "duration_type") == "repeat_until_steps_cmplt" else 1
        if not isinstance(first, int) or first not in firsts:
            raise NotAWorkout(f"{path}: step {index} repeats from step {first}, which does not "
                              "begin a step or block before it; not a workout voiceguide reads")
        if not isinstance(rounds, int) or not 1 <= rounds <= model.MAX_ROUNDS:
            raise NotAWorkout(f"{path}: step {index} repeats {rounds} times; a drill "
                              f"repeats at most {model.MAX_ROUNDS} times")
        cut = firsts.index(first)
        block = {BLOCK["repeat"]: rounds, BLOCK["stages"]: items[cut:]}
        del items[cut:], firsts[cut + 1:]
        items.append(block)
    return items


def _stage(message: dict[str, Any], index: int) -> dict[str, Any]:
    """One step as a stage: its name, length (or open), intensity, target and notes."""
    k = _keys(keys.STAGE)
    stage: dict[str, Any] = {k["name"]: str(message.get("wkt_step_name") or "")
                             or f"Step {index + 1}"}
    length = message.get("duration_value")
    if message.get("duration_type") == "time" and isinstance(length, int) and length > 0:
        ms = min(length, MAX_DURATION_MS)
        stage[k["duration"]] = clock(ms)
    else:  # open, or a distance or heart rate FIT measures and a drill cannot
        ms = OPEN_MS
        stage[k["open"]] = True
        stage[k["duration"]] = clock(ms)
    intensity = FIT_INTENSITIES.get(str(message.get("intensity")))
    if intensity and intensity != model.INTENSITY:
        stage[k["intensity"]] = intensity
    target = _target(message)
    if target:
        stage[k["target"]] = target
    if ms < SHORT_MS:
        stage[k["announce"]] = False
    notes = str(message.get("notes") or "").strip()
    if notes and START_MS + SPEECH_MS_PER_CHAR * len(notes) + 1000 <= ms:
        stage[k["say"]] = notes.replace("{", "{{").replace("}", "}}")
    return stage


def _target(message: dict[str, Any]) -> dict[str, Any] | None:
    """The step's target as a drill's, where it is one a drill can hold (19.1's bounds)."""
    kind, value = message.get("target_type"), message.get("target_value") or 0
    low, high = message.get("custom_target_value_low"), message.get("custom_target_value_high")
    custom = isinstance(low, int) and isinstance(high, int) and 0 < low <= high
    t = _keys(keys.TARGET)
    if kind == "heart_rate" and not custom and isinstance(value, int) \
            and model.MIN_ZONE <= value <= model.MAX_ZONE:
        return {t["zone"]: value}
    if not custom:
        return None
    assert isinstance(low, int) and isinstance(high, int)
    if kind == "heart_rate" and low > HEART_RATE_OFFSET:
        low, high = low - HEART_RATE_OFFSET, high - HEART_RATE_OFFSET
        if low >= model.MIN_HEART_RATE and high <= model.MAX_HEART_RATE:
            return {t["heart_rate"]: f"{low}..{high}" if low != high else low}
    if kind == "cadence" and low >= model.MIN_CADENCE and high <= model.MAX_CADENCE:
        return {t["cadence"]: f"{low}..{high}" if low != high else low}
    if kind == "speed":  # mm/s: the faster speed is the lower pace
        fast, slow = 1_000_000 / high, 1_000_000 / low  # s/km
        if round(fast) >= model.MIN_PACE_S and round(slow) <= model.MAX_PACE_S:
            return {t["pace"]: _pace(fast, slow, high, low)}
    return None


def _pace(fast: float, slow: float, high: int, low: int) -> str:
    """The pace range in whole seconds per km, or per mile where that gives back the same
    speeds (a coach who wrote ``8:00/mi``)."""
    per, unit = next(((per, unit) for per, unit in ((1.0, "km"), (MILE_M / 1000, "mi"))
                      if [round(1_000_000 * per / round(e * per)) for e in (fast, slow)]
                      == [high, low]), (1.0, "km"))
    ends = [round(fast * per), round(slow * per)]
    text = clock(ends[0] * 1000) if ends[0] == ends[1] else \
        f"{clock(ends[0] * 1000)}..{clock(ends[1] * 1000)}"
    return f"{text}/{unit}"


def _keys(table: tuple[keys.Key, ...]) -> dict[str, str]:
    """A part's keys by name: the script is written with the reader's own keys, and a key
    renamed there is a KeyError here, never a script the reader refuses."""
    return {name: name for name in keys.names(table)}


BLOCK = _keys(keys.BLOCK)
