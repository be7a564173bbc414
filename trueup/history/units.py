"""The units history tracks, read off what the providers observed: files (from the walk's packed blocks),
config entries, the service, and the drift items (for ``since``). Read-only; no database here.

A unit's *state* is a short string that changes exactly when the unit does (None: absent); its *detail* is
the evidence kept beside it (sizes and times, pids), never content and never a plain hash of a secret.
"""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterable, Iterator
from typing import Any

from trueup.state.stat_cache import CLEAN, DIR, FACT, IGNORED, KIND_FILE, KIND_SYMLINK, SECRET, STAT, TRACKED

FILE, CONFIG, SERVICE, COMPONENT, DRIFT = "file", "config", "service", "component", "drift"
_TYPES = ("file", "symlink", "other")
HASH_CHARS = 24  # 96 bits of a content hash: plenty to tell states apart, a third of the storage


def dir_digests(blocks: bytes) -> dict[bytes, tuple[bytes, int, int]]:
    """Per directory (its prefix, fs-encoded): (``block_digest``, start, end). A directory the stat cache found
    unchanged has the same bytes, so its files are never decoded."""
    out: dict[bytes, tuple[bytes, int, int]] = {}
    view, at, n = memoryview(blocks), 0, len(blocks)
    while at < n:
        prefix, digest, end = block_digest(blocks, at, view)
        out[prefix] = (digest, at, end)
        at = end
    return out


def block_digest(blocks: bytes, at: int, view: memoryview | None = None) -> tuple[bytes, bytes, int]:
    """(prefix, digest of its header, prefix, names and lstats, end) of the block at ``at``.
    sha256: the fastest of hashlib's digests where the CPU has SHA instructions (10 MB in ~16 ms here)."""
    plen, nlen, count, _, _ = DIR.unpack_from(blocks, at)
    head = at + DIR.size
    # Names and lstats only: a file's content cannot change without its lstat changing (ctime at least),
    # which is what the stat cache trusts too; the facts after them (and their verdicts) add nothing.
    stats_end = head + plen + nlen + count * STAT.size
    digest = hashlib.sha256((view or memoryview(blocks))[at:stats_end]).digest()[:16]
    return blocks[head:head + plen], digest, stats_end + count * FACT.size


def tree_digest(dirs: dict[bytes, tuple[bytes, int, int]]) -> bytes:
    """One digest of the whole walk: equal ⇒ no file changed, nothing about files to read or write.

    The sum of the directories' digests (each already binds its prefix), so it does not depend on the order the
    workers returned them in and trueup watch updates it from the directories a cycle redid alone (tree_moved)."""
    return tree_moved(bytes(16), (), [d[0] for d in dirs.values()])


def tree_moved(tree: bytes, gone: Iterable[bytes], came: Iterable[bytes]) -> bytes:
    """``tree`` without the directory digests ``gone`` and with ``came``."""
    total = int.from_bytes(tree, "big") + sum(map(_as_int, came)) - sum(map(_as_int, gone))
    return (total % MOD).to_bytes(16, "big")


def _as_int(digest: bytes) -> int:
    return int.from_bytes(digest, "big")


def prefix_text(prefix: bytes) -> str:
    return prefix.decode("utf-8", "surrogateescape")


def block_stats(blocks: bytes, at: int) -> bytes:
    """A block's header, prefix, names and lstats (its facts left out): what the next run compares entries with."""
    plen, nlen, count, _, _ = DIR.unpack_from(blocks, at)
    return blocks[at:at + DIR.size + plen + nlen + count * STAT.size]


def stats_by_name(region: bytes) -> dict[str, bytes]:
    """{name: packed lstat} of a ``block_stats`` region."""
    plen, nlen, count, _, _ = DIR.unpack_from(region, 0)
    p = DIR.size + plen
    names = region[p:p + nlen].decode("utf-8", "surrogateescape").split("\0") if count else []
    p += nlen
    w = STAT.size
    return {name: region[p + i * w:p + (i + 1) * w] for i, name in enumerate(names)}


def block_entries(blocks: bytes, at: int) -> Iterator[tuple[str, bytes, int]]:
    """(name, packed lstat, index) of every entry of the block at ``at``, ignored ones included."""
    plen, nlen, count, _, _ = DIR.unpack_from(blocks, at)
    p = at + DIR.size + plen
    names = blocks[p:p + nlen].decode("utf-8", "surrogateescape").split("\0") if count else []
    p += nlen
    w = STAT.size
    return ((name, blocks[p + i * w:p + (i + 1) * w], i) for i, name in enumerate(names))


def entry_at(blocks: bytes, at: int, index: int) -> tuple[str, tuple] | None:
    """(stat key, raw fact) of entry ``index`` of the block at ``at``; None when it is ignored."""
    plen, nlen, count, _, _ = DIR.unpack_from(blocks, at)
    stats_at = at + DIR.size + plen + nlen
    size, mtime, ctime, _ino, mode = STAT.unpack_from(blocks, stats_at + index * STAT.size)
    kind, flags, digest = FACT.unpack_from(blocks, stats_at + count * STAT.size + index * FACT.size)
    if flags & IGNORED:
        return None
    key = f"{size}:{mtime}:{ctime}" + (":s" if flags & SECRET else "")
    return key, (kind, flags, mode, digest, size, mtime, ctime)


def file_state(kind: int, flags: int, mode: int, digest: bytes, size: int, mtime: int, ctime: int) -> tuple[str, dict[str, Any]]:
    """A file's (state, detail)."""
    perm = f"{stat.S_IMODE(mode):04o}"
    detail: dict[str, Any] = {"type": _TYPES[kind], "size": size, "mtime": mtime, "ctime": ctime}
    if flags & TRACKED:  # whether the live file is what the ledger says trueup last wrote (attribution)
        detail["ledger"] = "equal" if flags & CLEAN else "differs"
    if flags & SECRET:  # existence and mode only: a secret's content is never read, so never compared
        detail["mode"] = perm
        return f"secret:{_TYPES[kind]}:{perm}", detail
    if kind == KIND_FILE:
        sha = digest.hex()[:HASH_CHARS]
        detail.update(mode=perm, sha256=sha)
        return f"file:{perm}:{sha}", detail
    if kind == KIND_SYMLINK:
        sha = digest.hex()[:HASH_CHARS]
        detail["sha256"] = sha
        return f"symlink:{sha}", detail
    detail["mode"] = perm
    return f"other:{perm}", detail


def parse_stat(key: str | None) -> dict[str, Any] | None:
    """A stat key (``entry_at``) back into size and times."""
    if not key:
        return None
    size, mtime, ctime = (int(v) for v in key.split(":")[:3])
    return {"size": size, "mtime": mtime, "ctime": ctime}


def member_hash(path: str, state: str | None) -> int:
    """One member's share of a component's fingerprint: the fingerprint is the sum of these (mod 2^128), so it
    is updated from the files that changed alone, never recomputed over the whole tree."""
    if state is None:
        return 0
    return int.from_bytes(hashlib.blake2b(f"{path}\0{state}".encode("utf-8", "surrogateescape"),
                                          digest_size=16).digest(), "big")


MOD = 1 << 128


def config_units(component: str, config_snapshot: tuple, workspace_root,
                 state_dir) -> tuple[dict[tuple[str, str], tuple[str | None, dict]], tuple[str, ...]]:
    """((CONFIG, 'path:entry') → (state, detail) of every entry of every co-owned config file that parses,
    the 'path:' prefixes of the files that could not be read as entries: not observed this run)."""
    if not config_snapshot:
        return {}, ()
    from trueup.config.entries import index_document
    from trueup.config.formats import ConfigParseError, load
    from trueup.config.locate import config_home, live_path
    from trueup.config.spec import parse_spec
    from trueup.config.view import entry_hash, read_live
    from trueup.state.registry import read_key

    key = read_key(state_dir)
    out: dict[tuple[str, str], tuple[str | None, dict]] = {}
    unread: list[str] = []
    for item, _found in config_snapshot:
        spec = parse_spec(item)
        try:
            raw = read_live(live_path(item, workspace_root))
            if raw is None:
                continue  # no file: its entries are gone
            if spec.format == "lines":
                unread.append(f"{item['path']}:")  # a managed block, not entries: the config drift covers it
                continue
            index = index_document(load(spec.format, raw, component), spec, config_home())
        except ConfigParseError:
            unread.append(f"{item['path']}:")
            continue
        for entry_key, entry in index.entries.items():
            value = entry_hash(entry, key)
            # A secret without the state dir's key cannot be hashed safely: only its presence is tracked.
            state = (value.split(":", 1)[-1][:HASH_CHARS] if value else "secret")
            out[(CONFIG, f"{item['path']}:{entry_key}")] = (state, {"value": state, "secret": entry.secret})
    return out, tuple(unread)


# What a restart changes but is not a change of what runs: the process and its start time (kept as evidence).
PROCESS_FACTS = ("pid", "started_at", "uptime")


def service_units(runtime_snapshot) -> dict[tuple[str, str], tuple[str | None, dict]]:
    """(SERVICE, name) → (state, detail) of the declared service, when its manager answered."""
    if runtime_snapshot is None:
        return {}
    _rspec, robs, _ledger = runtime_snapshot
    if not robs.reachable or robs.skipped:
        return {}
    facts = robs.facts
    if facts.get("present") is False:
        return {(SERVICE, robs.service or "service"): (None, {})}
    what = {k: v for k, v in facts.items() if k not in PROCESS_FACTS}
    state = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:HASH_CHARS]
    detail = {k: facts.get(k) for k in ("status", "version", "pid", "started_at") if facts.get(k) is not None}
    return {(SERVICE, robs.service or "service"): (state, detail)}


def drift_units(drift) -> dict[tuple[str, str], tuple[str | None, dict]]:
    """(DRIFT, 'class:kind:path') → present, for ``since``: the run a drift item was first seen in."""
    return {(DRIFT, drift_name(d.cls, d.kind, d.path)): ("present", {}) for d in drift if d.is_drift}


def drift_name(cls, kind: str, path: str | None) -> str:
    return f"{cls}:{kind}:{path or ''}"
