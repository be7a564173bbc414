"""Paths from plans never escape their roots: no absolute paths, no '..', no symlinked parents."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from trueup.errors import UnsafePathError
from trueup.model.paths import check_relative


def safe_target(root: Path, rel: str) -> Path:
    """``root/rel`` after checking that writing there cannot touch anything outside ``root``.

    The final component may itself be a symlink (trueup replaces or backs up the link, never its target);
    every parent must be a real directory below ``root`` or not exist yet.
    """
    pure = check_relative(root, rel)
    current = os.fspath(root)
    for part in pure.parts[:-1]:
        current = f"{current}/{part}"
        try:
            mode = os.lstat(current).st_mode  # one system call per parent: apply checks every path it writes
        except FileNotFoundError:
            break  # this parent and those below it do not exist yet: apply creates them as directories
        except NotADirectoryError:
            mode = 0  # reported below, at the first parent that is not a directory
        if stat.S_ISLNK(mode):
            raise UnsafePathError(f"unsafe target path {rel!r}: {current} is a symlink, which could lead outside {root}",
                                  hint="replace the symlink with a directory, or accept it with trueup approve")
        if not stat.S_ISDIR(mode):
            raise UnsafePathError(f"unsafe target path {rel!r}: {current} is not a directory")
    return root / pure


def safe_target_seen(root: Path, rel: str, seen: dict) -> Path:
    """``safe_target`` with each parent directory checked once per ``seen`` (one re-check of a plan: 10,000
    targets in a few hundred directories are not 10,000 walks up the same parents)."""
    parent = rel.rstrip("/").rpartition("/")[0]
    memo = ("safe-parent", os.fspath(root), parent)
    if memo in seen:
        if not rel or rel.startswith(("/", "~")) or "\\" in rel or ".." in rel.split("/"):
            check_relative(root, rel)  # raises, naming the rule
        return root / rel
    target = safe_target(root, rel)
    seen[memo] = True
    return target
