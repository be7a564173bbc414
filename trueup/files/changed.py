"""What a file-event monitor tells a walk: below this root, only these paths may have changed.

Like git's fsmonitor: the monitor (trueup watch) hands the walk a token and the paths events named since
that token. The token is the ``stamp_ns`` of the stat cache the monitor last saw truthful; a walk trusts
the paths only when the cache it loads is that very cache, so a cache rewritten by anyone else (another
plan, an apply), discarded or lost makes the walk look at everything again, as it would without a monitor.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path

from attrs import frozen

from trueup.state import stat_cache


@frozen
class ChangedPaths:
    """``token``: the stamp of the cache these paths are relative to; ``paths``: relative to the install root."""

    token: int
    paths: frozenset[str]

    def dirty_dirs(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """(directories whose entries may differ, prefixes whose whole subtree must be walked).

        An event names an entry, not its kind (a deleted path cannot be asked), so each path makes its
        directory dirty and, in case it is or was a directory, everything below it too.
        """
        dirs = set()
        subtrees = set()
        for path in self.paths:
            path = path.rstrip("/")
            if not path:  # the root itself (replaced, moved): everything
                return frozenset({""}), ("",)
            head, _, _ = path.rpartition("/")
            dirs.add(head + "/" if head else "")
            subtrees.add(path + "/")
        return frozenset(dirs), tuple(sorted(subtrees))


@frozen
class WalkDelta:
    """What a walk fed by events changed, relative to the blocks of the stat cache it started from (trueup watch).

    ``base``: the stamp of that cache; ``stamp``: the stamp the new blocks are kept under (``base`` when nothing
    changed); ``offsets``: every directory prefix ('' or 'a/b/') → its block's offset in the new blocks;
    ``redone``: the prefixes whose block may differ from the base's (changed, added or removed — a superset).
    Directories not in ``redone`` have byte-identical blocks in both. ``base`` 0: a walk relative to no earlier
    blocks (a full walk in trueup watch): every directory is redone, only ``stamp`` tells what the next is relative to.
    """

    base: int
    stamp: int
    offsets: Mapping[str, int]
    redone: frozenset[str]


_HEAD = struct.Struct("<16sIIq")  # the first fields of stat_cache.HEADER: magic, version, ndirs, stamp_ns


def cache_token(cache_dir: Path, root: Path) -> int | None:
    """The stamp of the stat cache on disk for ``root`` (its header only), None when there is none.

    Not verified: a cache that turns out corrupt is discarded by the walk, which then ignores the paths. In trueup
    watch, the cache it keeps in memory for the file (trueup.state.stat_cache.keep) is the one.
    """
    kept = stat_cache.stamp(cache_dir, root)
    if kept is not None:
        return kept
    try:
        with open(stat_cache.cache_path(cache_dir, root), "rb") as fh:
            head = fh.read(_HEAD.size)
    except OSError:
        return None
    if len(head) < _HEAD.size:
        return None
    magic, version, _, stamp = _HEAD.unpack(head)
    return stamp if magic == stat_cache.MAGIC and version == stat_cache.VERSION else None


def root_key(root: Path) -> str:
    """How a hint is keyed: the install root's absolute path (as the cache names it)."""
    return os.path.abspath(root)


_served: dict[str, ChangedPaths] | None = None


@contextlib.contextmanager
def serving(hints: dict[str, ChangedPaths]) -> Iterator[None]:
    """While trueup watch runs a caller's `trueup plan` (trueup/watch/serve.py): the hints that plan's walks take."""
    global _served
    _served = hints
    try:
        yield
    finally:
        _served = None


def served() -> dict[str, ChangedPaths] | None:
    """The hints of the plan trueup watch is running for a caller, if it is running one."""
    return _served
