"""A ledger file entry held compactly: what bounds a cold plan's memory at 100k files.

A parsed entry ``{"mode": "0644", "sha256": "<64 hex>", "type": "file"}`` held as a dict with its strings
costs several times what 35 packed bytes cost, which halves the parsed ledger of a large install
(docs/performance.md, "Numbers behind the code"). ``Entry`` is a read-only Mapping equal to the dict
it stands for, so readers keep using ``entry["sha256"]`` and ``entry.get("mode")``; writers assign
plain dicts. Anything not in the canonical file shape stays a dict.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

_FILE = 0


class Entry(Mapping):
    """A canonical regular-file entry: kind byte, mode (u16 little-endian), raw sha256."""

    __slots__ = ("packed",)

    def __init__(self, packed: bytes) -> None:
        self.packed = packed

    @staticmethod
    def key(mode: int, digest: bytes) -> bytes:
        """The packed form of a regular file with permission bits ``mode`` and raw ``digest``."""
        return bytes((_FILE, mode & 0xFF, (mode >> 8) & 0x0F)) + digest

    def to_json(self) -> dict[str, Any]:
        mode = self.packed[1] | (self.packed[2] << 8)
        return {"type": "file", "mode": f"{mode:04o}", "sha256": self.packed[3:].hex()}

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(("type", "mode", "sha256"))

    def __len__(self) -> int:
        return 3

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Entry):
            return self.packed == other.packed
        if isinstance(other, Mapping):
            return self.to_json() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  (equal to a dict, so unhashable like one)

    def __repr__(self) -> str:
        return f"Entry({self.to_json()!r})"

    def __copy__(self) -> Entry:
        return self

    def __deepcopy__(self, memo: dict) -> Entry:
        return self


def compact(obj: dict[str, Any]) -> Any:
    """``json.loads`` object_hook: a canonical regular-file entry becomes an Entry, anything else stays."""
    if len(obj) != 3 or obj.get("type") != "file":
        return obj
    sha, mode = obj.get("sha256"), obj.get("mode")
    prefix = _mode_prefix(mode) if type(mode) is str else None
    if prefix is None or type(sha) is not str or len(sha) != 64:
        return obj
    try:
        digest = bytes.fromhex(sha)
    except ValueError:
        return obj
    if len(digest) != 32 or digest.hex() != sha:
        return obj  # upper-case hex or spaces: keep it exactly as written
    return Entry(prefix + digest)


@functools.cache
def _mode_prefix(mode: str) -> bytes | None:
    """The packed prefix of a canonical mode string ("0644"); None for anything else (it stays a dict)."""
    if len(mode) != 4 or not all(c in "01234567" for c in mode):
        return None
    return Entry.key(int(mode, 8), b"")


def plain(value: Any) -> Any:
    """``value`` with every Entry turned back into its dict (for validators that want real dicts)."""
    if isinstance(value, Entry):
        return value.to_json()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def json_default(obj: Any) -> Any:
    """``json.dumps`` default: objects that know their JSON form (Entry, FileFact) say it."""
    to_json = getattr(obj, "to_json", None)
    if to_json is None:
        raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
    return to_json()
