"""A walk fed by events in O(what changed): the previous walk's blocks, only the directories events named redone.

trueup watch keeps its stat cache in memory (trueup/state/resident.py). When no cached directory was itself named
by an event (none renamed, removed or replaced — those take the ordinary hinted walk, trueup/files/walk_worker.py),
the directories events named are walked again (new subdirectories with them) and every other directory keeps its
cached block byte for byte: in place when a redone block keeps its length (a file's content edited, the common
case), else the blocks are put together again. What a plan needs from all the blocks — how many ledger paths were
met, which directories have notable entries, which hold ledger paths — is carried from cycle to cycle as
``Derived`` and updated for the redone directories, never recounted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from attrs import frozen

from trueup.files.dirs import Holding
from trueup.state.stat_cache import DIR, FACT, STAT, StatCache

_PER_ENTRY = STAT.size + FACT.size


@frozen
class Derived:
    """What the plan reads off all of a cache's blocks: ``tracked`` (ledger paths met), ``notable`` (directories
    whose block has notable entries), ``occupied`` (directories directly holding a ledger path), ``holding``."""

    tracked: int
    notable: frozenset[str]
    occupied: frozenset[str]
    holding: Holding


def headers(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[str, int, int, int, int]]:
    """(prefix, offset, end, n_tracked, n_notable) of each block in ``data[start:end]``."""
    at, end = start, len(data) if end is None else end
    while at < end:
        plen, nlen, count, n_tracked, n_notable = DIR.unpack_from(data, at)
        stop = at + DIR.size + plen + nlen + count * _PER_ENTRY
        yield os.fsdecode(bytes(data[at + DIR.size:at + DIR.size + plen])), at, stop, n_tracked, n_notable
        at = stop


def derive(cache: StatCache) -> Derived:
    """The cache's Derived, worked out once per cache object (the first cycle of a watch) and then carried."""
    if cache.derived is None:
        tracked, notable, occupied = 0, set(), set()
        for prefix, _, _, n_tracked, n_notable in headers(cache.data):
            tracked += n_tracked
            if n_notable:
                notable.add(prefix)
            if n_tracked:
                occupied.add(prefix)
        cache.derived = Derived(tracked, frozenset(notable), frozenset(occupied), Holding.of(occupied))
    return cache.derived


def roots(cache: StatCache, dirty: frozenset[str], subtrees: tuple[str, ...]) -> list[str] | None:
    """The cached directories to walk again (each without its cached subdirectories), or None when a cached
    directory was itself named by an event (or the root was): then only the ordinary hinted walk is sound."""
    if "" in subtrees or any(s in cache.dirs for s in subtrees):
        return None
    # A dirty directory the cache does not know is new: the walk of its (dirty, cached) ancestor finds it whole.
    return sorted(d for d in dirty if d in cache.dirs)


def splice(cache: StatCache, redone: bytes) -> tuple[bytes, Mapping[str, int], Derived, frozenset[str]]:
    """(the new blocks, every prefix's offset in them, their Derived, the redone prefixes): ``cache``'s blocks
    with those in ``redone`` (the walk's blocks of the directories it walked) put in place or added."""
    old = derive(cache)
    data, dirs = cache.data, cache.dirs
    fresh = list(headers(redone))
    prefixes = frozenset(p for p, *_ in fresh)
    tracked, notable, occupied = old.tracked, set(old.notable), set(old.occupied)
    for prefix, at, end, n_tracked, n_notable in fresh:
        if prefix in dirs:
            tracked -= DIR.unpack_from(data, dirs[prefix])[3]
        tracked += n_tracked
        (notable.add if n_notable else notable.discard)(prefix)
        (occupied.add if n_tracked else occupied.discard)(prefix)
    gained, lost = occupied - old.occupied, old.occupied - occupied
    holding = old.holding.changed(gained, lost) if gained or lost else old.holding
    derived = Derived(tracked, frozenset(notable), frozenset(occupied), holding)

    def length(at: int) -> int:
        plen, nlen, count, _, _ = DIR.unpack_from(data, at)
        return DIR.size + plen + nlen + count * _PER_ENTRY

    if all(p in dirs and length(dirs[p]) == end - at for p, at, end, _, _ in fresh):
        out = bytearray(data)  # same lengths: every offset stands, the blocks are overwritten where they are
        for prefix, at, end, _, _ in fresh:
            out[dirs[prefix]:dirs[prefix] + end - at] = redone[at:end]
        return bytes(out), dirs, derived, prefixes
    # A block grew or shrank, or a directory is new: the kept blocks in their order, then the redone ones.
    cuts = sorted((dirs[p], dirs[p] + length(dirs[p])) for p in prefixes if p in dirs)
    parts, at = [], 0
    for start, stop in cuts:
        parts.append(data[at:start])
        at = stop
    parts += [data[at:], redone]
    blocks = b"".join(parts)
    return blocks, {p: at for p, at, _, _, _ in headers(blocks)}, derived, prefixes
