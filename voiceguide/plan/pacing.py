"""Pace and stage lengths: where each duration range resolves, and ``--length``."""

from __future__ import annotations

from voiceguide.durations import clock, resolve_range
from voiceguide.errors import Problem, ScriptError
from voiceguide.plan.voices import Settings
from voiceguide.script import Script

MAX_SESSION_MS = 12 * 3600 * 1000  # longer is surely a mistake, and would take ages to build


def stage_paces(script: Script, settings: Settings, pace: float | None = None) -> list[float]:
    """Each stage's pace: the command line's, else the stage's own, else the script's."""
    chosen = pace if pace is not None else settings.pace
    return [chosen if chosen is not None else (s.pace if s.pace is not None else script.pace)
            for s in script.stages]


def stage_lengths(script: Script, paces: list[float]) -> list[int]:
    return [resolve_range(*stage.duration, pace)
            for stage, pace in zip(script.stages, paces, strict=True)]


def check_session_length(script: Script, lengths: list[int]) -> None:
    """ScriptError at the first stage that ends after ``MAX_SESSION_MS``."""
    end = 0
    for stage, length in zip(script.stages, lengths, strict=True):
        end += length
        if end > MAX_SESSION_MS:
            loc = stage.block_loc or stage.duration_loc  # a block's limit: at its repeat
            raise ScriptError([Problem(
                script.filename, loc.line, loc.column,
                f"stage {stage.number} '{stage.name}' would end at {clock(end)}; a session "
                f"lasts at most {clock(MAX_SESSION_MS)}: shorten the stages or lower the pace",
            )])


def pace_for_length(script: Script, target: int, fixed: int) -> tuple[float, list[str]]:
    """The pace whose session (stages plus *fixed*, all that does not stretch) comes closest
    to *target* ms, and a note on how it was met."""
    lows = sum(s.duration[0] for s in script.stages)
    highs = sum(s.duration[1] for s in script.stages)
    shortest, longest = fixed + lows, fixed + highs
    if highs == lows:
        pace = 0.5
    else:
        pace = min(1.0, max(0.0, (target - shortest) / (highs - lows)))
        pace = _closest_pace(script, pace, target - fixed)
    total = fixed + sum(stage_lengths(script, [pace] * len(script.stages)))
    if shortest <= target <= longest:
        note = f"--length {clock(target)}: pace {pace:.3f} gives {clock(total)}"
    else:
        note = (f"--length {clock(target)} is out of reach: this script lasts "
                f"{clock(shortest)} at pace 0 to {clock(longest)} at pace 1; "
                f"using pace {pace:g} ({clock(total)})")
    return pace, [note]


def _closest_pace(script: Script, pace: float, stages_target: int) -> float:
    # Rounding each stage to 0.1 s makes the total a step function of the
    # pace; look at a few nearby paces for the step closest to the target.
    span = sum(s.duration[1] - s.duration[0] for s in script.stages)
    step = 100 / span if span else 0
    candidates = {min(1.0, max(0.0, round(pace + k * step / 4, 6))) for k in range(-8, 9)}

    def miss(p: float) -> tuple[int, float]:
        total = sum(stage_lengths(script, [p] * len(script.stages)))
        return abs(total - stages_target), abs(p - pace)

    return min(sorted(candidates), key=miss)
