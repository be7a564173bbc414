"""Path-token normalization for `paths` fields, so `node ~/x.js` and `node "/home/u/x.js"` are one identity.

Normalization is only ever used for identity and hashing; the live text is never rewritten to it.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

_HOME_PREFIXES = ("${HOME}", "$HOME")
_SPACE = re.compile(r"\s+")


def normalize_path(token: str, home: Path) -> str:
    """Expand `~`/`$HOME`, collapse separators and `.`/`..`, resolve symlinks only if the path exists."""
    if token == "~" or token.startswith("~/"):
        token = str(home) + token[1:]
    else:
        for prefix in _HOME_PREFIXES:
            if token == prefix or token.startswith(prefix + "/"):
                token = str(home) + token[len(prefix):]
                break
    if not token.startswith("/"):
        return token
    path = os.path.normpath(token)
    # normpath keeps a leading `//` (POSIX allows it to mean something else); trueup treats it as `/`.
    path = "/" + path.lstrip("/")
    if os.path.lexists(path):
        path = os.path.realpath(path)
    # Spell the home as `~` again, so identities (and plans) do not depend on where HOME lives.
    for root in dict.fromkeys((os.path.normpath(str(home)), os.path.realpath(home))):
        if path == root or path.startswith(root.rstrip("/") + "/"):
            return "~" + path[len(root.rstrip("/")):]
    return path


def _is_path_token(token: str) -> bool:
    return token.startswith(("~", "/")) or token.startswith(_HOME_PREFIXES)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        # An unbalanced quote: fall back to whitespace words with their quotes stripped.
        return [word.strip("\"'") for word in _SPACE.split(text.strip()) if word]


def normalize_text(text: str, home: Path) -> str:
    """Normalize every path token of a command-like string; other tokens are kept as words."""
    words = []
    for token in _split(text):
        token = normalize_path(token, home) if _is_path_token(token) else token
        words.append(shlex.quote(token) if _SPACE.search(token) or not token else token)
    return " ".join(words)


def normalize_field(value: Any, home: Path) -> Any:
    """Normalize a `paths` field value: strings (and strings inside lists) only."""
    if isinstance(value, str):
        return normalize_text(value, home)
    if isinstance(value, list):
        return [normalize_field(item, home) for item in value]
    return value
