"""The stat cache: per install root, each directory's entries with lstat, sha256 and ledger verdict.

It lets a re-plan of an unchanged tree hash nothing and, like git's index, decide "unchanged and equal
to the ledger" without reading the ledger: each entry carries the verdict of its last comparison with
the ledger whose digest the header names. Binary, not JSON: at 100k files a JSON cache costs more to
parse than the hashing it saves. Its contract instead of a schema: a fixed header with magic, format
version, lengths and a SHA-256 of the body. Anything that does not check out (truncated, corrupt,
other version, other root) is discarded and never trusted.

Layout (little-endian)::

    header  MAGIC(16) version(u32) ndirs(u32) stamp_ns(i64) root_len(u64) meta_len(u64) dirs_len(u64)
            spec_key(32) ledger_key(32) body_sha256(32)
    body    root path bytes | meta (JSON) | dirs
    dir     DIR(prefix_len, names_len, count, n_tracked, n_notable) | prefix | names (NUL-separated,
            fs-encoded, scandir order) | count STAT records | count FACT records

Grouped by directory so a worker can decide a whole unchanged directory with two byte comparisons
(its names and its packed lstats) instead of a lookup per file.

Racy-clean as git does it: an entry is trusted only if its lstat is unchanged and both its mtime and
its ctime are older than ``stamp_ns``. ``stamp_ns`` is the clock when the walk that wrote the cache
began, minus RACY_SLACK_NS, so a file rewritten after we hashed it, within the same timestamp tick,
is hashed again next time; ctime (which no user call can set back) catches a same-size rewrite whose
mtime was restored with os.utime.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import time
from pathlib import Path
from typing import Any

from trueup.state.racy import RACY_SLACK_NS  # files changed in the 2 s before a plan are hashed once more

MAGIC = b"trueup-statcache"
VERSION = 2
HEADER = struct.Struct("<16sIIqQQQ32s32s32s")
# size, mtime_ns, ctime_ns, inode, mode: what must be identical for a cached digest to be trusted.
STAT = struct.Struct("<qqqQI")
# kind, flags, sha256 (of content, or of a symlink's target)
FACT = struct.Struct("<BB32s")
DIR = struct.Struct("<IIIII")

KIND_FILE, KIND_SYMLINK, KIND_OTHER = 0, 1, 2
TRACKED = 1  # the path is in the ledger's files
CLEAN = 2  # ... and the live fact is exactly the ledger's entry
SECRET = 4  # matched by the secrets patterns: existence and mode only, never read
IGNORED = 8  # matched by the ignore patterns: never reported



def cache_path(cache_dir: Path, root: Path) -> Path:
    """One cache file per install root, named by a hash of the root's absolute path."""
    key = hashlib.sha256(os.fsencode(os.path.abspath(root))).hexdigest()[:32]
    return cache_dir / f"tree-{key}.statcache"


def stamp_now() -> int:
    """The stamp a cache written by a walk starting now carries."""
    return time.time_ns() - RACY_SLACK_NS


class StatCache:
    """A loaded cache: ``dirs`` maps a directory prefix ('' or 'a/b/') to its DIR header offset in ``data``.

    ``meta`` is what the writer knew about the ledger named by ``ledger_key``: everything but its
    files, the file count, and the entries of files that were not clean (so verdicts can be updated
    without parsing the ledger).
    """

    __slots__ = ("stamp_ns", "spec_key", "ledger_key", "meta", "data", "dirs", "derived")

    def __init__(self, stamp_ns: int, spec_key: bytes, ledger_key: bytes, meta: dict[str, Any] | None,
                 data: bytes, dirs: dict[str, int]) -> None:
        self.stamp_ns = stamp_ns
        self.spec_key = spec_key
        self.ledger_key = ledger_key
        self.meta = meta
        self.data = data
        self.dirs = dirs
        self.derived: Any = None  # trueup.files.splice.Derived, once a watch cycle worked it out

    def __len__(self) -> int:
        return len(self.dirs)


def dir_block(prefix: bytes, names: bytes, stats: bytes, facts: bytes, n_tracked: int, n_notable: int) -> bytes:
    count = len(stats) // STAT.size
    return b"".join((DIR.pack(len(prefix), len(names), count, n_tracked, n_notable), prefix, names, stats, facts))


def encode(root: Path, stamp_ns: int, spec_key: bytes, ledger_key: bytes, meta: dict[str, Any] | None,
           dirs: bytes, ndirs: int) -> list[bytes]:
    """The cache file's bytes as chunks; ``dirs`` is ``ndirs`` concatenated ``dir_block``s."""
    root_b = os.fsencode(os.path.abspath(root))
    from trueup.state.ledger_entry import json_default

    meta_b = (json.dumps(meta, sort_keys=True, separators=(",", ":"), default=json_default).encode()
              if meta is not None else b"")
    body = hashlib.sha256(root_b)
    body.update(meta_b)
    body.update(dirs)
    header = HEADER.pack(MAGIC, VERSION, ndirs, stamp_ns, len(root_b), len(meta_b), len(dirs), spec_key,
                         ledger_key, body.digest())
    return [header, root_b, meta_b, dirs]


def decode(data: bytes, root: Path, *, verified: bool = False) -> StatCache | None:
    """The cache in ``data``, or None when it is not a sound cache of this root written by this version
    (``verified``: bytes this process encoded itself, whose checksum need not be taken again)."""
    if len(data) < HEADER.size:
        return None
    magic, version, ndirs, stamp_ns, root_len, meta_len, dirs_len, spec_key, ledger_key, digest = \
        HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION or HEADER.size + root_len + meta_len + dirs_len != len(data):
        return None
    view = memoryview(data)
    if not verified and hashlib.sha256(view[HEADER.size:]).digest() != digest:
        return None
    at = HEADER.size
    if data[at:at + root_len] != os.fsencode(os.path.abspath(root)):
        return None  # a foreign cache (renamed or copied state dir): never trusted
    at += root_len
    try:
        meta = json.loads(bytes(view[at:at + meta_len])) if meta_len else None
    except ValueError:
        return None
    at += meta_len
    dirs_data = data[at:]
    dirs: dict[str, int] = {}
    at = 0
    for _ in range(ndirs):
        if at + DIR.size > len(dirs_data):
            return None
        prefix_len, names_len, count, _, _ = DIR.unpack_from(dirs_data, at)
        prefix = os.fsdecode(dirs_data[at + DIR.size:at + DIR.size + prefix_len])
        dirs[prefix] = at
        at += DIR.size + prefix_len + names_len + count * (STAT.size + FACT.size)
    if at != len(dirs_data) or len(dirs) != ndirs:
        return None
    return StatCache(stamp_ns, spec_key, ledger_key, meta, dirs_data, dirs)


def load(cache_dir: Path, root: Path) -> StatCache | None:
    """The cache for ``root``; None when absent or unusable (which only costs hashing)."""
    from trueup.state import resident

    path = cache_path(cache_dir, root)
    kept = resident.get("stat-cache", path)  # only in trueup watch: the cache its last cycle loaded or wrote
    if kept is not None:
        return kept
    try:
        data = path.read_bytes()
    except OSError:
        return None
    cache = decode(data, root)
    if cache is not None:
        resident.put("stat-cache", path, cache)
    return cache


def save(cache_dir: Path, root: Path, chunks: list[bytes], cache: StatCache | None = None) -> None:
    """Write the cache atomically; a failure to write only costs the next plan some hashing. (``cache``: the same
    cache, decoded, for trueup watch to keep.)"""
    from trueup.state import resident
    from trueup.state.atomic import write_chunks  # not needed on a warm plan that writes nothing

    path = cache_path(cache_dir, root)
    _pending.pop(path, None)
    try:
        # Not fsynced: a cache lost in a crash costs one plan some hashing, and a torn one fails its checksum.
        write_chunks(path, chunks, mode=0o600, durable=False)
    except OSError:
        if resident.active():
            # trueup watch takes the cache on disk for this walk's result: an older one must not stay there.
            try:
                path.unlink(missing_ok=True)
            except OSError:
                resident.keep(False)  # nor removed: keep nothing, and trueup watch forgets its tokens
        return
    if resident.active():
        resident.put("stat-cache", path, cache or decode(b"".join(chunks), root, verified=True), written_here=True)


# trueup watch: caches its walks made that are not on disk yet (path → root, since when), see keep().
_pending: dict[Path, tuple[Path, float]] = {}
FLUSH_EVERY_S = 30.0


def keep(cache_dir: Path, root: Path, cache: StatCache) -> None:
    """A walk's new cache. In trueup watch it is kept in memory, standing in for the file on disk as that file is
    now, and written at most every FLUSH_EVERY_S (flush()): the file on disk is only where other processes start,
    and any cache there is sound for them (every entry is checked by its lstat). Elsewhere: written now."""
    from trueup.state import resident

    path = cache_path(cache_dir, root)
    if not resident.active() or resident.identity(path) is None:
        save(cache_dir, root, _chunks(root, cache), cache)
        return
    resident.put("stat-cache", path, cache, written_here=True)
    _pending.setdefault(path, (root, time.monotonic()))


def flush(older_than: float = 0.0) -> None:
    """Write the kept caches waiting longer than ``older_than`` s (trueup watch: after a cycle, and when it stops).
    A cache whose file another process replaced meanwhile is dropped: that process's cache is as sound."""
    from trueup.state import resident

    now = time.monotonic()
    for path, (root, since) in list(_pending.items()):
        if now - since < older_than:
            continue
        del _pending[path]
        cache = resident.get("stat-cache", path)
        if cache is not None:
            save(path.parent, root, _chunks(root, cache), cache)


def _chunks(root: Path, cache: StatCache) -> list[bytes]:
    return encode(root, cache.stamp_ns, cache.spec_key, cache.ledger_key, cache.meta, cache.data, len(cache.dirs))


def stamp(cache_dir: Path, root: Path) -> int | None:
    """The stamp of the cache the next walk of ``root`` starts from: trueup watch's kept one, else the file's."""
    from trueup.state import resident

    kept = resident.get("stat-cache", cache_path(cache_dir, root))
    return kept.stamp_ns if kept is not None else None
