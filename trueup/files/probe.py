"""Observing one path on disk: its FileFact (type, mode, content hash), never following a symlink below a root."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from trueup.files import hashing
from trueup.model.facts import ABSENT, FileFact, format_mode


def sha256_file(path: Path | str) -> str:
    """Hex SHA-256 of a file's content (a symlink is followed, as open() does)."""
    fd = os.open(path, hashing.O_FOLLOW)
    try:
        return hashing.digest_fd(fd, os.fstat(fd).st_size).hex()
    finally:
        os.close(fd)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def type_of(st: os.stat_result) -> str:
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    return "other"


def fact_from_stat(path: Path, st: os.stat_result, *, with_hash: bool = True, digest: str | None = None) -> FileFact:
    kind = type_of(st)
    if kind == "file":
        sha = digest if digest is not None else (sha256_file(path) if with_hash else None)
        return FileFact(kind, format_mode(st.st_mode), sha)
    if kind == "symlink":
        return FileFact(kind, None, sha256_bytes(os.fsencode(os.readlink(path))) if with_hash else None)
    return FileFact(kind, format_mode(st.st_mode))


def observe_path(path: Path, *, with_hash: bool = True) -> FileFact:
    """The fact at one path, without following a final symlink."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return ABSENT
    return fact_from_stat(path, st, with_hash=with_hash)


def observe_in_root(root: Path, rel: str) -> FileFact:
    """The fact at ``root/rel`` without following a symlink anywhere below ``root``.

    A tracked path whose parent became a symlink or a file is absent as far as trueup is concerned;
    the parent itself shows up as its own drift.
    """
    current = root
    for part in rel.split("/")[:-1]:
        current = current / part
        if observe_path(current, with_hash=False).type != "dir":
            return ABSENT
    return observe_path(root / rel)


def non_empty_dir(path: Path) -> bool:
    try:
        with os.scandir(path) as it:
            return any(True for _ in it)
    except (FileNotFoundError, NotADirectoryError):
        return False
