"""Read a drill script's YAML safely, keeping where every value stands.

Scripts are plain data shared between people, so the loader builds only
mappings, lists and scalars (PyYAML's safe resolver), refuses duplicate keys
and merge keys, and bounds size, nesting and alias expansion so a hostile
file cannot exhaust memory. Every value comes back as a ``Node`` carrying its
1-based line and column, for ``FILE:LINE:COLUMN`` messages.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from voiceguide.errors import Problem, ScriptError

MAX_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 40


_STREAMS: dict[str, bytes] = {}  # inputs that can be read only once: pipes, FIFOs


def read_input(path: Path) -> bytes:
    """The bytes of the script or programme at *path*, at most ``MAX_BYTES + 1`` of them (so
    ``/dev/zero`` or a FIFO cannot fill memory); a located ``ScriptError`` if it cannot be
    read. A stream (``<(cat drill.yaml)``, a FIFO) is read once and its bytes kept for the
    rest of the command, which may look at an input more than once (is it a programme?
    then the script itself)."""
    filename = str(path)
    if filename in _STREAMS:
        return _STREAMS[filename]
    try:
        with path.open("rb") as source:
            data = source.read(MAX_BYTES + 1)
            regular = stat.S_ISREG(os.fstat(source.fileno()).st_mode)
    except FileNotFoundError:
        raise ScriptError([Problem(filename, 1, 1, "no such file")]) from None
    except IsADirectoryError:
        raise ScriptError([Problem(filename, 1, 1, "is a folder, not a drill script")]) from None
    except OSError as exc:
        raise ScriptError([Problem(filename, 1, 1, f"cannot read: {exc.strerror}")]) from None
    if not regular:
        _STREAMS[filename] = data
    return data


@dataclass
class Node:
    """A YAML value and where it stands.

    ``value`` is a scalar, a ``list[Node]`` or a ``dict[str, Node]``; for a
    mapping, ``keys`` holds the node of each key (for "unknown key" messages).
    """

    value: Any
    line: int
    column: int
    keys: dict[str, Node] = field(default_factory=dict)
    raw: str | None = None  # a plain scalar's text as written, e.g. "1.50" for 1.5

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def plain(self) -> Any:
        """The value without positions (lists and mappings converted too)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def load(data: bytes, filename: str) -> Node:
    """Parse one YAML document into ``Node``s, or raise a located ``ScriptError``."""
    if len(data) > MAX_BYTES:
        _fail(filename, 1, 1, f"the file is too large: drill scripts are at most {MAX_BYTES:,} "
              "bytes")
    text = _decode(data, filename)
    if (fast := _fast(text)) is not None:
        return _Builder(fast[0], filename).build(fast[1], 0)
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise ScriptError([_reader_problem(exc, text, filename)]) from None
    try:
        root = loader.get_single_node()
        if root is None:
            _fail(filename, 1, 1, "the file is empty: a drill script needs at least "
                  "'title' and 'stages'")
        return _Builder(loader, filename).build(root, 0)
    except _TooDeep as exc:
        _fail(filename, exc.mark.line + 1, exc.mark.column + 1,
              f"nested more than {MAX_DEPTH} levels deep")
    except yaml.MarkedYAMLError as exc:
        raise ScriptError([_yaml_problem(exc, filename)]) from None
    except yaml.reader.ReaderError as exc:
        raise ScriptError([_reader_problem(exc, text, filename)]) from None
    except yaml.YAMLError as exc:  # unmarked: rare, but still the user's file
        _fail(filename, 1, 1, f"not valid YAML: {exc}")
    finally:
        loader.dispose()
    raise AssertionError("unreachable")


def _fast(text: str) -> tuple[yaml.SafeLoader, yaml.Node] | None:
    """(loader, root) composed by libyaml's parser when PyYAML has it and the text is one
    well-formed document, else None: the pure loader then reads it, and words any problem
    (its messages name the character at fault). Both parsers place every node alike."""
    if _CParser is None or not _PLAIN_TEXT.fullmatch(text) or _DIVERGING.search(text) \
            or _diverges(text):
        return None
    loader = _FastLoader(text)
    try:
        root = loader.get_single_node()
    except (yaml.YAMLError, _TooDeep, _Diverges):
        return None
    finally:
        loader.dispose()
    return None if root is None else (loader, root)


class _Diverges(Exception):
    """What libyaml would read otherwise than the pure loader: the pure loader reads it."""


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing deep nesting before its recursive composer overflows.

    Numbers follow YAML 1.2, not 1.1: ``3:2`` is text (not 182 in base 60),
    ``060`` is sixty (not 48 in octal), and ``1_000``, ``0b1`` or ``0x1f`` are
    text, so a value means what its author sees.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH + 2:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_CParser: Any = getattr(getattr(yaml, "_yaml", None), "CParser", None)  # None: without libyaml


if _CParser is not None:
    class _FastLoader(_Loader, _CParser):
        """``_Loader``'s composer, resolvers and constructors over libyaml's events."""

        def __init__(self, text: str) -> None:
            _CParser.__init__(self, text)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

        def compose_scalar_node(self, anchor: Any) -> yaml.ScalarNode:
            event = self.peek_event()
            if not event.value and not event.style:  # an empty value: placed a column apart
                raise _Diverges
            return super().compose_scalar_node(anchor)

        check_event = _CParser.check_event
        peek_event = _CParser.peek_event
        get_event = _CParser.get_event
        dispose = _CParser.dispose


# what libyaml's parser is trusted with: text whose only control character is the line
# feed; tabs, other breaks, a BOM or another control character go to the pure loader,
# which refuses some that libyaml lets through, and words its refusals
_PLAIN_TEXT = re.compile("[^\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]*")
_DIVERGING = re.compile(r"[|>][-+0-9]*#")  # "|#": libyaml takes a comment there


def _diverges(text: str) -> bool:
    """*text* has what libyaml reads and the pure loader refuses, found by libyaml's
    scanner (a millisecond): a key marked "? " (its key token is not empty, as those of
    other keys are) or a "?" in a plain value inside braces or brackets."""
    scanner, flow = _CParser(text), 0
    try:
        while (token := scanner.get_token()) is not None:
            if isinstance(token, yaml.FlowMappingStartToken | yaml.FlowSequenceStartToken):
                flow += 1
            elif isinstance(token, yaml.FlowMappingEndToken | yaml.FlowSequenceEndToken):
                flow -= 1
            elif _refused(token, flow):
                return True
    except yaml.YAMLError:
        return True  # the pure loader words the problem
    finally:
        scanner.dispose()
    return False


def _refused(token: yaml.Token, flow: int) -> bool:
    if isinstance(token, yaml.KeyToken):
        return token.end_mark.index > token.start_mark.index
    return bool(flow) and isinstance(token, yaml.ScalarToken) and token.plain \
        and "?" in token.value


# YAML's line breaks (1.2, 5.4): CR LF, CR alone and LF alone; NEL and the Unicode line
# and paragraph separators are breaks to PyYAML too
_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _place(before: str | bytes) -> tuple[int, int]:
    """(line, column), 1-based, of the character after *before*, lines as YAML counts them
    (a file with CR-only line ends has more than one line)."""
    if isinstance(before, bytes):  # undecodable: only CR and LF are sure to be breaks
        before = before.decode("latin-1")  # one character a byte: the same places
        breaks = list(re.finditer("\r\n|[\r\n]", before))
    else:
        breaks = list(_BREAKS.finditer(before))
    start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, len(before) - start + 1


def _decode(data: bytes, filename: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _place(data[: exc.start])
        _fail(filename, line, column, f"byte 0x{data[exc.start]:02x} is not UTF-8; "
              "save the script as UTF-8 text")
    if "\x00" in text:
        line, column = _place(text[: text.index("\x00")])
        _fail(filename, line, column,
              "the file contains a NUL character; a drill script is plain text")
    return text


def _reader_problem(exc: yaml.reader.ReaderError, text: str, filename: str) -> Problem:
    line, column = _place(text[: min(exc.position, len(text))])
    return Problem(filename, line, column, f"character U+{exc.character:04X} is not allowed "
                   "in YAML (a control character?)")


def _yaml_problem(exc: yaml.MarkedYAMLError, filename: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    if "'\\t'" in problem or "\\t" in problem:
        message = "tab character: indent YAML with spaces, not tabs"
    elif "expected a single document" in str(problem) or "but found another document" in str(
        exc
    ):
        message = "more than one YAML document: a drill script is a single document"
    else:
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        message = f"YAML syntax: {problem}{context}"
    return Problem(filename, line, column, message)


def _fail(filename: str, line: int, column: int, message: str) -> NoReturn:
    raise ScriptError([Problem(filename, line, column, message)])


class _Builder:
    """Turns composed YAML nodes into ``Node``s, counting every value built."""

    def __init__(self, loader: yaml.SafeLoader, filename: str) -> None:
        self.loader = loader
        self.filename = filename
        self.count = 0

    def build(self, node: yaml.Node, depth: int) -> Node:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        self.count += 1
        if self.count > MAX_NODES:
            _fail(self.filename, line, column, f"more than {MAX_NODES:,} values (aliases "
                  "expanding?); a drill script is far smaller")
        if depth > MAX_DEPTH:
            _fail(self.filename, line, column, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in (
            "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
        ):
            _fail(self.filename, line, column, f"unsupported YAML tag {node.tag}")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, depth, line, column)
        if isinstance(node, yaml.SequenceNode):
            return Node([self.build(item, depth + 1) for item in node.value], line, column)
        plain = not getattr(node, "style", None)  # not quoted, not a block scalar ('' or None)
        raw = node.value if plain and isinstance(node.value, str) else None
        return Node(self._scalar(node), line, column, raw=raw)

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"):
            return node.value  # a date or base64 is just text in a drill script
        if node.tag not in _SCALAR_TAGS:
            _fail(self.filename, node.start_mark.line + 1, node.start_mark.column + 1,
                  f"unsupported YAML tag {node.tag}")
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, TypeError, OverflowError, yaml.YAMLError):
            tag = node.tag.rpartition(":")[2]
            _fail(self.filename, node.start_mark.line + 1, node.start_mark.column + 1,
                  f"the value {node.value[:40]!r} is not a valid !!{tag}")

    def _mapping(self, node: yaml.MappingNode, depth: int, line: int, column: int) -> Node:
        values: dict[str, Node] = {}
        keys: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                _fail(self.filename, key_node.start_mark.line + 1,
                      key_node.start_mark.column + 1,
                      "merge keys (<<) are not supported in drill scripts")
            key = self.build(key_node, depth + 1)
            if not isinstance(key.value, str):
                _fail(self.filename, key.line, key.column,
                      f"keys must be text, got {key.plain()!r}")
            if key.value in values:
                first = keys[key.value]
                _fail(self.filename, key.line, key.column,
                      f"duplicate key '{key.value}' (first at line {first.line})")
            keys[key.value] = key
            values[key.value] = self.build(value_node, depth + 1)
        return Node(values, line, column, keys)


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver(
    _FLOAT, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
