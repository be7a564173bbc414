"""Facts about one path on disk: type, mode and content hash; the unit plans and preconditions compare."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import Any

from attrs import frozen

from trueup.planner import hashing
from trueup.planner.hashing import CHUNK  # noqa: F401  (re-exported: 1 MiB streaming chunks)


def sha256_file(path: Path | str) -> str:
    """Hex SHA-256 of a file's content (a symlink is followed, as open() does)."""
    fd = os.open(path, hashing.O_FOLLOW)
    try:
        return hashing.digest_fd(fd, os.fstat(fd).st_size).hex()
    finally:
        os.close(fd)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def format_mode(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


@frozen
class FileFact:
    """What is at a path: ``type`` file|symlink|dir|other|absent; ``sha256`` of content or link target."""

    type: str
    mode: str | None = None
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.mode is not None:
            out["mode"] = self.mode
        if self.sha256 is not None:
            out["sha256"] = self.sha256
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> FileFact:
        if data is None:
            return ABSENT
        return cls(type=data.get("type", "file"), mode=data.get("mode"), sha256=data.get("sha256"))

    def same_content(self, other: FileFact) -> bool:
        return self.type == other.type and self.sha256 == other.sha256


ABSENT = FileFact("absent")


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
    except FileNotFoundError:
        return ABSENT
    except NotADirectoryError:
        return ABSENT
    return fact_from_stat(path, st, with_hash=with_hash)
