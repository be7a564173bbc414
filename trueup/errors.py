"""The TrueupError family: one clear line, an optional hint, and the exit code to leave with."""

from __future__ import annotations

import re

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2
EXIT_REFUSED = 3
EXIT_UNREACHABLE = 5
EXIT_PARTIAL = 8


class TrueupError(Exception):
    """An error the operator can act on; rendered as one line, never a traceback."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class ManifestError(TrueupError):
    """trueup.yaml (or an included file) is missing, unparsable or invalid."""


class GitError(TrueupError):
    """A git command failed on a component's source."""


class PlanFileError(TrueupError):
    """A plan file cannot be read or does not validate."""


class RefusedError(TrueupError):
    """apply refuses (approve too, for a gated upgrade): altered plan, another workspace's plan, stale plan, held lock,
    unsafe path, gated upgrade."""

    exit_code = EXIT_REFUSED


class UnsafePathError(RefusedError):
    """A path from a manifest or plan would escape its root."""


# One error line: every value quoted from an input is cut (to TOKEN_LIMIT, and shorter while the line is over
# SOFT_LIMIT), so a line that echoes a file stays under 300 characters; no line, even one of trueup's own that lists
# many gates, exceeds LINE_LIMIT.
SOFT_LIMIT = 300
LINE_LIMIT = 500
TOKEN_LIMIT = 120
VALUE_LIMIT = 80


def escape(text: str) -> str:
    """``text`` with control characters, lone surrogates and other unprintables written as escapes (``\\n``, ``\\x00``,
    ``\\udc80``), so a value from a file can never split or garble the one line it is shown on."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in text)


def shorten(text: str, limit: int = VALUE_LIMIT) -> str:
    """``text`` escaped and, when longer than ``limit``, cut in the middle: ``head…tail (N characters)``."""
    text = escape(text)
    if len(text) <= limit:
        return text
    suffix = f" ({len(text)} characters)"
    keep = max(limit - len(suffix) - 1, 8)
    return f"{text[:keep - keep // 3]}…{text[len(text) - keep // 3:]}{suffix}"


def tail(path: str, limit: int = 72) -> str:
    """A long path as a message names it: its end (``…/installed/app/.trueup/install.json``), escaped."""
    path = escape(path)
    return path if len(path) <= limit else "…" + path[len(path) - limit + 1:]


def value(item: object, limit: int = VALUE_LIMIT) -> str:
    """A value from an input file as a message quotes it: repr-like for strings, escaped and shortened."""
    return "'" + shorten(item, limit) + "'" if isinstance(item, str) else shorten(repr(item), limit)


def _cut_tokens(text: str, limit: int) -> str:
    """Every run without whitespace longer than ``limit`` (a path, a ref, a pasted value) cut in the middle; the
    character count is added only for a run far longer, where it tells the reader what was left out."""

    def cut(match: re.Match) -> str:
        token = match.group()
        if len(token) > 2 * limit:
            return shorten(token, limit)
        keep = limit - 1
        return f"{token[:keep - keep // 3]}…{token[len(token) - keep // 3:]}"

    return re.sub(r"\S{%d,}" % (limit + 1), cut, text)


def one_line(message: str, hint: str | None = None, limit: int = LINE_LIMIT, soft: int = SOFT_LIMIT) -> str:
    """An error as the CLI prints it: one line of at most ``limit`` characters, values cut shorter while it is over
    ``soft``; the hint kept whole when there is room (it often holds the command to run)."""
    message, hint = escape(message), escape(hint) if hint else None
    for token_limit in (TOKEN_LIMIT, 80, 48):
        message = _cut_tokens(message, token_limit)
        hint = _cut_tokens(hint, token_limit) if hint else None
        if len(message) + (len(hint) + 9 if hint else 0) <= soft:
            break
    if hint and len(message) + len(hint) + 9 > limit:
        hint = shorten(hint, max(limit - len(message) - 9, min(len(hint), 160)))
    room = limit - (len(hint) + 9 if hint else 0)  # " (hint: …)"
    text = shorten(message, room)
    return f"{text} (hint: {hint})" if hint else text
