"""The limits a manifest (trueup.yaml or an included file) is held to before anything reads its values.

YAML is a small language with large consequences: nine aliases nine levels deep ("billion laughs") make
387 million nodes of a 1 KB file, runaway brackets exhaust the parser's recursion, and a value can be
anything a file can hold. Each limit is far above any real manifest and far below where trueup (or git, or
the kernel: NUL bytes, argument and file-name lengths) would break.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import Any

from trueup.errors import ManifestError, shorten, value

MAX_BYTES = 4 * 1024 * 1024  # a file
MAX_DEPTH = 64  # nesting levels
MAX_NODES = 200_000  # values, counting every use of an alias as the copy it stands for
MAX_STRING = 4096  # characters in any key or value (PATH_MAX; far below git's argument limit)
NAME_MAX = 255  # bytes in one component of a path (NAME_MAX on Linux and macOS)
# Fields whose strings are paths on this machine: checked component by component.
PATH_FIELDS = ("path", "template", "state_dir", "include", "repo")


def check(name: str, document: Any, line_of: Callable[[Any, list], int | None]) -> None:
    """Raise a ManifestError (file:line: field: problem) for the first value over a limit, else return.

    Walks without recursion and stops at the node budget, so a billion laughs costs MAX_NODES steps.
    """
    stack: list[tuple[Any, list]] = [(document, [])]
    nodes = 0
    while stack:
        node, location = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            _fail(name, document, location, line_of,
                  f"has more than {MAX_NODES} values (aliases count once per use)", "remove the repeated aliases")
        if len(location) > MAX_DEPTH:
            _fail(name, document, location, line_of, f"is nested more than {MAX_DEPTH} levels deep",
                  "a manifest is a few levels deep; remove the runaway nesting")
        if isinstance(node, dict):
            for key, item in node.items():
                _check_string(name, document, [*location, key], line_of, key, is_key=True)
                stack.append((item, [*location, key]))
        elif isinstance(node, list):
            stack.extend((item, [*location, index]) for index, item in enumerate(node))
        elif isinstance(node, str):
            _check_string(name, document, location, line_of, node)


def _check_string(name: str, document: Any, location: list, line_of, text: Any, is_key: bool = False) -> None:
    if not isinstance(text, str):
        return
    if len(text) > MAX_STRING:
        _fail(name, document, location, line_of, f"is {len(text)} characters long, over the limit of {MAX_STRING}",
              "shorten it")
    if "\0" in text:
        _fail(name, document, location, line_of, f"{value(text)} contains a NUL byte", "remove the \\0")
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        _fail(name, document, location, line_of, f"{value(text)} contains a lone surrogate (not UTF-8)",
              "write the character itself, or its full surrogate pair")
    # The field a string belongs to: its key, or for a list item (include: [...]) the list's key.
    named = [part for part in location if not isinstance(part, int)]
    field = named[-1] if named else None
    if is_key or field not in PATH_FIELDS:
        return
    for part in encoded.split(b"/"):
        if len(part) > NAME_MAX:
            _fail(name, document, location, line_of,
                  f"has a path component of {len(part)} bytes, over the file-name limit of {NAME_MAX}",
                  "shorten that directory or file name")


def _fail(name: str, document: Any, location: list, line_of, problem: str, hint: str) -> None:
    line = line_of(document, location)
    where = f"{name}:{line}" if line else name
    field = ""
    for part in location:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    raise ManifestError(f"{where}: {shorten(field, 120) if field else '(top level)'}: {problem}", hint=hint)


def path_problem(path: os.PathLike | str) -> str | None:
    """Why ``path`` (an install directory) cannot be one: something on the way that is not a directory."""
    current = os.fspath(path)
    while True:
        try:
            st = os.stat(current)
        except (FileNotFoundError, NotADirectoryError):  # not there yet (made by apply), or below a file
            parent = os.path.dirname(current)
            if parent == current:
                return None
            current = parent
            continue
        except OSError as exc:
            return f"cannot be used: {exc.strerror}"
        if not stat.S_ISDIR(st.st_mode):
            if current == os.fspath(path):
                return "is a file, not a directory"
            return f"is below {value(os.path.basename(current), 60)}, a file, not a directory"
        return None
