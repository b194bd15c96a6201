"""The errors voiceguide reports to its users.

Every error a user can cause is a ``VoiceguideError``; the CLI turns it into
one clean line and an exit status. Anything else is a bug and keeps its
traceback (shown with ``--debug``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Control characters, lone surrogates and bidirectional overrides: shown escaped, never sent raw
# to a terminal, where they could clear the screen, retitle the window or reorder a line.
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """*text* safe to print as one line: hidden characters appear as escapes like ``\\x1b``."""
    return _HIDDEN.sub(lambda m: repr(m.group())[1:-1], text)


def quoted(text: str, limit: int = 40) -> str:
    """A short, escaped part of a value a user gave, in quotes, for a one-line error (a
    100 KB value is never echoed whole, a hidden character never sent raw)."""
    part = text if len(text) <= limit else text[: limit - 1] + "…"
    return "'" + shown(part).replace("'", "\\'") + "'"


class Terminated(BaseException):
    """SIGTERM (or SIGHUP) arrived; unwinds like Ctrl-C so temporary files are removed."""


class VoiceguideError(Exception):
    """Base of every error voiceguide reports as a one-line message."""

    exit_code = 1


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in a drill script."""

    file: str
    line: int
    column: int
    message: str
    via: str = ""  # in a programme: the entry that led to this script (FILE:LINE:COL: …)

    def __str__(self) -> str:
        via = f" (from {self.via})" if self.via else ""
        return shown(f"{self.file}:{self.line}:{self.column}: {self.message}{via}")


class ScriptError(VoiceguideError, ValueError):
    """A drill script is invalid; carries every problem found, located."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        # one problem, one line: a stage reused through YAML aliases, or read in every
        # round of a block, is found many times at the same place
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class EngineError(VoiceguideError):
    """A speech engine is missing, failed, or timed out."""


class AudioError(VoiceguideError):
    """A sound file cannot be used, or ffmpeg failed."""


class CacheError(VoiceguideError):
    """The speech cache's folder cannot be used."""


class OutputError(VoiceguideError):
    """The output file cannot be written."""


class UsageError(VoiceguideError):
    """A command-line choice cannot work (e.g. an unknown voice id); exit 2."""

    exit_code = 2


class OptionError(UsageError):
    """The value given to one command-line option cannot work; shown as that option's
    usage error."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.message, self.option = message, option


def memory_limit_mb() -> int | None:
    """The address-space limit this process runs under (ulimit -v), or None."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft // 2**20


def out_of_memory(err: BaseException) -> bool:
    """Whether *err* is memory running out: a MemoryError; a C++ library's allocation that
    failed (onnxruntime raises its own ``Fail``, which names no cause but in its message:
    ``std::bad_alloc``); or, under a memory limit (ulimit -v), a library that could not
    map itself or a thread that got no stack."""
    if isinstance(err, MemoryError) or "std::bad_alloc" in str(err):
        return True
    return memory_limit_mb() is not None and isinstance(err, (ImportError, RuntimeError))
