"""One walk of an install directory: what changed since the stat cache, and which entries differ from the ledger.

Scale (docs/performance.md): at 100k files the cost is one lstat per entry and, on a cold cache, one
open/read per file; both are system calls that threads cannot overlap under the GIL (slower than one
thread, as measured in docs/performance.md), so the tree is split into shards that forked worker processes take from a
shared queue. A worker compares each directory with its cached block in two byte comparisons (names,
packed lstats); only a directory that differs is looked at entry by entry. Each entry carries a
verdict against the ledger (tracked? clean?), so the parent only ever decodes the few *notable*
entries (not clean, secrets, generated paths), never the whole tree, and on a warm plan it does not
even parse the ledger: the cache's verdicts were computed against the ledger whose digest it names.

The parts: trueup.files.patterns (ignore/secret matching, the patterns' key), trueup.files.walk_worker
(one directory at a time, with the TRACKED/CLEAN verdicts), trueup.files.fork (shards, worker
processes, their results), trueup.state.stat_records (every record's bytes); here the snapshot the
parent builds from the workers' results.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from trueup.files import fork, splice
from trueup.files.changed import WalkDelta
from trueup.files.dirs import Holding
from trueup.files.patterns import Matcher, spec_key
from trueup.files.walk_worker import Hint, Progress, Verdicts, Worker
from trueup.model.facts import FileFact, format_mode
from trueup.state import resident, stat_cache, stat_records
from trueup.state.stat_cache import CLEAN, IGNORED, KIND_FILE, KIND_SYMLINK, SECRET, TRACKED

_TYPES = ("file", "symlink", "other")


def _fact(kind: int, mode: int, digest: bytes, flags: int) -> FileFact:
    if flags & SECRET:
        return FileFact(_TYPES[kind], format_mode(mode) if kind != KIND_SYMLINK else None)
    if kind == KIND_FILE:
        return FileFact("file", format_mode(mode), digest.hex())
    if kind == KIND_SYMLINK:
        return FileFact("symlink", None, digest.hex())
    return FileFact("other", format_mode(mode))


class TreeSnapshot:
    """One observation of a tree.

    ``notable``: facts of entries that are not clean against the ledger (every entry when there is no
    ledger), plus ``special`` paths; ``secrets``: existence and mode of secret paths; ``tracked`` and
    ``clean``: which notable (or secret, or ignored) paths are in the ledger and equal to it;
    ``expected_old``: ledger entries known from an entry's clean cached record; ``tracked_seen``: how
    many ledger paths the walk met; ``trusted_meta``: the cache's ledger knowledge when its verdicts
    were used (None when the ledger itself decided). ``files`` decodes every file and symlink, only
    when asked for (an upgrade, an import).
    """

    def __init__(self, blocks: bytes) -> None:
        self.blocks = blocks
        self.notable: dict[str, FileFact] = {}
        self.secrets: dict[str, FileFact] = {}
        self.tracked: set[str] = set()
        self.clean: set[str] = set()
        self.expected_old: dict[str, dict[str, Any]] = {}
        self.tracked_seen = 0
        self.trusted_meta: dict[str, Any] | None = None
        self.sizes: dict[str, int] = {}  # lstat size of each notable untracked path (a directory's summary)
        self._files: dict[str, FileFact] | None = None
        self.delta: WalkDelta | None = None  # set by a walk fed by events (trueup watch)
        self.occupied: frozenset[str] | None = None  # ... with its directories directly holding a ledger path
        self.holding: Holding | None = None  # ... and those holding one at or below them (trueup.files.dirs)

    @property
    def files(self) -> dict[str, FileFact]:
        if self._files is None:
            items: list[tuple[str, FileFact]] = []
            for prefix, names, stats, facts in stat_records.iter_blocks(self.blocks):
                for name, (mode,), (kind, flags, digest) in stat_records.iter_entries(names, stats, facts):
                    if not flags & (IGNORED | SECRET):
                        items.append((prefix + name, _fact(kind, mode, digest, flags)))
            items.sort()
            self._files = dict(items)
        return self._files

    def walked_paths(self) -> set[str]:
        return {prefix + name for prefix, names, _, _ in stat_records.iter_blocks(self.blocks) for name in names}

    def occupied_dirs(self) -> set[str]:
        """Directories ('' for the root, else 'a/b/') holding a ledger path the walk met: never untracked as a whole."""
        if self.occupied is not None:
            return set(self.occupied)
        out: set[str] = set()
        blocks, at = self.blocks, 0
        while at < len(blocks):
            plen, nlen, count, n_tracked, _ = stat_cache.DIR.unpack_from(blocks, at)
            if n_tracked:
                out.add(os.fsdecode(blocks[at + stat_cache.DIR.size:at + stat_cache.DIR.size + plen]))
            at += stat_cache.DIR.size + plen + nlen + count * (stat_cache.STAT.size + stat_cache.FACT.size)
        return out

    def _add_notable(self, names_b: bytes, records: bytes) -> None:
        sizes = self.sizes
        for (rel, mode, kind, flags, digest, old), record in zip(stat_records.iter_notable(names_b, records),
                                                                 stat_records.NOTABLE.iter_unpack(records)):
            if not flags & (TRACKED | SECRET | IGNORED):
                sizes[rel] = record[0]
            if flags & TRACKED:
                self.tracked.add(rel)
                if flags & CLEAN:
                    self.clean.add(rel)
            if old is not None:
                self.expected_old[rel] = old
            if flags & SECRET:
                self.secrets[rel] = _fact(kind, mode, digest, flags)
            elif not flags & IGNORED:
                self.notable[rel] = _fact(kind, mode, digest, flags)


MetaFn = Callable[[TreeSnapshot], "dict[str, Any] | None"]


def observe_tree(root: Path, *, ignore: Any, secrets: Any, cache_dir: Path | None = None,
                 progress: Progress | None = None, workers: int | None = None, ledger_key: bytes = bytes(32),
                 ledger_files: Callable[[], dict[str, dict[str, Any]]] | None = None,
                 special: Iterable[str] = (), meta: MetaFn | None = None, changed: Any = None) -> TreeSnapshot:
    """Observe every entry below ``root`` (read-only; only the stat cache in ``cache_dir`` may be written).

    ``cache_dir`` None means no cache at all: everything is hashed and nothing is read or written
    (``trueup plan --no-cache``). ``ledger_key`` names the ledger that verdicts are against and
    ``ledger_files()`` parses its files, called only when the cache's verdicts cannot be trusted;
    without them every entry is untracked. ``meta(snapshot)`` is what the cache should remember about
    the ledger. ``progress`` is called with the number of entries observed so far. ``workers``
    overrides the process count (1 = in-process); the result never depends on it. ``changed`` (a
    trueup.files.changed.ChangedPaths from a file-event monitor): only those paths may differ from the cache
    its token names; ignored unless that very cache is loaded and trusted.
    """
    root_s = os.fspath(root)
    stamp = stat_cache.stamp_now()
    skey = spec_key(ignore, secrets)
    cache = stat_cache.load(cache_dir, root) if cache_dir is not None else None
    if cache is not None and cache.spec_key != skey:
        cache = None  # other patterns: stored verdicts and ignore decisions mean something else
    trust = cache is not None and cache.ledger_key == ledger_key and cache.meta is not None
    if trust:
        verdicts = Verdicts(None, cache.meta.get("dirty", {}), cache.data)
    else:
        verdicts = Verdicts(ledger_files() if ledger_files is not None else {}, {})
    ignore_m, secret_m = Matcher(ignore), Matcher(secrets)
    n = fork.worker_count() if workers is None else max(1, workers)
    hint = walk_roots = None
    if changed is not None and trust and cache.stamp_ns == changed.token:
        dirty, subtrees = changed.dirty_dirs()
        walk_roots = splice.roots(cache, dirty, subtrees)
        if walk_roots is None:
            hint = Hint(dirty, subtrees, cache.dirs)
        n = 1  # the walk visits only what events named: a fork would cost more than all of it

    if walk_roots is not None:
        return _spliced(root, cache, walk_roots, Worker(ignore_m, secret_m, cache, verdicts, trust, frozenset(special),
                                                        skip=cache.dirs), stamp, ledger_key, meta, cache_dir)
    shards = fork.shards(root_s, ignore_m, want=16 * n if n > 1 else 1) if hint is None else [("", root_s, True)]
    worker = Worker(ignore_m, secret_m, cache, verdicts, trust, frozenset(special), hint)
    if n > 1 and len(shards) >= fork.PARALLEL_MIN_SHARDS:
        parts = fork.run_forked(worker, shards, n, progress)
    else:
        worker.tick = progress
        for shard in shards:
            worker.walk(*shard)
        parts = [worker.result()]
    cached_dirs = len(cache) if cache is not None else -1
    cached_meta = cache.meta if trust else None
    cached_stamp = cache.stamp_ns if cache is not None else 0
    del worker, cache, verdicts  # the parent no longer needs the old cache: keep peak memory down

    snapshot = _snapshot(b"".join(part[0] for part in parts), parts)
    ndirs, snapshot.tracked_seen, hashed, changed, _ = (sum(c) for c in zip(*(part[3] for part in parts)))
    snapshot.trusted_meta = cached_meta
    del parts
    if cache_dir is not None:
        new_meta = meta(snapshot) if meta is not None else {"dirty": {}}
        # Nothing hashed, no directory changed or vanished, same verdicts: the cache on disk already says all this.
        if changed or hashed or ndirs != cached_dirs or not trust or new_meta != cached_meta:
            stat_cache.save(cache_dir, root, stat_cache.encode(root, stamp, skey, ledger_key, new_meta,
                                                               snapshot.blocks, ndirs))
        else:
            stamp = cached_stamp
        if resident.active():
            # trueup watch: the blocks the next cycle's walk is relative to, so history can follow it from there.
            offsets = {p: at for p, at, *_ in splice.headers(snapshot.blocks)}
            snapshot.delta = WalkDelta(0, stamp, offsets, frozenset(offsets))
    return snapshot


def _snapshot(blocks: bytes, parts: list[tuple[Any, ...]]) -> TreeSnapshot:
    """The snapshot of the walk's ``blocks`` with the notable entries its workers handed over (errors raised)."""
    for part in parts:
        if part[4]:
            errno_, strerror, filename = part[4][0]
            raise OSError(errno_, strerror, filename)
    snapshot = TreeSnapshot(blocks)
    for _, names_b, records, _, _ in parts:
        if names_b:
            snapshot._add_notable(names_b, records)
    snapshot.notable = dict(sorted(snapshot.notable.items()))
    snapshot.secrets = dict(sorted(snapshot.secrets.items()))
    return snapshot


def _spliced(root: Path, cache: stat_cache.StatCache, walk_roots: list[str], worker: Worker, stamp: int,
             ledger_key: bytes, meta: MetaFn | None, cache_dir: Path | None) -> TreeSnapshot:
    """A walk fed by events when no cached directory was named itself (trueup/files/splice.py): the directories
    ``walk_roots`` again, every other block as cached."""
    root_s = os.fspath(root)
    for prefix in walk_roots:
        worker.walk(prefix, root_s + "/" + prefix[:-1] if prefix else root_s, True)
    walked = {p for p, *_ in splice.headers(bytes(worker.blocks))}
    for prefix in (splice.derive(cache).notable | worker.special_dirs) - walked:
        if prefix in cache.dirs:  # the kept blocks' notable entries (and generated paths), as a full walk has them
            worker.cached_notables(prefix, cache.dirs[prefix])
    part = worker.result()
    blocks, offsets, derived, redone = splice.splice(cache, part[0])
    snapshot = _snapshot(blocks, [part])
    snapshot.tracked_seen = derived.tracked
    snapshot.trusted_meta = cache.meta
    snapshot.holding, snapshot.occupied = derived.holding, derived.occupied
    _, _, hashed, changed, _ = part[3]
    new_meta = meta(snapshot) if meta is not None else {"dirty": {}}
    kept = stamp
    if changed or hashed or len(offsets) != len(cache) or new_meta != cache.meta:
        fresh = stat_cache.StatCache(stamp, cache.spec_key, ledger_key, new_meta, blocks, dict(offsets))
        fresh.derived = derived
        if cache_dir is not None:
            stat_cache.keep(cache_dir, root, fresh)
    else:
        kept = cache.stamp_ns  # nothing differs: the cache stays what it is
    snapshot.delta = WalkDelta(cache.stamp_ns, kept, offsets, redone)
    return snapshot
