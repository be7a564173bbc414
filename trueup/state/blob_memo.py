"""``<state_dir>/cache/blob-sha256.json``: git blob id → sha256 of its content, so a plan hashes each blob once.

A hint, never authority: apply hashes every source file it is about to write from git itself, and a memo
entry that disagrees with git (or a file that is not such a map) is discarded with one line on stderr.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from trueup.state import cache_notes

NAME = "blob-sha256.json"
_BLOB = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def path(cache_dir: Path) -> Path:
    return cache_dir / NAME


def discard(cache_dir: Path, why: str, notify: Callable[[str], None] | None = None) -> None:
    """Remove the memo (a later plan rebuilds it from git) and say so in one line."""
    cache_notes.discard(path(cache_dir), why, notify)


def load(cache_dir: Path | None, notify: Callable[[str], None] | None = None) -> dict[str, str]:
    """The memo's entries; a memo that is not a map of blob ids to sha256 values is discarded."""
    if cache_dir is None:
        return {}
    try:
        raw = path(cache_dir).read_bytes()
    except OSError:
        return {}
    try:
        known = json.loads(raw)
    except ValueError:
        known = None
    if not isinstance(known, dict) or not all(isinstance(k, str) and _BLOB.fullmatch(k) and isinstance(v, str)
                                              and _SHA256.fullmatch(v) for k, v in known.items()):
        discard(cache_dir, "not a map of git blob ids to sha256 values", notify)
        return {}
    return known


def save(cache_dir: Path | None, known: dict[str, str]) -> None:
    if cache_dir is None:
        return
    from trueup.state.atomic import write_json

    write_json(path(cache_dir), known)


def check(cache_dir: Path | None, truth: dict[str, str], notify: Callable[[str], None] | None = None) -> None:
    """Compare the memo with sha256 values just taken from git; discard it when any entry disagrees."""
    if cache_dir is None or not truth or not path(cache_dir).exists():
        return
    known = load(cache_dir, notify)
    wrong = sorted(blob for blob, sha in truth.items() if blob in known and known[blob] != sha)
    if wrong:
        discard(cache_dir, f"{len(wrong)} entr{'y disagrees' if len(wrong) == 1 else 'ies disagree'} with git "
                           f"(blob {wrong[0][:12]})", notify)
