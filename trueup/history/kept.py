"""What a long-running `trueup watch` remembers of the files history last recorded, per component.

With it, a cycle whose walk was fed by events (trueup.files.changed.WalkDelta) compares only the directories
the walk redid instead of digesting every block and reading every ``dirs`` row: the blocks it did not redo
are the very bytes of the walk recorded last time. Trusted only while the database still holds what this
process recorded (the component's last run and tree digest are the ones kept here): another plan recording in
between, a history moved aside or a failed record makes the next record compare everything, as any plan does.

Off in every other process (trueup.state.resident: a plan runs once, nothing to keep).
"""

from __future__ import annotations

import os
from pathlib import Path

from attrs import define, field

from trueup.state import resident


@define
class Files:
    """One component's files as a record left them: ``dirs`` is {prefix: digest}, as the ``dirs`` table holds them."""

    stamp: int | None  # the walk's WalkDelta.stamp (None: a walk without a delta, never the base of the next)
    run: int  # the run that recorded them
    tree: bytes  # components.tree after that run
    dirs: dict[str, bytes] = field(factory=dict)


@define
class Pending:
    """What a record will have left once its transaction commits: ``moved`` is {prefix: digest, None: gone}
    applied to the kept ``dirs`` (``dirs`` given: kept whole instead)."""

    key: tuple[str, str]
    stamp: int | None
    run: int
    tree: bytes
    moved: dict[str, bytes | None] | None = None
    dirs: dict[str, bytes] | None = None


_kept: dict[tuple[str, str], Files] = {}


def key(state_dir: Path, component: str) -> tuple[str, str] | None:
    """What a component's files are kept under in this process; None when nothing is kept (not trueup watch)."""
    if not resident.active():
        _kept.clear()  # watch stopped: what it kept describes a database it no longer follows
        return None
    return os.path.abspath(state_dir), component


def get(k: tuple[str, str] | None) -> Files | None:
    return _kept.get(k) if k is not None else None


def forget(k: tuple[str, str] | None) -> None:
    if k is not None:
        _kept.pop(k, None)


def commit(pending: list[Pending]) -> None:
    """Keep what records left, called once their transaction committed (a rolled-back one left nothing)."""
    for p in pending:
        if p.dirs is not None:
            _kept[p.key] = Files(p.stamp, p.run, p.tree, p.dirs)
            continue
        files = _kept.get(p.key)
        if files is None:
            continue
        for prefix, digest in (p.moved or {}).items():
            if digest is None:
                files.dirs.pop(prefix, None)
            else:
                files.dirs[prefix] = digest
        files.stamp, files.run, files.tree = p.stamp, p.run, p.tree
