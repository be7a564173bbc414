"""Carry the stat cache's verdicts over to the ledger an apply just wrote, so the next walk can trust them.

Each cached entry carries its verdict (TRACKED, CLEAN) against the ledger the cache's header names. An
apply writes a new ledger, so without this the next walk (apply's own closing report, then the next
plan) would parse the whole new ledger and decide every entry again. Apply knows the entries it changed:
only those are decided again here, from the cached facts, and the header then names the new ledger.

The invariant a trusted cache keeps (trueup.files.walk_worker.Verdicts): every ledger path either has a
cached record flagged CLEAN whose fact *is* its ledger entry, or is listed in the meta's ``dirty`` with
its ledger entry. Anything unexpected (no cache, a cache not trusted for the old ledger) leaves the
cache as it is: it is a hint, and the next walk then decides every verdict from the ledger.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

from trueup.state import ledger as ledgers
from trueup.state import stat_cache, stat_records
from trueup.state.ledger_entry import Entry
from trueup.state.stat_cache import CLEAN, DIR, IGNORED, SECRET, TRACKED


def _notable(flags: int) -> int:
    # As walk_worker counts a block's n_notable: tracked-and-ignored, or neither ignored nor clean.
    return 1 if (flags & IGNORED and flags & TRACKED) or not flags & (IGNORED | CLEAN) else 0


class VerdictCarry:
    """Made before an apply's actions change the ledger; ``finish`` after the new ledger is saved."""

    def __init__(self, install_path: Path, cache_dir: Path, ledger: dict[str, Any] | None) -> None:
        self.install_path, self.cache_dir = install_path, cache_dir
        raw = ledgers.read_bytes(install_path)
        self.old_key = ledgers.trust_key(hashlib.sha256(raw).digest()) if raw is not None else None
        files = ledger.get("files") if ledger is not None else None
        # Entries are replaced, never changed in place, except plain dicts an action may edit: copy those.
        self.old_files = ({p: e if type(e) is Entry else copy.deepcopy(e) for p, e in files.items()}
                          if isinstance(files, dict) else None)

    def finish(self, document: dict[str, Any], new_key: bytes) -> bool:
        """Re-key the cache to the ledger ``document`` (saved with ``new_key``); False when it was left alone."""
        cache = stat_cache.load(self.cache_dir, self.install_path)
        if (cache is None or self.old_key is None or self.old_files is None or cache.ledger_key != self.old_key
                or cache.meta is None or not isinstance(document.get("files"), dict)):
            return False
        old, new = self.old_files, document["files"]
        changed = {p for p, e in new.items() if old.get(p) != e} | (old.keys() - new.keys())
        dirty = {p: e for p, e in cache.meta.get("dirty", {}).items() if p not in changed}
        data = bytearray(cache.data)
        blocks: dict[str, list[str]] = {}
        for path in changed:
            prefix, _, _ = path.rpartition("/")
            blocks.setdefault(prefix + "/" if prefix else "", []).append(path)
        for prefix, paths in blocks.items():
            at = cache.dirs.get(prefix)
            index: dict[str, int] = {}
            if at is not None:
                _, n_tracked, n_notable, names_at, stats_at, facts_at, _ = stat_records.block(data, at)
                index = {n: i for i, n in enumerate(stat_records.decode_names(bytes(data[names_at:stats_at])))}
            for path in paths:
                entry = new.get(path)
                j = index.get(path[len(prefix):])
                if j is None:  # not walked yet (apply created it): the walk decides it from dirty
                    if entry is not None:
                        dirty[path] = entry
                    continue
                flags = stat_records.cached_flags(data, facts_at, j)
                fresh = flags & ~(TRACKED | CLEAN)
                if entry is not None:
                    fresh |= TRACKED
                    kind, mode, digest = stat_records.cached_ledger_fact(data, stats_at, facts_at, j)
                    if not fresh & (IGNORED | SECRET) and stat_records.matches_ledger(entry, kind, mode, digest):
                        fresh |= CLEAN
                    else:
                        dirty[path] = entry
                data[facts_at + j * stat_cache.FACT.size + 1] = fresh
                n_tracked += (fresh & TRACKED) - (flags & TRACKED)
                n_notable += _notable(fresh) - _notable(flags)
            if at is not None:
                plen, nlen, count, _, _ = DIR.unpack_from(data, at)
                DIR.pack_into(data, at, plen, nlen, count, n_tracked, n_notable)
        meta = {"ledger": {k: v for k, v in document.items() if k != "files"}, "n_files": len(new),
                "dirty": dict(sorted(dirty.items()))}
        stat_cache.save(self.cache_dir, self.install_path,
                        stat_cache.encode(self.install_path, cache.stamp_ns, cache.spec_key, new_key, meta,
                                          bytes(data), len(cache.dirs)))
        return True
