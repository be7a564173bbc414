"""What is at a path, as plans, ledgers and preconditions record it: type, mode and content hash."""

from __future__ import annotations

import stat
from typing import Any

from attrs import frozen


def format_mode(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def executable(mode: str | None) -> bool:
    """git's rule: a file is executable when any of its x bits is set."""
    return mode is not None and bool(int(mode, 8) & 0o111)


def modes_equal(a: str | None, b: str | None, exact: bool = False) -> bool:
    """Whether two regular files' modes are the same as far as trueup compares them: all permission bits
    with ``install.modes: exact``, otherwise (as git does) only whether each is executable."""
    return a == b or (not exact and a is not None and b is not None and executable(a) == executable(b))


@frozen
class FileFact:
    """What is at a path: ``type`` file|symlink|dir|other|absent; ``sha256`` of content or link target."""

    type: str
    mode: str | None = None
    sha256: str | None = None

    def matches(self, other: FileFact, exact: bool = False) -> bool:
        """Same type and content, and the same mode where a mode means something (regular files): only the
        executable bit by default, as git compares modes; every permission bit when ``exact``."""
        return (self.type == other.type and self.sha256 == other.sha256
                and (self.type != "file" or modes_equal(self.mode, other.mode, exact)))

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


ABSENT = FileFact("absent")


def classify_tracked(expected: FileFact, live: FileFact, exact: bool = False) -> str | None:
    """The drift kind of a tracked path, or None when live matches what was installed.

    One kind per path: content edited is ``modified`` even when the mode changed too (the item's expected
    and actual facts carry both modes, and accepting or restoring it settles both); ``mode-changed`` is a
    mode change alone (the executable bit, or any permission bit when ``exact``).
    """
    if expected.matches(live, exact):
        return None
    if live.type == "absent":
        return "missing"
    if live.type != expected.type:
        return "type-changed"
    if live.sha256 != expected.sha256:
        return "modified"
    return "mode-changed"


def write_mode(live: FileFact, wanted_mode: str | None, exact: bool) -> int:
    """The permission bits to write a source file with over ``live``: the source's with ``install.modes: exact``
    or where nothing stands; otherwise live's own bits (an install made under umask 002 stays 0664), with the x
    bits set where r is, or cleared, only when the source flips the executable bit."""
    want = int(wanted_mode or "0644", 8)
    if exact or live.type != "file" or live.mode is None:
        return want
    mode = int(live.mode, 8)
    if executable(live.mode) == bool(want & 0o111):
        return mode
    return mode | (((mode & 0o444) >> 2) or 0o100) if want & 0o111 else mode & ~0o111
