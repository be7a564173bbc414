"""What a long-running `trueup watch` keeps in memory between its cycles: the stat caches it loaded or wrote, and
its ledgers' digests — so a cycle does not read and hash again megabytes it read or wrote a moment ago.

Off in every other process (a plan runs once: nothing to keep). Keyed by the file's identity (inode, size, mtime,
ctime): trueup writes these files only by renaming a new file into place (a new inode), so any other writer's
file is read again. A file read (not written here) is kept only once older than the stat cache's racy slack: a
same-size rewrite in the same clock tick on a reused inode could otherwise share its identity.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from trueup.state.racy import RACY_SLACK_NS

_kept: dict[tuple[str, str], tuple[tuple[int, ...], Any]] | None = None


def keep(on: bool) -> None:
    """Start (or stop and forget) keeping; trueup.watch turns it on for its monitor's lifetime."""
    global _kept
    _kept = {} if on else None


def identity(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def get(kind: str, path: Path) -> Any:
    """What was kept for ``path`` if the file is still the one it was kept for, else None."""
    if _kept is None:
        return None
    kept = _kept.get((kind, os.fspath(path)))
    if kept is None or kept[0] != identity(path):
        return None
    return kept[1]


def put(kind: str, path: Path, value: Any, *, written_here: bool = False) -> None:
    """Keep ``value`` for the file at ``path`` as it is now (``written_here``: this process just renamed it in)."""
    if _kept is None:
        return
    ident = identity(path)
    if ident is None or (not written_here and max(ident[2], ident[3]) >= time.time_ns() - RACY_SLACK_NS):
        _kept.pop((kind, os.fspath(path)), None)  # too young to vouch for: read again next time
        return
    _kept[(kind, os.fspath(path))] = (ident, value)


def active() -> bool:
    return _kept is not None
