"""A programme (spec 17): drill scripts strung into weeks, read with located errors.

A programme file names its sessions week by week: a script's path, or a mapping
with the script and what the command line's options would choose for that
session (``pace``, ``length``, ``voice``, ``rate``, ``speed``) and its own
``title``. The reader checks the programme itself, every problem located and
collected as for drill scripts, and that each script it names is a file inside
the programme's folder (or one the user named on the command line). The
scripts are read later, each with its ``Place``, by the session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voiceguide.errors import Problem, ScriptError
from voiceguide.script.keys import ENTRY_KEYS, PROGRAMME_KEYS, WEEK_KEYS
from voiceguide.script.model import (
    MAX_PROGRAMME_SESSIONS,
    MAX_RATE,
    MAX_SPEED,
    MAX_WEEKS,
    MIN_SPEED,
    Loc,
    Place,
)
from voiceguide.script.values import Invalid, Values, kind_of

if TYPE_CHECKING:
    from voiceguide.script.source import Node

MARK = "programme"  # the key that makes a file a programme


@dataclass(frozen=True)
class Entry:
    """One session of a programme: its script, its place, and its own choices."""

    script: Path  # as the programme names it, from its folder (how problems name it)
    resolved: Path  # the file itself, links followed
    written: str  # as the programme names it
    place: Place
    episode: int  # its number in the whole programme, from 1
    loc: Loc  # where the programme names it
    title: str | None = None
    pace: float | None = None
    length_ms: int | None = None
    voice: tuple[str | None, str] | None = None  # (profile or None, voice id), as --voice
    rate: tuple[str | None, float] | None = None  # (profile or None, wpm), as --rate
    speed: float | None = None

    @property
    def name(self) -> str:
        """The name its published files take: distinct for every entry, in programme order."""
        return f"w{self.place.week:02d}-{self.place.session:02d}-{self.resolved.stem}"


@dataclass(frozen=True)
class Programme:
    path: Path
    title: str
    entries: tuple[Entry, ...]
    author: str | None = None
    description: str | None = None

    @property
    def weeks(self) -> int:
        return self.entries[-1].place.weeks if self.entries else 0

    def where(self, entry: Entry) -> str:
        """How a problem in one of its scripts names the entry that led to it."""
        return (f"{self.path}:{entry.loc.line}:{entry.loc.column}: week {entry.place.week}, "
                f"session {entry.place.session}")


def is_programme(path: Path) -> bool:
    """Whether *path* is a programme file (a mapping with ``programme``); a file that
    cannot be read or parsed is not (the script reader says what is wrong with it)."""
    from voiceguide.script.source import load, read_input

    try:
        data = read_input(path)
        if MARK.encode() not in data:
            return False
        root = load(data, str(path))
    except (OSError, ScriptError):
        return False
    return root.is_mapping and MARK in root.value


def load_programme(path: Path, explicit: frozenset[Path] = frozenset()) -> Programme:
    """Read and check a programme; *explicit*: scripts the user named (resolved), which it
    may name outside its folder. Raises ``ScriptError`` with every problem."""
    from voiceguide.script.source import read_input

    return parse_programme(read_input(path), path, explicit)


def parse_programme(data: bytes, path: Path, explicit: frozenset[Path] = frozenset()) -> Programme:
    """A programme from its bytes; *path* is where it stands (its scripts are found from
    there)."""
    from voiceguide.script.source import load

    return ProgrammeReader(path, explicit).programme(load(data, str(path)))


def programmes_among(paths: tuple[Path, ...], problems: list[Problem] | None = None,
                     ) -> tuple[list[Programme], list[Path]]:
    """The programmes among *paths*, read, and the scripts left: those the programmes
    name (which may then stand outside their folders) are theirs, not loose. With
    *problems*, a programme's problems are added there; else they are raised."""
    marked = [p for p in paths if is_programme(p)]
    scripts = [p for p in paths if p not in marked]
    if not marked:
        return [], scripts
    explicit = frozenset(p.resolve() for p in scripts)
    programmes, found = [], []
    for path in marked:
        try:
            programmes.append(load_programme(path, explicit))
        except ScriptError as exc:
            found += exc.problems
    if found and problems is None:
        raise ScriptError(found)
    if problems is not None:
        problems += found
    named = {e.resolved for programme in programmes for e in programme.entries}
    return programmes, [p for p in scripts if p.resolve() not in named]


class ProgrammeReader(Values):
    def __init__(self, path: Path, explicit: frozenset[Path]) -> None:
        super().__init__(path)
        self.explicit = explicit
        self.kinds: dict[Path, bool] = {}  # script → whether it is a programme itself

    def programme(self, root: Node) -> Programme:
        if not root.is_mapping:
            raise ScriptError([Problem(self.filename, root.line, root.column,
                                       "a programme is a mapping of keys (programme, title, "
                                       f"weeks), not {kind_of(root)}")])
        self.keys(root, PROGRAMME_KEYS, "programme")
        top = root.value
        self.required(root, MARK, self.format)
        title = self.required(root, "title", self.text)
        weeks = self.required(root, "weeks", self.weeks) or []
        entries: list[Entry] = []
        for number, week in enumerate(weeks, 1):
            for session, (item, read) in enumerate(week, 1):
                place = Place(number, len(weeks), session, len(week))
                entries.append(Entry(**read, place=place, episode=len(entries) + 1,
                                     loc=Loc(item.line, item.column)))
                if len(entries) == MAX_PROGRAMME_SESSIONS + 1:
                    self.problem(item, f"more than {MAX_PROGRAMME_SESSIONS:,} sessions in the "
                                 "programme; split it into several")
        if self.problems:
            raise ScriptError(self.problems)
        return Programme(self.path, title or "", tuple(entries),
                         self.optional(top, "author", self.text, None),
                         self.optional(top, "description", self.lines, None))

    def format(self, node: Node) -> int:
        if node.value != 1 or isinstance(node.value, bool):
            raise self.invalid(node, f"unsupported programme format {node.value!r}: this "
                               "voiceguide reads programme format 1")
        return 1

    def weeks(self, node: Node) -> list[list[tuple[Node, dict[str, Any]]]]:
        if not node.is_list or not node.value:
            raise self.invalid(node, "weeks is a list of weeks, each {sessions: [...]}")
        if len(node.value) > MAX_WEEKS:
            raise self.invalid(node.value[MAX_WEEKS], f"more than {MAX_WEEKS} weeks in the "
                               "programme; split it into several")
        weeks = []
        for week in node.value:
            try:
                weeks.append(self.week(week))
            except Invalid:
                continue
        return weeks

    def week(self, node: Node) -> list[tuple[Node, dict[str, Any]]]:
        if not node.is_mapping:
            raise self.invalid(node, "a week is a mapping {sessions: [...]}, got "
                               + kind_of(node))
        self.keys(node, WEEK_KEYS, "week")
        sessions = node.value.get("sessions")
        if sessions is None:
            raise self.invalid(node, "missing required key 'sessions'")
        if not sessions.is_list or not sessions.value:
            raise self.invalid(sessions, "a week with no sessions; give its sessions as a list "
                               "of scripts, or leave the week out")
        read = []
        for item in sessions.value:
            try:
                read.append((item, self.entry(item)))
            except Invalid:
                continue
        return read

    def entry(self, node: Node) -> dict[str, Any]:
        if not node.is_mapping:
            return self.named(node)
        self.keys(node, ENTRY_KEYS, "session")
        values = node.value
        if "script" not in values:
            raise self.invalid(node, "missing required key 'script'")
        read = {**self.named(values["script"]),
                "title": self.optional(values, "title", self.text, None),
                "pace": self.optional(values, "pace", self.pace, None),
                "length_ms": self.optional(values, "length", self.duration, None),
                "voice": self.optional(values, "voice", self.voice_choice, None),
                "rate": self.optional(values, "rate", self.rate_choice, None),
                "speed": self.optional(values, "speed", lambda n: self.number(
                    n, "speed", MIN_SPEED, MAX_SPEED), None)}
        if "pace" in values and "length" in values:
            self.problem(values["length"], "pace and length both choose the pace: give one "
                         "of them")
        return read

    def named(self, node: Node) -> dict[str, Any]:
        """A session's script: as written, as found from here, and resolved."""
        resolved = self.script(node)
        written = self.text(node)
        return {"script": self.path.parent / written, "resolved": resolved, "written": written}

    def script(self, node: Node) -> Path:
        written = self.text(node)
        folder = self.path.parent.resolve()
        try:
            resolved = (folder / written).resolve()
        except (RuntimeError, OSError):
            raise self.invalid(node, f"script path '{written}' cannot be followed (a loop of "
                               "symbolic links?)") from None
        if resolved == self.path.resolve():
            raise self.invalid(node, f"'{written}' is this programme itself; name drill "
                               "scripts")
        if not resolved.is_relative_to(folder) and resolved not in self.explicit:
            raise self.invalid(node, f"script '{written}' is outside the programme's folder; "
                               "move it beside the programme, or name it on the command "
                               "line too")
        if not resolved.is_file():
            reason = ("is a folder" if resolved.is_dir() else "is not a regular file"
                      if resolved.exists() else "does not exist")
            raise self.invalid(node, f"script '{written}' {reason}")
        if resolved not in self.kinds:
            self.kinds[resolved] = is_programme(resolved)
        if self.kinds[resolved]:
            raise self.invalid(node, f"'{written}' is a programme; a programme's sessions are "
                               "drill scripts")
        return resolved

    def voice_choice(self, node: Node) -> tuple[str | None, str]:
        text = self.text(node)
        name, sep, voice = text.partition("=")
        if not sep:
            return None, text
        if not name or not voice:
            raise self.invalid(node, f"voice '{text}': write ID, or NAME=ID to change a voice "
                               "profile")
        return name, voice

    def rate_choice(self, node: Node) -> tuple[str | None, float]:
        if isinstance(node.value, str):
            match = re.fullmatch(r"([^=]+)=(.+)", node.value.strip())
            if match is None:
                raise self.invalid(node, f"rate '{node.value}' is words per minute (e.g. 160) "
                                   "or NAME=WPM (e.g. coach=160)")
            try:
                wpm = float(match.group(2))
            except ValueError:
                raise self.invalid(node, f"rate '{node.value}': {match.group(2)!r} is not "
                                   "words per minute") from None
            if not 0 < wpm <= MAX_RATE:
                raise self.invalid(node, f"rate {match.group(2)} is not between 0 and {MAX_RATE} "
                                   "words per minute")
            return match.group(1).strip(), wpm
        return None, self.rate(node)
