"""A packed index of one ledger's files, so a plan reads a 100k-file ledger without parsing its JSON.

Loading this index costs a fraction of parsing a large ledger's JSON, in time and memory (numbers in
docs/performance.md, "Numbers behind the code"). It is content-addressed: the header
names the ledger bytes it was built from (ledger.trust_key: their SHA-256 and the schema's), so like the validation memo it cannot be
stale, and ``plan --no-cache`` (which turns off the stat cache only) still uses it. Built by apply when
it writes a ledger, and by a plan that had to parse one. Like the stat cache, anything that does not
check out (truncated, corrupt, other version, other ledger) is ignored, never trusted.

Layout (little-endian)::

    header  MAGIC(16) version(u32) count(u32) rest_len(u64) names_len(u64) ledger_key(32) body_sha256(32)
    body    rest (JSON: the ledger without files, and "odd": entries not in the canonical shape)
            | names (NUL-separated, sorted) | count packed entries (35 bytes; kind 0xFF = see "odd")
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from trueup.state.ledger_entry import Entry, compact, json_default

MAGIC = b"trueup-ledgeridx"
VERSION = 1
HEADER = struct.Struct("<16sIIQQ32s32s")
WIDTH = 35  # an Entry's packed form
_ODD = bytes((0xFF,)) + bytes(WIDTH - 1)


def index_path(memo_dir: Path, install_path: Path) -> Path:
    """One index per install, named by a hash of its absolute path (a new ledger replaces it)."""
    key = hashlib.sha256(os.fsencode(os.path.abspath(install_path))).hexdigest()[:32]
    return memo_dir / f"ledger-{key}.index"


class PackedFiles(Mapping):
    """``ledger["files"]`` read from an index: path -> Entry (or the entry's dict when not canonical)."""

    __slots__ = ("_index", "_blob", "_odd")

    def __init__(self, index: dict[str, int], blob: bytes, odd: dict[str, Any]) -> None:
        self._index = index
        self._blob = blob
        self._odd = odd

    def __getitem__(self, path: str) -> Any:
        i = self._index[path]
        packed = self._blob[i * WIDTH:(i + 1) * WIDTH]
        return self._odd[path] if packed == _ODD else Entry(packed)

    def get(self, path: str, default: Any = None) -> Any:
        return self[path] if path in self._index else default

    def __contains__(self, path: object) -> bool:
        return path in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def keys(self):  # type: ignore[override]  (a dict's KeysView: set operations in C)
        return self._index.keys()


def first_unsafe_path(names: Any, joined: str | None = None) -> str | None:
    """The first ledger path that would lead out of its install (absolute, a '..' component, a NUL, empty, a name
    over 255 characters), else None. What the ledger schema's relpath says, checked first in a few C-speed scans
    of the NUL-joined names (a per-key pattern in the schema doubled the validation of a 100k-file ledger)."""
    if not names:
        return None
    joined = "\0".join(names) if joined is None else joined
    if not ("" in names or joined.count("\0") != len(names) - 1 or joined.startswith("/") or "\0/" in joined
            or ".." in joined or max(map(len, names)) > 255):
        return None
    for name in names:
        parts = name.split("/")
        if not name or "\0" in name or name.startswith("/") or ".." in parts or any(len(p) > 255 for p in parts):
            return name
    return None


def encode(document: dict[str, Any], ledger_key: bytes) -> list[bytes]:
    files = document["files"]
    names = sorted(files)
    packed = bytearray()
    odd: dict[str, Any] = {}
    for path in names:
        entry = files[path]
        if not isinstance(entry, Entry):
            entry = compact(dict(entry))
        if isinstance(entry, Entry):
            packed += entry.packed
        else:
            odd[path] = entry
            packed += _ODD
    rest = {k: v for k, v in document.items() if k != "files"}
    rest_b = json.dumps({"ledger": rest, "odd": odd}, sort_keys=True, separators=(",", ":"),
                        default=json_default).encode()
    names_b = "\0".join(names).encode("utf-8", "surrogateescape")
    body = hashlib.sha256(rest_b)
    body.update(names_b)
    body.update(packed)
    header = HEADER.pack(MAGIC, VERSION, len(names), len(rest_b), len(names_b), ledger_key, body.digest())
    return [header, rest_b, names_b, bytes(packed)]


def load(memo_dir: Path | None, install_path: Path, ledger_key: bytes) -> dict[str, Any] | None:
    """The ledger document (files as PackedFiles) from the index made for ``ledger_key``, else None."""
    if memo_dir is None:
        return None
    path = index_path(memo_dir, install_path)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < HEADER.size:
        return _damaged(path, "truncated")
    magic, version, count, rest_len, names_len, key, digest = HEADER.unpack_from(data)
    if magic != MAGIC:
        return _damaged(path, "not a ledger index")
    if version != VERSION or key != ledger_key:
        return None  # another trueup's, or made for another ledger: replaced when this ledger is indexed
    if HEADER.size + rest_len + names_len + count * WIDTH != len(data):
        return _damaged(path, "truncated")
    view = memoryview(data)
    if hashlib.sha256(view[HEADER.size:]).digest() != digest:
        return _damaged(path, "its checksum does not match")
    at = HEADER.size
    try:
        rest = json.loads(bytes(view[at:at + rest_len]))
        at += rest_len
        names = str(view[at:at + names_len], "utf-8", "surrogateescape").split("\0") if count else []
    except (ValueError, RecursionError):
        return _damaged(path, "undecodable")
    at += names_len
    if (len(names) != count or not isinstance(rest, dict) or not isinstance(rest.get("ledger"), dict)
            or not isinstance(rest.get("odd"), dict)):
        return _damaged(path, "not the shape of a ledger index")
    if first_unsafe_path(names) is not None:  # only a forged index can hold one: the ledger it names was checked
        return _damaged(path, "a path in it leaves the install")
    document = rest["ledger"]
    document["files"] = PackedFiles(dict(zip(names, range(count))), data[at:], rest["odd"])
    return document


def _damaged(path: Path, why: str) -> None:
    from trueup.state import cache_notes

    cache_notes.discard(path, why)
    return None


def save(memo_dir: Path | None, install_path: Path, document: dict[str, Any], ledger_key: bytes) -> None:
    """Write the index; a failure only costs the next plan a JSON parse."""
    if memo_dir is None:
        return
    from trueup.state.atomic import write_chunks

    try:
        write_chunks(index_path(memo_dir, install_path), encode(document, ledger_key), mode=0o600, durable=False)
    except OSError:
        pass
