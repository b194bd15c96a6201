"""Script + settings + clip lengths → Plan: the exact timeline of a session.

Pure: no audio, no engines (importing it loads neither numpy nor any engine).

    model.py    the plan, its JSON and its readable table
    voices.py   which voice speaks what, and checking voices against the engines
    pacing.py   where duration ranges resolve, and --length
    layout.py   the timeline itself, and the speech it will ask for
"""

from voiceguide.plan.layout import (
    AFTER_INTRO_MS,
    AFTER_SOUND_MS,
    BETWEEN_SPEECH_MS,
    CUE_WAIT_MS,
    INTRO_LEAD_MS,
    TAIL_MS,
    choose_pace,
    make_plan,
    speech_requests,
)
from voiceguide.plan.model import (
    PLAN_FORMAT,
    Bed,
    Chapter,
    ClipLengths,
    Event,
    Plan,
    StageTiming,
    describe,
)
from voiceguide.plan.pacing import MAX_SESSION_MS, check_session_length
from voiceguide.plan.voices import Settings, Voice, resolve_voice, voice_refs

__all__ = [
    "AFTER_INTRO_MS", "AFTER_SOUND_MS", "BETWEEN_SPEECH_MS", "CUE_WAIT_MS", "INTRO_LEAD_MS", "Bed",
    "MAX_SESSION_MS", "PLAN_FORMAT", "TAIL_MS", "Chapter", "ClipLengths", "Event", "Plan",
    "Settings", "StageTiming", "Voice", "check_session_length", "choose_pace", "describe",
    "make_plan", "resolve_voice", "speech_requests", "voice_refs",
]
