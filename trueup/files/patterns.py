"""Ignore and secret patterns as a tree walk asks them: a fast "no" for most paths, and the key of what they mean."""

from __future__ import annotations

import hashlib
import re
from typing import Any


class Matcher:
    """``spec.match_file`` with a one-regex fast path for the common answer "no pattern matches"."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.any: re.Pattern[str] | None = None
        self.never = False
        self.anchored = False
        patterns = getattr(spec, "patterns", None)
        if patterns is None:
            return
        regexes = [p.regex.pattern for p in patterns if getattr(p, "include", None) is not None
                   and getattr(p, "regex", None) is not None]
        if not regexes:
            self.never = True
            return
        try:
            # Named groups cannot repeat in one regex; they carry no meaning for a yes/no search.
            self.any = re.compile("|".join(f"(?:{re.sub(r'[(][?]P<[^>]+>', '(?:', r)})" for r in regexes))
        except (re.error, TypeError):  # bytes patterns or odd syntax: always ask the spec itself
            self.any = None
        # Every gitignore regex starts with ^: match() tries position 0 only, search() every position.
        self.anchored = all(r.startswith("^") for r in regexes)

    def __call__(self, rel: str) -> bool:
        if self.never:
            return False
        if self.any is not None and (self.any.match(rel) if self.anchored else self.any.search(rel)) is None:
            return False
        return bool(self.spec.match_file(rel))


def spec_key(ignore: Any, secrets: Any) -> bytes:
    """What the stored verdicts depend on besides the ledger: the ignore and secret patterns (as compiled)."""
    parts = []
    for spec in (ignore, secrets):
        for pattern in getattr(spec, "patterns", ()):
            regex = getattr(pattern, "regex", None)
            parts.append(f"{getattr(pattern, 'include', None)}:{regex.pattern if regex is not None else ''}")
        parts.append("|")
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).digest()
