"""The watch twin (spec 20): a session's plan as a FIT workout file, the same workout the
audio gives, for Garmin, Coros, Suunto and Wahoo watches.

Written with Garmin's own FIT SDK (``garmin-fit-sdk``: its Encoder writes the header,
the definitions and the CRC as Garmin's watches read them). The SDK takes raw field
values, never subfield names: a time is ``duration_value`` in ms, a speed mm/s, a heart
rate bpm + 100. One workout step per stage; a repeat block whose rounds are the same
steps is a repeat step over them (``repeat_until_steps_cmplt``: ``duration_value`` the
index of the block's first step, ``target_value`` its rounds); a last round that leaves
stages out (``skip_last``) is written out after it, and what FIT's repeats cannot say (an
outer block around another, rounds that differ) is written round by round.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceguide.plan import Chapter, Plan
from voiceguide.script.model import Target

if TYPE_CHECKING:
    from voiceguide.store import Entries

SUFFIX = ".fit"
MAX_STRING_BYTES = 254  # a FIT string field holds 255 bytes with its terminating zero
# the file's time: FIT counts seconds from 1989-12-31T00:00:00Z; the workout's own instant
# in 2020..2030, from its content (title, sport, steps), so the same workout is the same
# file (and two are told apart by watches that key a workout on its time and serial)
FIT_2020 = 946_771_200
TEN_YEARS_S = 315_576_000
HEART_RATE_OFFSET = 100  # a custom heart-rate target is bpm + 100 (0..100 is a % of max)
MESG = {"file_id": 0, "workout": 26, "workout_step": 27}


@dataclass(frozen=True)
class Step:
    """A workout step as the watch shows it."""

    name: str
    duration_ms: int
    open: bool
    intensity: str
    target: Target | None
    notes: str

    def same_as(self, other: Step) -> bool:
        """The same step on the watch, whatever its notes say (``Hill 2 of 6``)."""
        return (self.name, self.duration_ms, self.open, self.intensity, self.target) == (
            other.name, other.duration_ms, other.open, other.intensity, other.target)


@dataclass(frozen=True)
class Repeat:
    """A repeat step: the *steps* of one round, done *rounds* times."""

    steps: tuple[Step, ...]
    rounds: int


Item = Step | Repeat


def workout(plan: Plan, kept: Entries | None = None) -> bytes:
    """The FIT workout file of *plan*: the same bytes for the same plan. With *kept* (the
    store's workouts) a workout encoded before, by this same SDK, is read back instead:
    a warm ``build --fit`` does not load the SDK (its import is most of the cost)."""
    messages = _steps(items(plan))
    identity = repr((plan.title, plan.sport, messages))
    key = hashlib.sha256(f"{_sdk()} {identity}".encode()).hexdigest()
    data = kept.get(key) if kept is not None else None
    if data is None:
        data = _encoded(plan, messages, hashlib.sha256(identity.encode()).digest())
        if kept is not None:
            with contextlib.suppress(OSError):  # an unwritable store costs the next build
                kept.put(key, data)
    return data


def _sdk() -> str:
    """Which FIT SDK encodes (its package's own __init__, which names its version), found
    without importing it."""
    spec = importlib.util.find_spec("garmin_fit_sdk")
    if spec is None or spec.origin is None:
        return "none"
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()[:16]


def _encoded(plan: Plan, messages: list[dict[str, Any]], digest: bytes) -> bytes:
    from garmin_fit_sdk import Encoder

    serial = int.from_bytes(digest[:4], "big") or 1  # uint32z: 0 is "no serial"
    encoder = Encoder()
    encoder.on_mesg(MESG["file_id"], {
        "type": "workout", "manufacturer": "development", "product": 0,
        "serial_number": serial,
        "time_created": FIT_2020 + int.from_bytes(digest[4:8], "big") % TEN_YEARS_S,
        "product_name": "voiceguide"})
    encoder.on_mesg(MESG["workout"], {
        "wkt_name": fit_string(plan.title), "sport": plan.sport, "sub_sport": "generic",
        "num_valid_steps": len(messages)})
    for message in messages:
        encoder.on_mesg(MESG["workout_step"], message)
    data: bytes = encoder.close()
    return data


def items(plan: Plan) -> list[Item]:
    """The stages as steps, repeat blocks folded into repeat steps where FIT can say them."""
    stages = [c for c in plan.chapters if c.stage is not None]
    found: list[Item] = []
    i = 0
    while i < len(stages):
        run = _block_run(stages, i)
        found += _folded(run) if len(run) > 1 else [step(stages[i])]
        i += len(run)
    return found


def step(chapter: Chapter) -> Step:
    return Step(chapter.name, chapter.end_ms - chapter.start_ms, chapter.open,
                chapter.intensity or "active", chapter.target, chapter.notes)


def _block_run(stages: list[Chapter], i: int) -> list[Chapter]:
    """The chapters of one pass of the innermost repeat block starting at *i* (its rounds
    1..N in order), or ``[stages[i]]`` when none starts there."""
    first = stages[i].repeat
    if first is None or first[2] != 1:
        return [stages[i]]
    j, last_round = i, 1
    while j < len(stages) and (here := stages[j].repeat) is not None \
            and here[:2] == first[:2] and here[2] >= last_round:
        last_round = here[2]
        j += 1
    return stages[i:j]


def _folded(run: list[Chapter]) -> list[Item]:
    """One block's rounds as a repeat step where its rounds are the same steps (a short
    last round, from ``skip_last``, written out after it); else round by round."""
    assert run[0].repeat is not None
    total = run[0].repeat[3]
    rounds: list[list[Step]] = [[] for _ in range(total)]
    for chapter in run:
        assert chapter.repeat is not None
        rounds[chapter.repeat[2] - 1].append(step(chapter))
    full = rounds if _alike(rounds) else rounds[:-1]
    if len(full) < 2 or not _alike(full) or any(not r for r in rounds):
        return [s for r in rounds for s in r]
    steps = tuple(
        s if all(r[n].notes == s.notes for r in full) else Step(
            s.name, s.duration_ms, s.open, s.intensity, s.target, "")
        for n, s in enumerate(full[0]))
    return [Repeat(steps, len(full)), *[s for r in rounds[len(full):] for s in r]]


def _alike(rounds: list[list[Step]]) -> bool:
    return all(len(r) == len(rounds[0]) and all(a.same_as(b) for a, b in zip(r, rounds[0],
                                                                          strict=True))
               for r in rounds)


def _steps(found: list[Item]) -> list[dict[str, Any]]:
    """The workout_step messages, indexed from 0 without gaps."""
    messages: list[dict[str, Any]] = []
    for item in found:
        if isinstance(item, Step):
            messages.append(_message(item, len(messages)))
            continue
        first = len(messages)
        for inner in item.steps:
            messages.append(_message(inner, len(messages)))
        messages.append({"message_index": len(messages),
                         "duration_type": "repeat_until_steps_cmplt",
                         "duration_value": first, "target_type": "open",
                         "target_value": item.rounds})
    return messages


def _message(s: Step, index: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_index": index, "wkt_step_name": fit_string(s.name),
        "duration_type": "open" if s.open else "time",
        "intensity": s.intensity, **_target(s.target)}
    if not s.open:
        message["duration_value"] = s.duration_ms
    if s.notes:
        message["notes"] = fit_string(s.notes)
    return message


def _target(target: Target | None) -> dict[str, Any]:
    """A step's target fields: pace as a speed range (mm/s, the faster pace the higher
    speed), heart rate in bpm + 100, a zone by number, cadence in steps a minute."""
    if target is None:
        return {"target_type": "open", "target_value": 0}
    if target.kind == "zone":
        return {"target_type": "heart_rate", "target_value": int(target.low)}
    if target.kind == "pace":
        low, high = (round(1_000_000 / s) for s in (target.high, target.low))
        kind = "speed"
    elif target.kind == "heart_rate":
        low, high = (int(v) + HEART_RATE_OFFSET for v in (target.low, target.high))
        kind = "heart_rate"
    else:
        low, high, kind = int(target.low), int(target.high), "cadence"
    return {"target_type": kind, "target_value": 0, "custom_target_value_low": low,
            "custom_target_value_high": high}


def fit_string(text: str) -> str:
    """*text* cut to what a FIT string holds, never inside a character."""
    data = text.encode()
    if len(data) <= MAX_STRING_BYTES:
        return text
    return data[:MAX_STRING_BYTES].decode(errors="ignore")
