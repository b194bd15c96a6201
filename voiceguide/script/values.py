"""Reading a script's values: scalars, sounds and voices, speech; and reporting problems.

``Values`` is the base of the ``Reader`` (``reader.py``): everything here reads one value
and reports what is wrong with it at its line and column, collecting every problem.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide import engines
from voiceguide.durations import (
    DurationError,
    Offset,
    parse_duration,
    parse_offset,
)
from voiceguide.errors import Problem, quoted
from voiceguide.script.keys import (
    PROFILE_KEYS,
    TARGET_KEYS,
)
from voiceguide.script.model import (
    BUILTIN_SOUNDS,
    ENGINES,
    MAX_CADENCE,
    MAX_HEART_RATE,
    MAX_PACE_S,
    MAX_RATE,
    MAX_SPEECH_CHARS,
    MAX_TEXT_CHARS,
    MAX_ZONE,
    MIN_CADENCE,
    MIN_HEART_RATE,
    MIN_PACE_S,
    MIN_ZONE,
    PLACEHOLDER_RE,
    PROGRAMME_PLACEHOLDERS,
    SESSION_PLACEHOLDERS,
    STAGE_PLACEHOLDERS,
    TARGET_KINDS,
    D,
    Loc,
    Pause,
    Speech,
    SpeechItem,
    T,
    Target,
    Text,
    VoiceProfile,
    VoiceRef,
)
from voiceguide.words import MILE_M, is_language_code

if TYPE_CHECKING:
    from voiceguide.script.source import Node



def unprintable(char: str, lines: bool) -> bool:
    """Control characters and lone surrogates: they would reach terminals, tags and chapters."""
    if char == "\t" or (lines and char == "\n"):
        return False
    return unicodedata.category(char) in ("Cc", "Cs")

def pronounceable(text: str) -> bool:
    """A letter or digit, or a placeholder (which speaks words): something an engine can say;
    zero-width characters, emoji or punctuation alone are not."""
    plain = text.replace("{{", "").replace("}}", "")
    return "{" in plain or any(unicodedata.category(c)[0] in "LN" for c in plain)


class Invalid(Exception):
    """A value was reported as a problem; the caller skips it."""


class TooMany(Exception):
    """Repeat blocks expand past ``MAX_STAGES``; *node* is the outermost block's repeat."""

    def __init__(self, node: Node) -> None:
        self.node = node


class Values:
    """One script's reading so far: its problems, its sound names, what it says."""

    def __init__(self, path: Path, in_programme: bool = False) -> None:
        self.path = path
        self.in_programme = in_programme  # {week} and its kin speak only there
        self.filename = str(path)
        self.problems: list[Problem] = []
        self.sound_names: set[str] = set(BUILTIN_SOUNDS)
        self.spoken: set[str] = set()  # the different texts so far, for MAX_SPEECH_CHARS
        self.spoken_chars = 0
        self.stage_kind: tuple[bool, bool] | None = None  # in a stage: (open, has a target)

    # -- reporting ---------------------------------------------------------

    def problem(self, node: Node, message: str) -> None:
        self.problems.append(Problem(self.filename, node.line, node.column, message))

    def invalid(self, node: Node, message: str) -> Invalid:
        self.problem(node, message)
        return Invalid()

    def keys(self, node: Node, allowed: tuple[str, ...], what: str) -> None:
        for key, key_node in node.keys.items():
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f"; {what} keys are: " + ", ".join(
                allowed
            )
            self.problem(key_node, f"unknown key '{key}' in {article(what)}{hint}")

    # -- keys ---------------------------------------------------------------

    def required(self, parent: Node, key: str, read: Callable[[Node], T]) -> T | None:
        if key not in parent.value:
            self.problem(parent, f"missing required key '{key}'")
            return None
        try:
            return read(parent.value[key])
        except Invalid:
            return None

    def optional(self, values: dict[str, Node], key: str, read: Callable[[Node], T],
                 default: D) -> T | D:
        if key not in values:
            return default
        try:
            return read(values[key])
        except Invalid:
            return default

    # -- scalar values -----------------------------------------------------

    def text(self, node: Node, lines: bool = False) -> str:
        """A text as its author wrote it (``1.50`` stays ``1.50``); one line unless *lines*."""
        if isinstance(node.value, bool) or node.value is None or isinstance(
            node.value, list | dict
        ):
            raise self.invalid(node, f"expected text, got {kind_of(node)}")
        text = (node.value if isinstance(node.value, str) else node.raw or str(node.value)).strip()
        if not text:
            raise self.invalid(node, "expected text, got an empty value")
        if len(text) > MAX_TEXT_CHARS:
            raise self.invalid(node, f"text of {len(text):,} characters; at most "
                               f"{MAX_TEXT_CHARS:,} per item (split it into a list)")
        bad = next((c for c in text if unprintable(c, lines)), None)
        if bad is not None:
            what = ("a line break" if bad in "\n\r" else f"the unpaired surrogate U+{ord(bad):04X}"
                    if unicodedata.category(bad) == "Cs"
                    else f"the control character U+{ord(bad):04X}")
            raise self.invalid(node, f"this text contains {what}; write it "
                               + ("without it" if lines or bad not in "\n\r" else "on one line"))
        return text

    def lines(self, node: Node) -> str:
        return self.text(node, lines=True)

    def version(self, node: Node) -> int:
        if node.value != 1 or isinstance(node.value, bool):
            raise self.invalid(node, f"unsupported version {node.value!r}: this voiceguide "
                               "reads drill script version 1")
        return 1

    def language(self, node: Node) -> str:
        text = self.text(node)
        if not is_language_code(text):
            raise self.invalid(node, f"language {text!r} is not a language code such as "
                               "en, de or en-gb")
        return text.replace("_", "-").lower()

    def number(self, node: Node, what: str, low: float, high: float,
               low_open: bool = False) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            raise self.invalid(node, f"{what} must be a number, got {kind_of(node)}")
        if value < low or value > high or (low_open and value == low):
            bracket = "(" if low_open else "["
            raise self.invalid(node, f"{what} must be in {bracket}{low:g}, {high:g}], got "
                               f"{value:g}")
        return float(value)

    def pace(self, node: Node) -> float:
        return self.number(node, "pace", 0, 1)

    def duration(self, node: Node) -> int:
        try:
            return parse_duration(node.value)
        except DurationError as exc:
            raise self.invalid(node, str(exc)) from None

    def offset(self, node: Node) -> Offset:
        try:
            return parse_offset(node.value)
        except DurationError as exc:
            raise self.invalid(node, str(exc)) from None

    def announce(self, node: Node) -> str | bool:
        if node.value is False:
            return False
        if node.value is True:
            raise self.invalid(node, "announce is a text such as 'Stage {number}. {name}.' "
                               "or false")
        text = self.text(node)
        self.placeholders(node, text, STAGE_PLACEHOLDERS)
        self.pronounceable(node, text)
        return text

    def flag(self, node: Node, key: str) -> bool:
        if not isinstance(node.value, bool):
            raise self.invalid(node, f"{key} is true or false, got {kind_of(node)}")
        return node.value

    def choice(self, node: Node, key: str, choices: tuple[str, ...]) -> str:
        if node.value not in choices:
            shown = node.raw or str(node.value) if not node.is_mapping and not node.is_list \
                else kind_of(node)
            raise self.invalid(node, f"{key} is one of {', '.join(choices)}, got "
                               f"{quoted(str(shown))}")
        return str(node.value)

    def target(self, node: Node) -> Target:
        """``{pace: 4:30..4:50/km}``, ``{heart_rate: 140..155}``, ``{zone: 2}`` or
        ``{cadence: 170..180}``, within their bounds, the low end first (spec 19)."""
        if not node.is_mapping:
            raise self.invalid(node, "target is a mapping with one of pace, heart_rate, zone "
                               f"or cadence, such as {{pace: 4:30..4:50/km}}; got {kind_of(node)}")
        self.keys(node, TARGET_KEYS, "target")
        found = [k for k in TARGET_KINDS if k in node.value]
        if len(found) != 1:
            raise self.invalid(node, "a target has exactly one of pace, heart_rate, zone or "
                               f"cadence (found {' and '.join(found) or 'none'})")
        kind = found[0]
        value = node.value[kind]
        if kind == "pace":
            return self.pace_target(value)
        bounds = {"heart_rate": (MIN_HEART_RATE, MAX_HEART_RATE, "beats a minute"),
                  "zone": (MIN_ZONE, MAX_ZONE, "a heart-rate zone"),
                  "cadence": (MIN_CADENCE, MAX_CADENCE, "steps a minute")}[kind]
        low, high = self.whole_range(value, kind, bounds)
        return Target(kind, low, high)  # type: ignore[arg-type]

    def whole_range(self, node: Node, key: str, bounds: tuple[int, int, str]) -> tuple[int, int]:
        lowest, highest, what = bounds
        text = node.raw if node.raw is not None else str(node.value)
        match = re.fullmatch(r"\s*(\d{1,3})\s*(?:\.\.\s*(\d{1,3})\s*)?", text) \
            if not isinstance(node.value, bool) and isinstance(node.value, (int, str)) else None
        if match is None:
            example = {"heart_rate": "140..155", "zone": "2", "cadence": "170..180"}[key]
            raise self.invalid(node, f"{key} is a whole number or a range such as {example} "
                               f"({what}), got {quoted(text)}")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if not (lowest <= low <= highest and lowest <= high <= highest):
            raise self.invalid(node, f"{key} must be {lowest}..{highest} ({what}), got "
                               f"{quoted(text)}")
        if low > high:
            raise self.invalid(node, f"{key}: the low end comes first, got {quoted(text)}")
        return low, high

    def pace_target(self, node: Node) -> Target:
        text = str(node.value) if not node.is_mapping and not node.is_list else ""
        match = re.fullmatch(r"\s*(\d{1,2}):([0-5]\d)\s*(?:\.\.\s*(\d{1,2}):([0-5]\d)\s*)?"
                             r"/\s*(km|mi)\s*", text)
        if match is None:
            raise self.invalid(node, "pace is a time per km or mile such as 4:30..4:50/km or "
                               f"7:30/mi, got {quoted(text) if text else kind_of(node)}")
        low_s = int(match.group(1)) * 60 + int(match.group(2))
        high_s = int(match.group(3)) * 60 + int(match.group(4)) if match.group(3) else low_s
        per_mile = match.group(5) == "mi"
        scale = 1000 / MILE_M if per_mile else 1.0
        low, high = round(low_s * scale, 3), round(high_s * scale, 3)
        if not (MIN_PACE_S <= low <= MAX_PACE_S and MIN_PACE_S <= high <= MAX_PACE_S):
            raise self.invalid(node, "pace must be 2:00..20:00 per km (the same speeds per "
                               f"mile), got {quoted(text)}")
        if low > high:
            raise self.invalid(node, f"pace: the low end (the faster) comes first, got "
                               f"{quoted(text)}")
        return Target("pace", low, high, per_mile)

    def pronounceable(self, node: Node, text: str) -> None:
        if not pronounceable(text):
            raise self.invalid(node, "this text has nothing to pronounce (no letter or digit); "
                               "write words, or use {pause: N} for silence")

    def sound_or_null(self, node: Node) -> str | None:
        if node.value is None:
            return None
        return self.sound_name(node)

    def sound_name(self, node: Node) -> str:
        name = self.text(node)
        if name not in self.sound_names:
            known = sorted(self.sound_names)
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else "; sounds are: " + ", ".join(
                known
            )
            raise self.invalid(node, f"unknown sound '{name}'{hint}")
        return name

    def voice_ref(self, node: Node) -> VoiceRef:
        return VoiceRef(self.text(node), Loc(node.line, node.column))

    def placeholders(self, node: Node, text: str, allowed: frozenset[str]) -> None:
        placed = []  # {week} and its kin, outside a programme: one problem for the text
        for match in PLACEHOLDER_RE.finditer(text):
            name = match.group(1)
            if self.stage_kind is not None and name in ("remaining", "target"):
                is_open, has_target = self.stage_kind
                if name == "remaining" and is_open:
                    self.problem(node, "{remaining} has no meaning in an open stage: the "
                                 "runner ends it")
                    continue
                if name == "target" and not has_target:
                    self.problem(node, "{target} speaks the stage's target, and this stage "
                                 "has none: add one, such as target: {pace: 4:30..4:50/km}")
                    continue
            if name is None or name in allowed:  # {{ or }}, or a known placeholder
                continue
            if name in PROGRAMME_PLACEHOLDERS:
                if not self.in_programme and f"{{{name}}}" not in placed:
                    placed.append(f"{{{name}}}")
                continue
            if name in STAGE_PLACEHOLDERS:
                self.problem(node, f"{{{name}}} only means something inside a stage")
            else:
                known = sorted(allowed | (set(PROGRAMME_PLACEHOLDERS) if self.in_programme
                                          else set()))
                self.problem(node, f"unknown placeholder {{{name}}}; use "
                             + ", ".join(f"{{{p}}}" for p in known))
        if placed:
            self.problem(node, f"{', '.join(placed)} only {'mean' if len(placed) > 1 else 'means'}"
                         " something in a session of a programme, which gives its week and "
                         "session")

    # -- sounds and voices -------------------------------------------------

    def sounds(self, node: Node) -> tuple[dict[str, Path], dict[str, Loc]]:
        if not node.is_mapping:
            raise self.invalid(node, f"sounds is a mapping of name: file, got {kind_of(node)}")
        paths: dict[str, Path] = {}
        locs: dict[str, Loc] = {}
        for name, value in node.value.items():
            key = node.keys[name]
            if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
                self.problem(key, f"sound name '{name}' may use letters, digits, _ . - only")
                continue
            try:
                relative = self.text(value)
            except Invalid:
                continue
            paths[name] = self.sound_path(value, relative)
            locs[name] = Loc(value.line, value.column)
            self.sound_names.add(name)
        return paths, locs

    def sound_path(self, node: Node, relative: str, what: str = "sound") -> Path:
        """A sound path resolved inside the script's folder (symlinks followed)."""
        folder = self.path.parent.resolve()
        candidate = Path(relative)
        if candidate.is_absolute():
            self.problem(node, f"{what} path '{relative}' is absolute; give a path relative to "
                         "the script's folder")
            return candidate
        try:
            resolved = (folder / candidate).resolve()
        except (RuntimeError, OSError):  # a loop of symbolic links, or a name too long
            self.problem(node, f"{what} path '{relative}' cannot be followed (a loop of "
                         "symbolic links?)")
            return candidate
        if not resolved.is_relative_to(folder):
            self.problem(node, f"{what} path '{relative}' leads outside the script's folder")
        elif not resolved.is_file():
            reason = ("is a folder" if resolved.is_dir() else "is not a regular file"
                      if resolved.exists() else "does not exist")
            self.problem(node, f"{what} file '{relative}' {reason}")
        return resolved

    def cover(self, node: Node) -> Path:
        """A JPEG or PNG file in the script's folder (told by its first bytes)."""
        path = self.sound_path(node, self.text(node), "cover")
        with contextlib.suppress(OSError):
            if path.is_file() and path.is_relative_to(self.path.parent.resolve()):
                with path.open("rb") as image:
                    head = image.read(8)
                if not (head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff")):
                    self.problem(node, f"cover '{node.value}' is not a JPEG or PNG image")
        return path

    def voices(self, node: Node) -> dict[str, VoiceProfile]:
        if not node.is_mapping:
            raise self.invalid(node, f"voices is a mapping of name: profile, got {kind_of(node)}")
        profiles: dict[str, VoiceProfile] = {}
        for name, value in node.value.items():
            with contextlib.suppress(Invalid):
                profiles[name] = self.profile(name, value)
        return profiles

    def profile(self, name: str, node: Node) -> VoiceProfile:
        if not node.is_mapping:
            raise self.invalid(node, f"voice profile '{name}' is a mapping such as "
                               "{voice: gmw/en-us, rate: 160}")
        self.keys(node, PROFILE_KEYS, "voice profile")
        values = node.value
        engine = self.optional(values, "engine", self.engine, engines.DEFAULT)
        command: tuple[str, ...] = self.optional(values, "command", self.command, ())
        if engine == "command" and not command:
            self.problem(node, f"voice profile '{name}' uses the command engine: give its "
                         "'command' as a list, e.g. [piper, --model, M, --output_file, "
                         "'{output}']")
        elif command and engine != "command":
            self.problem(values["command"], "'command' is only for profiles with "
                         "engine: command")
        return VoiceProfile(
            name=name,
            engine=engine,
            voice=self.optional(values, "voice", self.text, None),
            rate=self.optional(values, "rate", self.rate, None),
            volume=self.optional(values, "volume",
                                 lambda n: self.number(n, "volume", 0, 1, low_open=True), 1.0),
            command=command,
            loc=Loc(node.line, node.column),
            voice_loc=loc_of(values.get("voice")),
        )

    def engine(self, node: Node) -> str:
        name = self.text(node)
        if name not in ENGINES:
            close = difflib.get_close_matches(name, ENGINES, n=1, cutoff=0.5)
            hint = f"did you mean '{close[0]}'?" if close else "engines are: " + ", ".join(
                ENGINES)
            raise self.invalid(node, f"unknown engine '{name}'; {hint}")
        return name

    def rate(self, node: Node) -> float:
        return self.number(node, "rate (words per minute)", 0, MAX_RATE, low_open=True)

    def command(self, node: Node) -> tuple[str, ...]:
        if not node.is_list or not node.value:
            raise self.invalid(node, "command is a list: the program, then its arguments")
        return tuple(self.text(item) for item in node.value)

    # -- speech --------------------------------------------------------------

    def session_speech(self, node: Node) -> Speech:
        return self.speech(node, SESSION_PLACEHOLDERS)

    def stage_speech(self, node: Node) -> Speech:
        return self.speech(node, STAGE_PLACEHOLDERS)

    def speech(self, node: Node, allowed: frozenset[str]) -> Speech:
        items = node.value if node.is_list else [node]
        if node.is_list and not items:
            raise self.invalid(node, "speech is a text or a list of texts and {pause: N}; "
                               "got an empty list")
        speech: list[SpeechItem] = []
        for item in items:
            try:
                speech.append(self.speech_item(item, allowed))
            except Invalid:
                continue
        return tuple(speech)

    def speech_item(self, node: Node, allowed: frozenset[str]) -> SpeechItem:
        if node.is_mapping:
            self.keys(node, ("pause",), "speech item")
            if "pause" not in node.value:
                raise self.invalid(node, "a speech item is a text or {pause: DURATION}")
            return Pause(self.duration(node.value["pause"]), Loc(node.line, node.column))
        if node.is_list:
            raise self.invalid(node, "a speech item is a text or {pause: DURATION}, not a list")
        text = self.lines(node)
        self.placeholders(node, text, allowed)
        self.pronounceable(node, text)
        if text not in self.spoken:
            self.spoken.add(text)
            self.spoken_chars += len(text)
            if self.spoken_chars > MAX_SPEECH_CHARS >= self.spoken_chars - len(text):
                self.problem(node, f"the script's texts add up to more than "
                             f"{MAX_SPEECH_CHARS:,} characters here (hours of speech); "
                             "split it into several scripts")
        return Text(text, Loc(node.line, node.column))


def loc_of(node: Node | None) -> Loc | None:
    return Loc(node.line, node.column) if node is not None else None


def kind_of(node: Node) -> str:
    value = node.value
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):
        return f"'{value}'"
    return f"{value!r}"


def article(what: str) -> str:
    return ("an " if what[0] in "aeiou" else "a ") + what
