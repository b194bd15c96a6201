"""The reader: YAML nodes → a ``Script``, one method per part of the format, every
problem collected and located (the values themselves are read by ``values.py``)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from voiceguide import builtins
from voiceguide.durations import (
    DurationError,
    parse_range,
)
from voiceguide.errors import Problem, ScriptError
from voiceguide.script.keys import (
    BLOCK_KEYS,
    COUNTDOWN_KEYS,
    CUE_KEYS,
    MUSIC_KEYS,
    STAGE_KEYS,
    TOP_KEYS,
)
from voiceguide.script.model import (
    BUILTIN_MUSIC,
    CADENCE_LEVEL,
    CADENCE_SOUND,
    DUCK,
    FINISH_SOUND,
    INTENSITIES,
    INTENSITY,
    MAX_CADENCE,
    MAX_COUNTDOWN,
    MAX_DUCK,
    MAX_LEVEL,
    MAX_ROUNDS,
    MAX_STAGES,
    MIN_CADENCE,
    MIN_LEVEL,
    MUSIC_LEVEL,
    PACE,
    SPORT,
    SPORTS,
    START_SOUND,
    Cue,
    Loc,
    Music,
    MusicFile,
    Place,
    Script,
    Stage,
)
from voiceguide.script.values import (
    Invalid,
    TooMany,
    Values,
    kind_of,
    loc_of,
)

if TYPE_CHECKING:
    from voiceguide.script.source import Node


def load_script(path: str | Path, place: Place | None = None) -> Script:
    """Read and validate a drill script file; raise ``ScriptError`` on any problem.
    *place*: the session's place in a programme, which its placeholders may speak."""
    from voiceguide.script.source import read_input

    path = Path(path)
    data = read_input(path)
    return parse_script(data, path, place)


def parse_script(data: bytes, path: Path, place: Place | None = None) -> Script:
    from voiceguide.script.source import load

    root = load(data, str(path))
    script = Reader(path, in_programme=place is not None).script(root)
    return replace(script, place=place) if place is not None else script


class Reader(Values):
    """The whole script, and its stages and cues."""

    # -- the top level -----------------------------------------------------

    def script(self, root: Node) -> Script:
        if not root.is_mapping:
            kind = "a list" if root.is_list else f"the value {root.value!r}"
            raise ScriptError([Problem(self.filename, root.line, root.column,
                                       f"a drill script is a mapping of keys (title, stages, "
                                       f"...), not {kind}")])
        self.keys(root, TOP_KEYS, "script")
        top = root.value
        version = self.optional(top, "version", self.version, 1)
        title = self.required(root, "title", self.text)
        language = self.optional(top, "language", self.language, "en")
        sounds, sound_locs = self.optional(top, "sounds", self.sounds, ({}, {}))
        voices = self.optional(top, "voices", self.voices, {})
        script = Script(
            path=self.path,
            version=version,
            title=title or "",
            description=self.optional(top, "description", self.lines, None),
            artist=self.optional(top, "artist", self.text, None),
            album=self.optional(top, "album", self.text, None),
            language=language,
            voices=voices,
            voice=self.optional(top, "voice", self.voice_ref, None),
            pace=self.optional(top, "pace", self.pace, PACE),
            sounds=sounds,
            sound_locs=sound_locs,
            announce=self.optional(top, "announce", self.announce, True),
            announce_loc=loc_of(top.get("announce")),
            start_sound=self.optional(top, "start_sound", self.sound_or_null, START_SOUND),
            start_sound_loc=loc_of(top.get("start_sound")),
            finish_sound=self.optional(top, "finish_sound", self.sound_or_null, FINISH_SOUND),
            finish_sound_loc=loc_of(top.get("finish_sound")),
            intro=self.optional(top, "intro", self.session_speech, ()),
            outro=self.optional(top, "outro", self.session_speech, ()),
            stages=self.required(root, "stages", self.stages) or (),
            music=self.optional(top, "music", self.music, None),
            cadence=self.optional(top, "cadence", self.cadence, None),
            cadence_level=self.optional(top, "cadence_level",
                                        lambda n: self.number(n, "cadence_level", MIN_LEVEL,
                                                              MAX_LEVEL), CADENCE_LEVEL),
            cadence_sound=self.optional(top, "cadence_sound", self.sound_name, CADENCE_SOUND),
            cover=self.optional(top, "cover", self.cover, None),
            cover_loc=Loc(top["cover"].line, top["cover"].column) if "cover" in top else None,
            sport=self.optional(top, "sport", lambda n: self.choice(n, "sport", SPORTS), SPORT),
        )
        if self.problems:
            raise ScriptError(self.problems)
        return script

    # -- stages and cues -----------------------------------------------------

    def stages(self, node: Node) -> tuple[Stage, ...]:
        if not node.is_list:
            raise self.invalid(node, f"stages is a list of stages, got {kind_of(node)}")
        if not node.value:
            raise self.invalid(node, "stages is empty: a drill script needs at least one stage")
        try:
            stages = self.items(node.value, None)
        except TooMany as many:
            raise self.invalid(many.node, f"the stages expand to more than {MAX_STAGES:,}; "
                               "a session has at most that many: fewer rounds?") from None
        return tuple(replace(s, number=n) for n, s in enumerate(stages, start=1))

    def items(self, nodes: list[Node], outer: Node | None) -> list[Stage]:
        """Stages and repeat blocks, blocks expanded in place; *outer*: the outermost block."""
        found: list[Stage] = []
        for item in nodes:
            try:
                if item.is_mapping and "repeat" in item.value:
                    found += self.block(item, outer)
                else:
                    found.append(self.stage(item, outer))
            except Invalid:
                continue
            if len(found) > MAX_STAGES:
                raise TooMany(outer.value["repeat"] if outer else item)
        return found

    def block(self, node: Node, outer: Node | None) -> list[Stage]:
        """A repeat block: its items read once (so problems are reported once), then repeated."""
        self.keys(node, BLOCK_KEYS, "repeat block")
        values = node.value
        outer = outer or node
        repeat = self.rounds(values["repeat"])
        name = self.optional(values, "name", self.text, None)
        if "stages" not in values:
            raise self.invalid(node, "a repeat block needs 'stages': the stages of one round")
        body = values["stages"]
        if not body.is_list or not body.value:
            raise self.invalid(body, "a repeat block's stages is a list of at least one stage")
        parts: list[Stage | list[Stage]] = []
        dropped = False  # an item with problems of its own (reported where it stands)
        for item in body.value:
            try:
                if item.is_mapping and "repeat" in item.value:
                    parts.append(self.block(item, outer))
                else:
                    parts.append(self.stage(item, outer, in_block=True))
            except Invalid:
                dropped = True
        if repeat is None:
            raise Invalid()
        where = Loc(outer.value["repeat"].line, outer.value["repeat"].column)
        here = Loc(values["repeat"].line, values["repeat"].column)
        expanded: list[Stage] = []
        for round_ in range(1, repeat + 1):
            for part in parts:
                if isinstance(part, list):
                    expanded += part
                elif not (part.skip_last and round_ == repeat):
                    expanded.append(replace(part, round=round_, rounds=repeat, block=name,
                                            block_loc=where, repeat_loc=here))
            if len(expanded) > MAX_STAGES:
                raise TooMany(outer.value["repeat"])
        if parts and not expanded and not dropped:
            raise self.invalid(values["repeat"], "this block expands to no stage: every stage "
                               "is skip_last and it repeats once")
        return expanded

    def music(self, node: Node) -> Music:
        if not node.is_mapping:
            raise self.invalid(node, "music is a mapping such as {files: [music/easy.mp3], "
                               f"level: -14, duck: 10}}, got {kind_of(node)}")
        self.keys(node, MUSIC_KEYS, "music bed")
        values = node.value
        if "files" not in values:
            raise self.invalid(node, "music needs 'files': the music files, in order")
        listed = values["files"]
        items = listed.value if listed.is_list else [listed]
        if not items:
            raise self.invalid(listed, "music files is a list of at least one file")
        files = []
        for item in items:
            with contextlib.suppress(Invalid):
                files.append(self.music_file(item))
        level = self.optional(values, "level",
                              lambda n: self.number(n, "music level", MIN_LEVEL, MAX_LEVEL),
                              MUSIC_LEVEL)
        duck = self.optional(values, "duck", lambda n: self.number(n, "duck", 0, MAX_DUCK), DUCK)
        return Music(tuple(files), level, duck)

    def music_file(self, node: Node) -> MusicFile:
        name = self.text(node)
        loc = Loc(node.line, node.column)
        if name in BUILTIN_MUSIC and not (self.path.parent / name).exists():
            return MusicFile(name, builtins.music_path(name), loc)
        return MusicFile(name, self.sound_path(node, name, what="music"), loc)

    def cadence(self, node: Node) -> int:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int) \
                or not MIN_CADENCE <= value <= MAX_CADENCE:
            raise self.invalid(node, f"cadence is steps per minute, a whole number "
                               f"{MIN_CADENCE}..{MAX_CADENCE}, got {kind_of(node)}")
        return value

    def stage_cadence(self, node: Node) -> int | bool:
        return False if node.value is False else self.cadence(node)

    def music_switch(self, node: Node) -> bool:
        if not isinstance(node.value, bool):
            raise self.invalid(node, f"a stage's music is true or false (none under it), got "
                               f"{kind_of(node)}")
        return node.value

    def rounds(self, node: Node) -> int | None:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int) \
                or not 1 <= value <= MAX_ROUNDS:
            self.problem(node, f"repeat is a whole number of rounds 1..{MAX_ROUNDS}, got "
                         f"{kind_of(node)}")
            return None
        return value

    def skip_last(self, node: Node) -> bool:
        if not isinstance(node.value, bool):
            raise self.invalid(node, f"skip_last is true or false, got {kind_of(node)}")
        return node.value

    def stage(self, node: Node, outer: Node | None = None, in_block: bool = False) -> Stage:
        if not node.is_mapping:
            raise self.invalid(node, "a stage is a mapping with at least 'name' and "
                               f"'duration', got {kind_of(node)}")
        self.keys(node, STAGE_KEYS, "stage")
        if "skip_last" in node.value and not in_block:
            self.problem(node.keys["skip_last"], "skip_last is only for stages inside a repeat "
                         "block")
        values = node.value
        # every key is read, and its problems reported, before a stage without a usable
        # name or duration is given up
        name = self.required(node, "name", self.text)
        duration = self.required(node, "duration", self.range)
        is_open = self.optional(values, "open", lambda n: self.flag(n, "open"), False)
        target = self.optional(values, "target", self.target, None)
        self.stage_kind = (is_open, "target" in values)  # what its placeholders may speak
        try:
            fields = self.stage_fields(values, in_block)
        finally:
            self.stage_kind = None
        if is_open:
            self.open_problems(values)
        if name is None or duration is None:
            raise Invalid()
        return Stage(number=0,  # numbered once every block is expanded
                     name=name, duration=duration, loc=Loc(node.line, node.column),
                     duration_loc=Loc(values["duration"].line, values["duration"].column),
                     open=is_open, target=target,
                     intensity=self.optional(values, "intensity",
                                             lambda n: self.choice(n, "intensity", INTENSITIES),
                                             INTENSITY),
                     **fields)  # type: ignore[arg-type]

    def open_problems(self, values: dict[str, Node]) -> None:
        """An open stage's end is the runner's: nothing may announce it (spec 18.2)."""
        countdown = values.get("countdown")
        if countdown is not None and (countdown.value or countdown.is_mapping):
            self.problem(countdown, "an open stage has no countdown: the runner ends it")
        cues = values.get("cues")
        for cue in cues.value if cues is not None and cues.is_list else []:
            if cue.is_mapping and "before_end" in cue.value:
                self.problem(cue.keys["before_end"], "an open stage has no 'before_end' cue: "
                             "the runner ends it; use 'at' or 'every'")

    def stage_fields(self, values: dict[str, Node], in_block: bool) -> dict[str, object]:
        cues_node = values.get("cues")
        count, countdown_sound = self.optional(values, "countdown", self.countdown, (0, None))
        return dict(
            say=self.optional(values, "say", self.stage_speech, ()),
            cues=self.cues(cues_node) if cues_node is not None else (),
            countdown=count,
            countdown_sound=countdown_sound,
            skip_last=in_block and self.optional(values, "skip_last", self.skip_last, False),
            cadence=self.optional(values, "cadence", self.stage_cadence, None),
            music=self.optional(values, "music", self.music_switch, True),
            in_block=in_block,
            voice=self.optional(values, "voice", self.voice_ref, None),
            announce=self.optional(values, "announce", self.announce, None),
            announce_loc=loc_of(values.get("announce")),
            start_sound=self.optional(values, "start_sound", self.sound_or_null, None),
            start_sound_set="start_sound" in values,
            start_sound_loc=loc_of(values.get("start_sound")),
            pace=self.optional(values, "pace", self.pace, None),
        )

    def range(self, node: Node) -> tuple[int, int]:
        try:
            return parse_range(node.plain())
        except DurationError as exc:
            raise self.invalid(node, str(exc)) from None

    def countdown(self, node: Node) -> tuple[int, str | None]:
        """``N``, or ``{count: N, sound: NAME}``: the count and the sound played instead."""
        if node.is_mapping:
            self.keys(node, COUNTDOWN_KEYS, "countdown")
            if "count" not in node.value:
                raise self.invalid(node, "a countdown mapping needs 'count', e.g. "
                                   "{count: 3, sound: tick}")
            count = node.value["count"]
            if isinstance(count.value, bool) or not isinstance(count.value, int):
                raise self.invalid(count, f"a countdown's count is a whole number "
                                   f"0..{MAX_COUNTDOWN}, got {kind_of(count)}")
            number, _ = self.countdown(count)
            return number, self.optional(node.value, "sound", self.sound_name, None)
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise self.invalid(node, f"countdown must be a whole number 0..{MAX_COUNTDOWN} or "
                               f"{{count: N, sound: NAME}}, got {kind_of(node)}")
        if not 0 <= node.value <= MAX_COUNTDOWN:
            raise self.invalid(node, f"countdown must be 0..{MAX_COUNTDOWN}, got {node.value}")
        return node.value, None

    def cues(self, node: Node) -> tuple[Cue, ...]:
        if not node.is_list:
            self.problem(node, f"cues is a list of cues, got {kind_of(node)}")
            return ()
        cues = []
        for number, item in enumerate(node.value, start=1):
            try:
                cues.append(self.cue(number, item))
            except Invalid:
                continue
        return tuple(cues)

    def cue(self, number: int, node: Node) -> Cue:
        if not node.is_mapping:
            raise self.invalid(node, "a cue is a mapping such as {at: 0:40, say: ...}")
        self.keys(node, CUE_KEYS, "cue")
        values = node.value
        when = [k for k in ("at", "every", "before_end") if k in values]
        if len(when) != 1:
            found = " and ".join(f"'{k}'" for k in when) if when else "none"
            raise self.invalid(node, f"a cue needs exactly one of 'at', 'every', 'before_end' "
                               f"(found {found})")
        kind = when[0]
        if kind != "every":
            for key in ("from", "until"):
                if key in values:
                    self.problem(node.keys[key], f"'{key}' goes only with 'every'")
        if "say" not in values and "sound" not in values:
            raise self.invalid(node, "a cue needs 'say', 'sound' or both")
        get = lambda key, read: self.optional(values, key, read, None)  # noqa: E731
        cue = Cue(
            kind=kind,  # type: ignore[arg-type]
            loc=Loc(node.line, node.column),
            number=number,
            at=get("at", self.offset),
            every_ms=get("every", self.duration),
            start=get("from", self.offset),
            until=get("until", self.offset),
            before_end_ms=get("before_end", self.duration),
            say=self.optional(values, "say", self.stage_speech, ()),
            sound=get("sound", self.sound_name),
            sound_loc=loc_of(values.get("sound")),
            voice=get("voice", self.voice_ref),
        )
        if getattr(cue, {"at": "at", "every": "every_ms", "before_end": "before_end_ms"}[kind]) \
                is None:
            raise Invalid()
        return cue
