"""The stat cache never changes a result: racy entries, restored mtimes, corrupt and foreign caches."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.perf.helpers import IGNORE, SECRETS, build, facts, wide_tree
from trueup.files import hashing
from trueup.files.patterns import spec_key
from trueup.files.tree import observe_tree
from trueup.state import stat_cache


def _observe(root, cache_dir, **kw):
    return observe_tree(root, ignore=IGNORE, secrets=SECRETS, cache_dir=cache_dir, workers=kw.pop("workers", 1), **kw)


@pytest.fixture
def no_slack(monkeypatch):
    """Trust entries as soon as the coarse clock has moved on; tests sleep past the tick instead of 2 s."""
    monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 0)
    time.sleep(0.03)


@pytest.fixture
def hash_calls(monkeypatch):
    calls: list[str] = []
    real = hashing.digest_at  # the walk hashes every file through this one call

    def counting(name, *a, **kw):
        calls.append(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(hashing, "digest_at", counting)
    return calls


def test_warm_plan_hashes_nothing_and_leaves_the_cache_alone(tmp_path, no_slack, hash_calls):
    root, cache = tmp_path / "t", tmp_path / "cache"
    build(root, {"a.txt": b"a", "d/b.txt": b"b" * 3000})
    cold = _observe(root, cache)
    path = stat_cache.cache_path(cache, root)
    before = path.stat()
    hash_calls.clear()
    warm = _observe(root, cache)
    assert facts(warm) == facts(cold) and hash_calls == []
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_ino == before.st_ino


def test_no_cache_neither_reads_nor_writes(tmp_path, no_slack, hash_calls):
    root, cache = tmp_path / "t", tmp_path / "cache"
    build(root, {"a.txt": b"a"})
    _observe(root, None)
    assert not cache.exists()
    _observe(root, cache)
    hash_calls.clear()
    assert facts(_observe(root, None)) == facts(_observe(root, cache))
    assert len(hash_calls) == 1  # only the --no-cache run hashed


def test_same_size_rewrite_with_mtime_put_back_is_caught_by_ctime(tmp_path, no_slack):
    root, cache = tmp_path / "t", tmp_path / "cache"
    build(root, {"f.txt": b"original"})
    f = root / "f.txt"
    os.utime(f, ns=(1_000_000_000, 1_000_000_000))
    time.sleep(0.03)
    _observe(root, cache)
    st1 = f.stat()
    time.sleep(0.03)  # a later clock tick, so only the restored mtime could hide the edit
    with open(f, "r+b") as fh:  # in place: same inode, same size
        fh.write(b"tampered")
    os.utime(f, ns=(1_000_000_000, 1_000_000_000))
    st2 = f.stat()
    assert (st2.st_size, st2.st_mtime_ns, st2.st_ino) == (st1.st_size, st1.st_mtime_ns, st1.st_ino)
    assert st2.st_ctime_ns != st1.st_ctime_ns
    assert _observe(root, cache).files["f.txt"].sha256 == hashing.sha256_raw(b"tampered").hex()


def _forged_cache(cache, root, rel, stamp_ns, digest):
    """A cache claiming ``rel`` (at the root) has ``digest``, written by a walk stamped ``stamp_ns``."""
    st = (root / rel).lstat()
    stats = stat_cache.STAT.pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)
    block = stat_cache.dir_block(b"", rel.encode(), stats, stat_cache.FACT.pack(stat_cache.KIND_FILE, 0, digest), 0, 1)
    stat_cache.save(cache, root, stat_cache.encode(root, stamp_ns, spec_key(IGNORE, SECRETS), bytes(32), {"dirty": {}},
                                                   block, 1))


def test_racy_entry_is_hashed_again(tmp_path):
    """An entry whose times are not older than the cache's stamp is re-hashed even though its lstat matches."""
    root, cache = tmp_path / "t", tmp_path / "cache"
    build(root, {"f.txt": b"real"})
    ctime = (root / "f.txt").lstat().st_ctime_ns
    wrong = hashing.sha256_raw(b"stale")
    _forged_cache(cache, root, "f.txt", ctime, wrong)  # stamp == ctime: racy
    assert _observe(root, cache).files["f.txt"].sha256 == hashing.sha256_raw(b"real").hex()
    _forged_cache(cache, root, "f.txt", ctime + 1, wrong)  # stamp after every time: the cache is trusted
    assert _observe(root, cache).files["f.txt"].sha256 == wrong.hex()


@pytest.mark.parametrize("damage", ["flip", "truncate", "magic", "version", "empty", "garbage"])
def test_corrupt_cache_is_discarded(tmp_path, damage):
    root, cache = tmp_path / "t", tmp_path / "cache"
    build(root, {"f.txt": b"real"})
    _forged_cache(cache, root, "f.txt", time.time_ns() * 2, hashing.sha256_raw(b"stale"))  # would be trusted
    path = stat_cache.cache_path(cache, root)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-40] ^= 1
    elif damage == "truncate":
        data = data[:-1]
    elif damage == "magic":
        data[0] ^= 1
    elif damage == "version":
        data[16] += 1
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(os.urandom(len(data)))
    path.write_bytes(bytes(data))
    assert stat_cache.load(cache, root) is None
    assert _observe(root, cache).files["f.txt"].sha256 == hashing.sha256_raw(b"real").hex()


def test_foreign_cache_is_discarded(tmp_path):
    a, b, cache = tmp_path / "a", tmp_path / "b", tmp_path / "cache"
    build(a, {"f.txt": b"real"})
    _forged_cache(cache, a, "f.txt", time.time_ns() * 2, hashing.sha256_raw(b"stale"))
    build(b, {"f.txt": b"real"})
    stat_cache.cache_path(cache, b).write_bytes(stat_cache.cache_path(cache, a).read_bytes())
    assert stat_cache.load(cache, b) is None


def test_parallel_warm_equals_cold(tmp_path, no_slack):
    root, cache = tmp_path / "t", tmp_path / "cache"
    wide_tree(root)
    cold = _observe(root, None, workers=3)
    _observe(root, cache, workers=3)
    time.sleep(0.03)
    (root / "a1/d001/f0.txt").write_bytes(b"changed")
    assert facts(_observe(root, cache, workers=3)) == facts(_observe(root, None, workers=1)) != facts(cold)


NAMES = st.sampled_from(["a.txt", "b.js", "d/c.txt", "d/e/f.md", "x.secret", "node_modules/n.js", "g.pyc"])
EDITS = st.lists(st.tuples(st.sampled_from(["write", "same-size", "utime-back", "delete", "chmod", "symlink"]),
                           NAMES, st.binary(min_size=0, max_size=64)), max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(EDITS, min_size=1, max_size=3))
def test_cache_never_changes_results(tmp_path_factory, rounds):
    stat_cache.RACY_SLACK_NS, saved = 0, stat_cache.RACY_SLACK_NS
    try:
        root = tmp_path_factory.mktemp("t")
        cache = tmp_path_factory.mktemp("cache")
        for edits in rounds:
            for op, rel, data in edits:
                _edit(root / rel, op, data)
            time.sleep(0.02)  # past the coarse clock tick of the edits (see no_slack)
            with_cache = facts(_observe(root, cache))
            assert with_cache == facts(_observe(root, None))
            time.sleep(0.02)  # the next edits land in a later tick than the stats just taken
    finally:
        stat_cache.RACY_SLACK_NS = saved


def _edit(path, op, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    exists = path.is_file() and not path.is_symlink()
    if op == "delete" or (op == "symlink" and os.path.lexists(path)):
        path.unlink(missing_ok=True)
        if op == "delete":
            return
    if op == "symlink":
        os.symlink(data.hex() or "target", path)
    elif op == "chmod" and exists:
        os.chmod(path, 0o600 if path.stat().st_mode & 0o077 else 0o644)
    elif op in ("same-size", "utime-back") and exists:
        st = path.stat()
        size = st.st_size
        new = (data * (size // max(len(data), 1) + 1))[:size] if data else bytes(size)
        with open(path, "r+b") as fh:
            fh.write(bytes(b ^ 0x5A for b in new))
        if op == "utime-back":
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    else:
        if path.is_symlink():
            path.unlink()
        path.write_bytes(data)


def test_empty_parent_of_a_special_path_reads_as_empty(tmp_path, no_slack):
    """A trusted walk of a directory left empty (its one generated file deleted) yields no entries from it."""
    root, cache = tmp_path / "t", tmp_path / "cache"
    build(root, {"a.txt": b"a", "out/gen.txt": b"g", "z/last.txt": b"z"})
    _observe(root, cache, special={"out/gen.txt"})
    (root / "out" / "gen.txt").unlink()
    time.sleep(0.03)
    cold = _observe(root, None, special={"out/gen.txt"})
    for _ in range(2):  # the first warm walk rewrites the cache with the empty block; the second trusts it
        warm = _observe(root, cache, special={"out/gen.txt"})
        assert facts(warm) == facts(cold)
        assert not any(p.startswith("out/") for p in facts(warm)[0])
