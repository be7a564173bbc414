"""The stat cache: per install root, path -> (size, mtime_ns, ctime_ns, inode, mode, sha256).

It lets a re-plan of an unchanged tree hash nothing. Binary, not JSON: at 100k files a JSON cache
costs more to parse than the hashing it saves. Its contract instead of a schema: a fixed header with
magic, format version, record size, lengths and a SHA-256 of the body. Anything that does not check
out (truncated, corrupt, other version, other root) is discarded and never trusted.

Layout (little-endian)::

    header  MAGIC(16) version(u32) record_size(u32) stamp_ns(i64) count(u64) names_len(u64)
            root_len(u64) body_sha256(32)
    body    root path bytes | names (NUL-terminated, fs-encoded) | count records of RECORD

Racy-clean as git does it: an entry is trusted only if its lstat is unchanged and both its mtime and
its ctime are older than ``stamp_ns``. ``stamp_ns`` is the clock when the walk that wrote the cache
began, minus RACY_SLACK_NS, so a file rewritten after we hashed it, within the same timestamp tick,
is hashed again next time; ctime (which no user call can set back) catches a same-size rewrite whose
mtime was restored with os.utime.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
from pathlib import Path

MAGIC = b"trueup-statcache"
VERSION = 1
HEADER = struct.Struct("<16sIIqQQQ32s")
# size, mtime_ns, ctime_ns, inode, mode | sha256 | kind, flags. STAT is the prefix compared on lookup.
STAT = struct.Struct("<qqqQI")
RECORD = struct.Struct("<qqqQI32sBB")
DIGEST_AT = STAT.size
KIND_AT = STAT.size + 32
# Kernel file times come from a clock that ticks every few ms and some filesystems keep whole (or even
# even) seconds; 2 s covers both. Cost: files changed in the 2 s before a plan are hashed once more.
RACY_SLACK_NS = 2_000_000_000


def cache_path(cache_dir: Path, root: Path) -> Path:
    """One cache file per install root, named by a hash of the root's absolute path."""
    key = hashlib.sha256(os.fsencode(os.path.abspath(root))).hexdigest()[:32]
    return cache_dir / f"tree-{key}.statcache"


def stamp_now() -> int:
    """The stamp a cache written by a walk starting now carries."""
    import time

    return time.time_ns() - RACY_SLACK_NS


class StatCache:
    """A loaded cache: ``index`` maps a path to its record number in ``records``."""

    __slots__ = ("stamp_ns", "index", "records", "base")

    def __init__(self, stamp_ns: int, index: dict[str, int], records: bytes, base: int) -> None:
        self.stamp_ns = stamp_ns
        self.index = index
        self.records = records  # the whole cache file; records start at ``base``
        self.base = base

    def __len__(self) -> int:
        return len(self.index)

    def lookup(self, rel: str, packed_stat: bytes, mtime_ns: int, ctime_ns: int) -> bytes | None:
        """The cached raw digest if ``rel`` is unchanged and not racy, else None."""
        i = self.index.get(rel)
        if i is None:
            return None
        at = self.base + i * RECORD.size
        # startswith at an offset compares in place: no slice, no tuple per file.
        if not self.records.startswith(packed_stat, at):
            return None
        if mtime_ns >= self.stamp_ns or ctime_ns >= self.stamp_ns:
            return None
        return self.records[at + DIGEST_AT:at + KIND_AT]


def encode(root: Path, stamp_ns: int, names: bytes, records: bytes) -> list[bytes]:
    """The cache file's bytes as chunks: ``names`` NUL-terminated and fs-encoded, ``records`` packed."""
    root_b = os.fsencode(os.path.abspath(root))
    count, rest = divmod(len(records), RECORD.size)
    if rest:
        raise ValueError("records are not a whole number of RECORD")
    body_hash = hashlib.sha256(root_b)
    body_hash.update(names)
    body_hash.update(records)
    header = HEADER.pack(MAGIC, VERSION, RECORD.size, stamp_ns, count, len(names), len(root_b), body_hash.digest())
    return [header, root_b, names, records]


def _check_header(head: bytes, size: int) -> tuple[int, int, int, int, bytes] | None:
    if len(head) < HEADER.size:
        return None
    magic, version, record_size, stamp_ns, count, names_len, root_len, digest = HEADER.unpack_from(head)
    if magic != MAGIC or version != VERSION or record_size != RECORD.size:
        return None
    if HEADER.size + root_len + names_len + count * RECORD.size != size:
        return None
    return stamp_ns, count, names_len, root_len, digest


def decode(data: bytes, root: Path) -> StatCache | None:
    """The cache in ``data``, or None when it is not a sound cache of this root written by this version."""
    checked = _check_header(data, len(data))
    if checked is None:
        return None
    _, count, names_len, root_len, _ = checked
    at = HEADER.size + root_len + names_len
    return _build(data[:at], data[at:], root, checked)


def _build(head: bytes, records: bytes, root: Path, checked: tuple[int, int, int, int, bytes]) -> StatCache | None:
    stamp_ns, count, names_len, root_len, digest = checked
    body = hashlib.sha256(memoryview(head)[HEADER.size:])
    body.update(records)
    if body.digest() != digest:
        return None
    at = HEADER.size
    if head[at:at + root_len] != os.fsencode(os.path.abspath(root)):
        return None  # a foreign cache (renamed or copied state dir): never trusted
    at += root_len
    if count == 0:
        return StatCache(stamp_ns, {}, b"", 0) if names_len == 0 else None
    if head[-1] != 0:
        return None
    names = str(memoryview(head)[at:-1], sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()).split("\0")
    if len(names) != count:
        return None
    index = dict(zip(names, range(count)))
    del names
    if len(index) != count:
        return None  # duplicate paths: not something trueup writes
    return StatCache(stamp_ns, index, records, 0)


def load(cache_dir: Path, root: Path) -> StatCache | None:
    """The cache for ``root``; None when absent or unusable (which only costs hashing)."""
    try:
        with open(cache_path(cache_dir, root), "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            checked = _check_header(fh.read(HEADER.size), size)
            if checked is None:
                return None
            _, count, names_len, root_len, _ = checked
            fh.seek(0)
            # Two reads: the names buffer is freed once indexed; the records stay, uncopied.
            head = fh.read(HEADER.size + root_len + names_len)
            records = fh.read()
    except OSError:
        return None
    if len(head) + len(records) != size:
        return None
    return _build(head, records, root, checked)


def save(cache_dir: Path, root: Path, stamp_ns: int, names: bytes, records: bytes) -> None:
    """Write the cache atomically; a failure to write only costs the next plan some hashing."""
    from trueup.state.atomic import write_chunks  # not needed on a warm plan that writes nothing

    try:
        write_chunks(cache_path(cache_dir, root), encode(root, stamp_ns, names, records), mode=0o600)
    except OSError:
        pass
