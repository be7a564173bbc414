"""trueup watch records files from the directories a walk fed by events redid (history/kept.py): whatever the
edits, the database and the plan's meta.history are exactly what a full comparison of every directory makes,
and a delta history cannot trust (another base, another writer in between, a failed record) is compared in full."""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.random_edits import random_edit
from trueup import history
from trueup.files.changed import WalkDelta
from trueup.files.globs import spec_matcher
from trueup.files.tree import observe_tree
from trueup.history import kept
from trueup.history import units as U
from trueup.history.record import Recorder
from trueup.state import resident

TABLES = {"runs": "id", "units": "id", "states": "id", "events": "run, unit, class", "dirs": "component, prefix",
          "components": "name", "applies": "id"}
EDITS = ("write", "add", "remove", "chmod", "mkdir", "rmtree", "rename-dir", "rename-file")


class Workspace:
    """What history.record reads of a workspace."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir, self.root, self.history = state_dir, state_dir, None


def walk(root: Path) -> bytes:
    return observe_tree(root, ignore=spec_matcher([]), secrets=spec_matcher([]), workers=1).blocks


def blocks_by_prefix(blocks: bytes) -> dict[str, bytes]:
    return {U.prefix_text(p): blocks[at:end] for p, (_, at, end) in U.dir_digests(blocks).items()}


def delta_of(old: bytes, new: bytes, base: int, stamp: int, extra: frozenset[str] = frozenset(),
             short: bool = False) -> WalkDelta:
    """The delta a walk fed by events reports: ``redone`` is every prefix whose block differs, plus ``extra``
    (``short``: without the directories that came, a delta that does not add up to its walk)."""
    before, after = blocks_by_prefix(old), blocks_by_prefix(new)
    offsets = {U.prefix_text(p): at for p, (_, at, _) in U.dir_digests(new).items()}
    redone = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)
              and not (short and p not in before)}
    return WalkDelta(base, stamp, offsets, frozenset(redone | (extra & (before.keys() | after.keys()))))


def silent_rewrite(root: Path, rng: random.Random) -> None:
    """Same size, mtime put back: only ctime shows it (a silent rewrite)."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    if files:
        target = rng.choice(files)
        st_ = target.stat()
        data = target.read_bytes()
        target.write_bytes(bytes(reversed(data)) if len(set(data)) > 1 else b"#" * len(data))
        os.utime(target, ns=(st_.st_atime_ns, st_.st_mtime_ns))


def dump(state_dir: Path, recorded: history.Recorded) -> dict:
    meta = recorded.finish({"plan_hash": "p", "meta": {}})["meta"].get("history")
    conn = history.store.open_db(state_dir)
    try:
        return {"meta": meta, **{t: conn.execute(f"SELECT * FROM {t} ORDER BY {o}").fetchall()
                                 for t, o in TABLES.items()}}
    finally:
        conn.close()


class Both:
    """One install recorded two ways: ``a`` as trueup watch does (resident, with deltas), ``b`` in full."""

    def __init__(self, tmp: Path, mp: pytest.MonkeyPatch) -> None:
        self.a, self.b, self.mp = tmp / "a", tmp / "b", mp
        self.cycle, self.stamp, self.blocks = 0, 0, b""
        self.kept: int | None = None  # the stamp of the last walk ``a`` recorded: the base it can start from
        self.full = 0  # records of ``a`` that digested every directory
        digests = U.dir_digests

        def counted(blocks):
            self.full += self.recording_a
            return digests(blocks)

        self.recording_a = False
        mp.setattr(U, "dir_digests", counted)

    def record(self, blocks: bytes, *, extra=frozenset(), base: int | None = None, fail: bool = False,
               short: bool = False) -> None:
        self.cycle += 1
        self.mp.setattr("trueup.state.ledger.now_iso", lambda: f"2026-01-01T00:{self.cycle // 60:02d}:"
                                                              f"{self.cycle % 60:02d}Z")
        stamp = self.stamp + 1
        delta = delta_of(self.blocks, blocks, self.stamp, stamp, extra, short)
        adds_up = not short or blocks_by_prefix(blocks).keys() <= blocks_by_prefix(self.blocks).keys()
        if base is not None:  # relative to a cache history never recorded: its redone set says nothing here
            delta = WalkDelta(base, stamp, delta.offsets, frozenset())
        self.stamp, self.blocks = stamp, blocks  # the walk's cache is kept under its stamp, whatever history does
        self.recording_a, full = True, self.full
        with pytest.MonkeyPatch.context() as m:
            if fail:  # a record that fails after the files were compared: its transaction is rolled back
                m.setattr(Recorder, "drift", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
                m.delenv("TRUEUP_DEBUG", raising=False)
            got_a = history.record(Workspace(self.a), [history.Observed("c", blocks, (), None, (), delta)],
                                   full_hash=False)
        self.recording_a = False
        # Every directory digested iff the base is not the kept one, or the delta does not add up.
        assert self.full - full == (delta.base != self.kept or not adds_up)
        if fail:
            assert got_a.conn is None
            return
        self.kept = stamp
        with pytest.MonkeyPatch.context() as m:
            m.setattr(kept, "key", lambda *a: None)  # an ordinary plan: nothing kept, every directory compared
            got_b = history.record(Workspace(self.b), [history.Observed("c", blocks, (), None, ())], full_hash=False)
        assert dump(self.a, got_a) == dump(self.b, got_b)


def seed_tree(root: Path) -> None:
    for name, text in {"a.txt": "x\n", "d1/b.txt": "y\n", "d1/c.txt": "zz\n", "d2/e/f.txt": "x\n", "d2/g": "y\n"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(EDITS + ("silent", "revert", "none")), st.integers(0, 2**32),
                          st.sampled_from(["delta"] * 4 + ["stale", "fail", "extra", "short"])), min_size=1,
                max_size=14))
def test_recording_what_a_walk_redid_equals_recording_everything(steps):
    """Any edits, each recorded from a delta (its redone set exact, or with directories that did not change), a
    delta of another base (its redone set empty: a change it does not name must still be found), or a record that
    failed (rolled back: what watch keeps must not move either), or one short of the directories that came."""
    resident.keep(True)
    try:
        with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
            root = Path(tmp) / "install"
            seed_tree(root)
            both = Both(Path(tmp), mp)
            both.record(walk(root))
            for i, (op, seed, how) in enumerate(steps):
                rng = random.Random(seed)
                if op in EDITS:
                    random_edit(root, rng, str(i), (op,))
                elif op == "silent":
                    silent_rewrite(root, rng)
                elif op == "revert":  # back to the seed's contents: an earlier state comes back (oscillating)
                    for p in root.rglob("*"):
                        if p.is_file():
                            p.write_text(rng.choice(["x\n", "y\n", "zz\n"]))
                blocks = walk(root)
                extra = frozenset(p for p in blocks_by_prefix(blocks) if rng.random() < 0.3) if how == "extra" else ()
                both.record(blocks, extra=frozenset(extra), base=-1 if how == "stale" else None, fail=how == "fail",
                            short=how == "short")
    finally:
        resident.keep(False)


@pytest.fixture
def watching():
    """This process keeps what trueup watch keeps (trueup.state.resident) for the test's length."""
    resident.keep(True)
    yield
    resident.keep(False)


def test_an_edit_is_recorded_from_its_directory_alone(tmp_path, monkeypatch, watching):
    """The second record of a watch compares the redone directory only: no directory digest of the whole walk."""
    root = tmp_path / "install"
    seed_tree(root)
    both = Both(tmp_path, monkeypatch)
    both.record(walk(root))
    (root / "d1" / "b.txt").write_text("changed\n")
    both.record(walk(root))
    (root / "d2" / "e" / "f.txt").unlink()
    both.record(walk(root))
    both.record(walk(root))  # nothing changed
    assert both.full == 1  # the first record only: nothing was kept before it
    conn = history.store.open_db(both.a)
    states = conn.execute("SELECT u.name, s.run, s.state IS NULL FROM states s JOIN units u ON u.id=s.unit "
                          "WHERE u.kind='file' AND s.run>1 ORDER BY s.run").fetchall()
    conn.close()
    assert states == [("d1/b.txt", 2, 0), ("d2/e/f.txt", 3, 1)]


def test_a_delta_from_another_base_or_after_another_writer_is_compared_in_full(tmp_path, monkeypatch, watching):
    """A change the delta does not name is still recorded when the delta's base is not what history recorded last,
    or when another plan recorded in between (its tree, not the kept one, is what the database holds)."""
    root = tmp_path / "install"
    seed_tree(root)
    both = Both(tmp_path, monkeypatch)
    both.record(walk(root))
    # A stale base: the walk's redone set is relative to a cache history never recorded.
    (root / "a.txt").write_text("stale base\n")
    blocks = walk(root)
    delta = WalkDelta(12345, both.stamp + 1, {U.prefix_text(p): v[1] for p, v in U.dir_digests(blocks).items()},
                      frozenset())
    history.record(Workspace(both.a), [history.Observed("c", blocks, (), None, (), delta)], full_hash=False)
    # Another process's plan records a file that is gone again before the watcher's next cycle.
    (root / "d1" / "brief.txt").write_text("here a moment\n")
    with monkeypatch.context() as m:
        m.setattr(kept, "_kept", {})
        history.record(Workspace(both.a), [history.Observed("c", walk(root), (), None, ())], full_hash=False)
    (root / "d1" / "brief.txt").unlink()
    delta = WalkDelta(both.stamp + 1, both.stamp + 2, delta.offsets, frozenset())  # nothing since its walk
    history.record(Workspace(both.a), [history.Observed("c", walk(root), (), None, (), delta)], full_hash=False)
    conn = history.store.open_db(both.a)
    cur = dict(conn.execute("SELECT name, cur FROM units WHERE kind='file'"))
    conn.close()
    assert cur["a.txt"] is not None and "d1/brief.txt" in cur and cur["d1/brief.txt"] is None
    runs = [r for r, in history.store.open_db(both.a).execute(
        "SELECT s.run FROM states s JOIN units u ON u.id=s.unit WHERE u.name='a.txt' ORDER BY s.run")]
    assert runs == [1, 2]  # baseline, then the change the stale-base delta did not name


def test_nothing_is_kept_outside_watch(tmp_path):
    root = tmp_path / "install"
    seed_tree(root)
    blocks = walk(root)
    offsets = {U.prefix_text(p): v[1] for p, v in U.dir_digests(blocks).items()}
    history.record(Workspace(tmp_path / "s"), [history.Observed("c", blocks, (), None, (),
                                                                WalkDelta(0, 1, offsets, frozenset(offsets)))],
                   full_hash=False)
    assert not resident.active() and kept._kept == {}


def test_tree_digest_is_the_same_however_it_is_reached():
    """Order of the directories does not matter, and moving one directory's digest in and out is exact."""
    rng = random.Random(7)
    digests = {f"d{i}/".encode(): (rng.randbytes(16), 0, 0) for i in range(50)}
    shuffled = dict(rng.sample(sorted(digests.items()), len(digests)))
    assert U.tree_digest(digests) == U.tree_digest(shuffled)
    new = rng.randbytes(16)
    moved = {**digests, b"d3/": (new, 0, 0)}
    del moved[b"d4/"]
    assert U.tree_moved(U.tree_digest(digests), [digests[b"d3/"][0], digests[b"d4/"][0]], [new]) == U.tree_digest(moved)
    assert U.tree_digest(moved) != U.tree_digest(digests)


@pytest.mark.skipif(not __import__("trueup.watch.inotify", fromlist=["available"]).available(),
                    reason="file events are inotify (Linux) only")
@pytest.mark.parametrize("seed", range(2))
def test_watch_cycles_record_what_full_records_of_the_same_walks_do(tmp_path, seed, monkeypatch):
    """Plans fed by a real Monitor's events (real WalkDeltas, trueup/files/splice.py) record, cycle after cycle, what
    ordinary records of the very same walks record into a copy of the history taken before the first cycle."""
    import shutil
    import sqlite3

    import attrs

    from tests.helpers import installed_project
    from trueup.manifest import load_workspace
    from trueup.planner.plan import make_plan
    from trueup.state import stat_cache
    from trueup.state.registry import KEY_FILE
    from trueup.watch.monitor import Monitor

    monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 0)  # trust the cache after a tick, as tests of it do
    project = installed_project(tmp_path / "p")
    workspace = load_workspace(project.root)
    full = Workspace(tmp_path / "full")
    full.root = workspace.root
    full.state_dir.mkdir()
    for name in (KEY_FILE, "journal.jsonl"):
        if (workspace.state_dir / name).exists():
            shutil.copy(workspace.state_dir / name, full.state_dir / name)
    with sqlite3.connect(history.store.db_path(workspace.state_dir)) as src, \
            sqlite3.connect(history.store.db_path(full.state_dir)) as dst:
        src.backup(dst)
    record, redone, twins = history.record, Recorder._files_redone, []
    taken = []
    monkeypatch.setattr(Recorder, "_files_redone", lambda *a: taken.append(redone(*a)) or taken[-1])

    def both(ws, seen, **kw):
        cycle = len(twins) + 1
        monkeypatch.setattr("trueup.state.ledger.now_iso", lambda: f"2026-01-01T00:00:{cycle:02d}Z")
        with pytest.MonkeyPatch.context() as m:
            m.setattr(kept, "key", lambda *a: None)
            twins.append(record(full, [attrs.evolve(o, delta=None) for o in seen], **kw))
        return record(ws, seen, **kw)

    monkeypatch.setattr(history, "record", both)
    rng = random.Random(seed)
    monitor = Monitor(list(workspace.components), workspace.state_dir / "cache")
    try:
        for round_ in range(10):
            document = make_plan(workspace, None, quiet=True, changed=monitor.take())
            monitor.done(True)
            twin = twins[-1].finish({**document, "meta": {}})
            assert document["meta"]["history"] == twin["meta"]["history"], f"round {round_}"
            assert dump(workspace.state_dir, history.Recorded()) == dump(full.state_dir, history.Recorded()), round_
            for i in range(rng.randint(1, 3)):
                random_edit(project.install, rng, f"{round_}_{i}", ("write", "write", "write", "add", "chmod",
                                                                    "mkdir", "remove", "rename-file", "rmtree"))
            time.sleep(0.05)
    finally:
        monitor.close()
    assert sum(t is not None for t in taken) >= 3  # cycles that really recorded from the directories their walk redid


def test_a_watch_cycle_reads_no_table_whole(tmp_path, monkeypatch):
    """Every statement of a record from a delta is an indexed look-up of what changed: no table scanned, no read of
    every unit or directory of the component (the flapping units' query once read them all: ~30 ms at 100k)."""
    import sqlite3

    root, state = tmp_path / "install", tmp_path / "state"
    seed_tree(root)
    old = walk(root)
    (root / "d1" / "b.txt").write_text("changed\n")
    new = walk(root)
    statements: list[str] = []
    open_db = history.store.open_db

    def traced(*a, **kw):
        conn = open_db(*a, **kw)
        conn.set_trace_callback(statements.append)
        return conn

    resident.keep(True)
    try:
        for stamp, blocks in enumerate((old, new), start=1):
            if stamp == 2:
                monkeypatch.setattr(history.store, "open_db", traced)
            delta = delta_of(old if stamp == 2 else b"", blocks, stamp - 1, stamp)
            history.record(Workspace(state), [history.Observed("c", blocks, (), None, (), delta)],
                           full_hash=False).finish({"plan_hash": "p", "meta": {}})
    finally:
        resident.keep(False)
    monkeypatch.setattr(history.store, "open_db", open_db)
    conn = sqlite3.connect(history.store.db_path(state))
    plans = {s: [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + s)]
             for s in statements if s.split()[0].upper() in ("SELECT", "UPDATE", "DELETE")}
    changed = conn.execute("SELECT count(*) FROM states WHERE run=2").fetchone()[0]
    conn.close()
    assert changed == 2  # the file and its component: the record did record the change
    assert any("flap_until" in s for s in plans) and any("FROM dirs" in s for s in plans)
    whole = {s: p for s, p in plans.items()
             if any(step.startswith(("SCAN units", "SCAN states", "SCAN dirs", "SCAN events", "SCAN u ", "SCAN s ",
                                     "SCAN e ")) or step.endswith("(component=?)") for step in p)}
    assert whole == {}


def test_a_tree_digest_of_another_definition_costs_one_full_comparison_and_no_change(tmp_path):
    """A history whose tree digest an older trueup wrote (another definition): the directories are compared, nothing
    is recorded as changed, and the digest is written anew."""
    root, state = tmp_path / "install", tmp_path / "state"
    seed_tree(root)
    blocks = walk(root)

    def record() -> None:
        history.record(Workspace(state), [history.Observed("c", blocks, (), None, ())], full_hash=False).finish(
            {"plan_hash": "p", "meta": {}})

    record()
    conn = history.store.open_db(state)
    with history.store.writing(conn):
        conn.execute("UPDATE components SET tree=?", (b"\x01" * 16,))
    conn.close()
    record()
    conn = history.store.open_db(state)
    assert conn.execute("SELECT max(run) FROM states").fetchone()[0] == 1  # the baseline only
    assert conn.execute("SELECT tree FROM components").fetchone()[0] == U.tree_digest(U.dir_digests(blocks))
    conn.close()


def test_the_cycle_after_a_full_walk_already_records_from_its_walk_alone(tmp_path, monkeypatch):
    """The watcher's first cycle (and the hourly one) walks everything; it still tells history which blocks the next
    cycle is relative to, so that cycle digests only the directory its events named."""
    from tests.helpers import installed_project
    from trueup.manifest import load_workspace
    from trueup.planner.plan import make_plan
    from trueup.state import stat_cache
    from trueup.watch.monitor import Monitor

    monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 0)
    project = installed_project(tmp_path)
    workspace = load_workspace(project.root)
    redone, taken = Recorder._files_redone, []
    monkeypatch.setattr(Recorder, "_files_redone", lambda *a: taken.append(redone(*a)) or taken[-1])
    monitor = Monitor(list(workspace.components), workspace.state_dir / "cache")
    try:
        make_plan(workspace, None, quiet=True, changed=monitor.take())  # no token yet: a full walk
        monitor.done(True)
        assert taken == []
        time.sleep(0.05)
        (project.install / "server" / "util.js").write_text("patched\n")
        document = make_plan(workspace, None, quiet=True, changed=monitor.take())
        monitor.done(True)
    finally:
        monitor.close()
    assert len(taken) == 1 and taken[0] is not None
    assert "server/util.js" in {d["path"] for c in document["components"] for d in c["drift"]}
