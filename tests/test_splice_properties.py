"""files/splice.py as a pure function, for random caches and random redone directories: the spliced blocks are the
kept blocks plus the redone ones (nothing lost, nothing doubled), every offset points at its block, and what it
carries over (ledger paths met, notable and holding directories) equals counting the new blocks afresh."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from trueup.files import splice
from trueup.files.dirs import Holding
from trueup.state import stat_cache
from trueup.state.stat_cache import FACT, STAT

ROOT = Path("/nonexistent/install")
PREFIXES = ["", "a/", "b/", "a/c/", "a/c/d/", "b/e/", "f/"]


@st.composite
def block(draw, prefix: str) -> bytes:
    count = draw(st.integers(0, 3))
    names = "\0".join(f"n{i}" for i in range(count)).encode()
    stats = b"".join(STAT.pack(draw(st.integers(0, 9)), 1, 1, i, 0o100644) for i in range(count))
    facts = b"".join(FACT.pack(0, 0, bytes(32)) for _ in range(count))
    tracked = draw(st.integers(0, count))
    notable = draw(st.integers(0, count))
    return stat_cache.dir_block(os.fsencode(prefix), names, stats, facts, tracked, notable)


@st.composite
def case(draw):
    cached = draw(st.lists(st.sampled_from(PREFIXES), min_size=1, unique=True))
    redone = draw(st.lists(st.sampled_from(PREFIXES), unique=True))
    return ({p: draw(block(p)) for p in cached}, {p: draw(block(p)) for p in redone})


def cache_of(blocks: dict[str, bytes]) -> stat_cache.StatCache:
    data = b"".join(blocks.values())
    chunks = stat_cache.encode(ROOT, 1, bytes(32), bytes(32), {"dirty": {}}, data, len(blocks))
    decoded = stat_cache.decode(b"".join(chunks), ROOT)
    assert decoded is not None
    return decoded


def by_prefix(data: bytes) -> dict[str, bytes]:
    return {p: data[at:end] for p, at, end, _, _ in splice.headers(data)}


@settings(max_examples=300, deadline=None)
@given(case())
def test_splicing_keeps_every_other_block_and_carries_what_counting_again_gives(c):
    cached, redone = c
    cache = cache_of(cached)
    if cached and len(cached) > 1:
        splice.derive(cache)  # carried from an earlier cycle, as in watch
    blocks, offsets, derived, prefixes = splice.splice(cache, b"".join(redone.values()))
    expected = {**cached, **redone}
    assert by_prefix(blocks) == expected  # nothing lost, nothing doubled, the redone ones won
    assert len(blocks) == sum(map(len, expected.values()))
    assert {p: blocks[at:at + len(expected[p])] for p, at in offsets.items()} == expected
    assert prefixes == frozenset(redone)
    fresh = cache_of(by_prefix(blocks))
    assert splice.derive(fresh) == derived
    assert derived.holding == Holding.of(derived.occupied)


HELD = ["", "a/", "bb/", "a/cc/", "a/cc/d/", "bb/e/", "fff/", "a/cc/d/gg/", "h/ii/", "h/ii/j/"]


@given(st.lists(st.sampled_from(HELD), unique=True), st.lists(st.sampled_from(HELD), unique=True))
def test_holding_is_every_directory_at_or_above_one_that_holds_and_follows_changes(before, after):
    """Holding as a set: each holding directory and all above it, never the root; updated by changes it is what it
    is built from the new directories (counts never leave a directory held that nothing holds any more)."""
    def above(dirs):
        return {d[:i + 1] for d in dirs for i, ch in enumerate(d) if ch == "/"}

    held = Holding.of(before)
    assert {d for d in above(HELD) if d in held} == above(before)
    assert "" not in held
    moved = held.changed(set(after) - set(before), set(before) - set(after))
    assert moved == Holding.of(after) and Holding.of(before) == held  # the original is left as it was
