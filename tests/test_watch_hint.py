"""A walk told by real inotify events what changed equals a full walk, after random edits (fixed seeds)."""

from __future__ import annotations

import os
import random
import time

import pytest

from tests.perf.helpers import IGNORE, SECRETS
from tests.random_edits import random_edit
from trueup.files.changed import ChangedPaths, cache_token
from trueup.files.tree import observe_tree
from trueup.state import stat_cache
from trueup.watch.inotify import Inotify, available

pytestmark = pytest.mark.skipif(not available(), reason="inotify is Linux only")


def _observe(root, cache_dir, changed=None):
    return observe_tree(root, ignore=IGNORE, secrets=SECRETS, cache_dir=cache_dir, workers=1, changed=changed)


def _seen(snap):
    return dict(snap.files), sorted(snap.notable), sorted(snap.walked_paths())


def _tree(root, rng: random.Random, dirs: int = 12, files: int = 60):
    paths = [""]
    for i in range(dirs):
        parent = rng.choice(paths)
        paths.append(f"{parent}d{i}/")
        (root / paths[-1]).mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (root / rng.choice(paths) / f"f{i}.txt").write_text(f"{i}\n")


def _edit(root, rng: random.Random, n: int) -> None:
    """``n`` random edits: rewrites (twice as likely), adds, removes, chmods, new, removed and renamed directories."""
    for k in range(n):
        random_edit(root, rng, str(k), ("write", "write", "add", "remove", "chmod", "mkdir", "rmtree", "rename-dir",
                                        "rename-file"))


def _relative(root, paths):
    return frozenset(os.path.relpath(p, root) if p != str(root) else "" for p in paths)


@pytest.mark.parametrize("seed", range(8))
def test_hinted_walk_equals_full_walk_after_random_edits(tmp_path, seed, monkeypatch):
    monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 0)
    rng = random.Random(seed)
    root, cache = tmp_path / "tree", tmp_path / "cache"
    root.mkdir()
    cache.mkdir()
    _tree(root, rng)
    inotify = Inotify()
    inotify.add_tree(str(root))
    _observe(root, cache)
    for _ in range(3):
        token = cache_token(cache, root)
        inotify.read()  # the walk's own reads raise no events; anything before the token is in the cache
        time.sleep(0.01)
        _edit(root, rng, rng.randint(1, 6))
        paths, lost = inotify.read()
        assert not lost
        hinted = _observe(root, cache, ChangedPaths(token, _relative(root, paths)))
        full = _observe(root, tmp_path / f"fresh{rng.random()}")
        assert _seen(hinted) == _seen(full)
    inotify.close()


def test_a_directory_swapped_for_another_is_walked_whole(tmp_path, monkeypatch):
    """Events name only the renamed entries (d, e, d.old), never what is inside them: a directory named by an event
    must be walked with everything below it, or the cache's block for the old d would stand for the new one."""
    monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 0)
    root, cache = tmp_path / "tree", tmp_path / "cache"
    for rel, text in (("d/a.txt", "old d\n"), ("d/deep/x.txt", "old x\n"), ("e/b.txt", "e\n"), ("e/deep/y.txt", "y\n")):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    cache.mkdir()
    inotify = Inotify()
    inotify.add_tree(str(root))
    _observe(root, cache)
    token = cache_token(cache, root)
    inotify.read()
    time.sleep(0.01)
    (root / "d").rename(root / "d.old")
    (root / "e").rename(root / "d")
    paths, lost = inotify.read()
    inotify.close()
    assert not lost and _relative(root, paths) <= {"", "d", "e", "d.old"}
    hinted = _observe(root, cache, ChangedPaths(token, _relative(root, paths)))
    assert _seen(hinted) == _seen(_observe(root, tmp_path / "fresh"))
    assert "d/deep/y.txt" in hinted.files and "d/deep/x.txt" not in hinted.files


def test_an_unnamed_edit_is_not_looked_at_and_another_token_walks_everything(tmp_path, monkeypatch):
    """The hint is really used (a directory no event named is not even listed), and only with its own cache."""
    monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 0)
    root, cache = tmp_path / "tree", tmp_path / "cache"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.txt").write_text("one\n")
    (root / "b.txt").write_text("b\n")
    cache.mkdir()
    _observe(root, cache)
    token = cache_token(cache, root)
    time.sleep(0.01)
    (root / "a" / "x.txt").write_text("two, not reported\n")
    (root / "a" / "new.txt").write_text("new, not reported\n")
    hinted = _observe(root, cache, ChangedPaths(token, frozenset()))
    assert "a/new.txt" not in hinted.files
    stale = _observe(root, cache, ChangedPaths(token - 1, frozenset()))  # not this cache's token: ignored
    assert "a/new.txt" in stale.files


def test_queue_overflow_is_reported(tmp_path):
    """IN_Q_OVERFLOW reaches the reader (the libraries drop it): more events than the kernel queues."""
    with open("/proc/sys/fs/inotify/max_queued_events") as fh:
        limit = int(fh.read())
    if limit > 20_000:
        pytest.skip(f"max_queued_events is {limit}: too many files to write here")
    inotify = Inotify()
    inotify.add_tree(str(tmp_path))
    for i in range(limit // 2 + 10):  # each new file: IN_CREATE, IN_MODIFY, IN_CLOSE_WRITE
        (tmp_path / f"f{i}").write_bytes(b"x")
    _, lost = inotify.read()
    inotify.close()
    assert lost


def test_what_watch_keeps_in_memory_is_read_again_once_another_writer_replaced_it(tmp_path, monkeypatch):
    """trueup watch keeps its stat caches between cycles; a cache another process renamed into place (a plan, an
    apply) is never served from memory, and a file read (not written here) is kept only once it is not racy."""
    from trueup.state import resident
    from trueup.state.atomic import write_text

    monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 0)
    root, cache = tmp_path / "tree", tmp_path / "cache"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.txt").write_text("one\n")
    resident.keep(True)
    try:
        _observe(root, cache)
        kept = stat_cache.load(cache, root)
        assert kept is not None and stat_cache.load(cache, root) is kept  # served from memory
        time.sleep(0.01)
        (root / "a" / "y.txt").write_text("two\n")
        resident.keep(False)  # another process's plan writes a new cache (renamed into place)
        _observe(root, cache)
        resident.keep(True)
        fresh = stat_cache.load(cache, root)
        assert fresh is not kept and fresh.stamp_ns > kept.stamp_ns

        path = tmp_path / "ledger.json"
        write_text(path, "{}")
        monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 10**12)  # as if written within the slack
        monkeypatch.setattr(resident, "RACY_SLACK_NS", 10**12)
        resident.put("ledger-digest", path, "d1")
        assert resident.get("ledger-digest", path) is None  # too young to vouch for
        resident.put("ledger-digest", path, "d1", written_here=True)
        assert resident.get("ledger-digest", path) == "d1"
        write_text(path, "{}")  # same bytes, a new file
        assert resident.get("ledger-digest", path) is None
    finally:
        resident.keep(False)
