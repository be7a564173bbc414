"""What is at a path, as plans, ledgers and preconditions record it: type, mode and content hash."""

from __future__ import annotations

import stat
from typing import Any

from attrs import frozen


def format_mode(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


@frozen
class FileFact:
    """What is at a path: ``type`` file|symlink|dir|other|absent; ``sha256`` of content or link target."""

    type: str
    mode: str | None = None
    sha256: str | None = None

    def matches(self, other: FileFact) -> bool:
        """Same type and content, and the same mode where a mode means something (regular files)."""
        return (self.type == other.type and self.sha256 == other.sha256
                and (self.mode == other.mode or self.type != "file"))

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


def classify_tracked(expected: FileFact, live: FileFact) -> str | None:
    """The drift kind of a tracked path, or None when live matches what was installed."""
    if expected.matches(live):
        return None
    if live.type == "absent":
        return "missing"
    if live.type != expected.type:
        return "type-changed"
    if live.sha256 != expected.sha256:
        return "modified"
    return "mode-changed"
