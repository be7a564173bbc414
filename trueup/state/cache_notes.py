"""A damaged cache file is discarded with one line on stderr: a cache is a hint, so losing it costs only time,
but the operator should know why a run was slower (or why a file they put there is gone)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def discard(path: Path, why: str, notify: Callable[[str], None] | None = None) -> None:
    """Remove ``path`` and say so in one line (through ``notify`` when given, else on stderr)."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
    line = f"discarded the cache {path}: {why}; it is rebuilt when needed"
    if notify is not None:
        notify(line)
    else:
        print(f"trueup: note: {line}", file=sys.stderr)
