"""Properties of history over any sequence of states: the store gives back exactly what happened, oscillation
is reported iff a state recurs within the window, and nothing is reported that did not happen."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from trueup import history
from trueup.history import classes as C
from trueup.history import units as U
from trueup.history.record import ComponentRecord, Recorder
from trueup.state import history as store

UNIT = (U.CONFIG, "settings.json:key:model")


def recurs(states: list) -> bool:
    """Brute force: some state comes back after a different one."""
    return any(states[i] == states[k] and any(states[j] != states[i] for j in range(i + 1, k))
               for i in range(len(states)) for k in range(i + 2, len(states)))


@given(st.lists(st.sampled_from("ABCD"), min_size=1, max_size=25))
def test_oscillating_is_recurrence(states):
    assert C.oscillating(states) == recurs(states)


@given(st.lists(st.sampled_from("ABC"), min_size=2, max_size=25))
def test_flap_score_is_zero_iff_nothing_changed_and_hysteresis_holds(states):
    score = C.flap_score(states)
    assert (score == 0) == (len(set(states)) == 1)
    assert 0 <= score <= 100
    assert C.flapping(True, score) >= C.flapping(False, score)  # staying is never harder than entering


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["A", "B", "C", None]), min_size=1, max_size=30), st.integers(2, 8))
def test_history_of_any_sequence(states, window):
    with tempfile.TemporaryDirectory() as tmp:
        conn = store.open_db(Path(tmp))
        truth: list = []
        model = False
        for i, state in enumerate(states):
            with store.writing(conn):
                run = store.new_run(conn, at=f"2026-01-01T00:00:{i:02d}Z", host="h", version="0", mode="stat-cache",
                                    components=["c"])
                prev = store.component_last_run(conn, "c")
                store.set_component_run(conn, "c", run)
                rec = ComponentRecord("c", first=prev is None)
                recorder = Recorder(conn, run, "", window)
                now = {UNIT: (state, {})} if state is not None else {}
                recorder.compare_all(rec, prev, [], (U.CONFIG,), now)
                warned = bool(history._warnings(recorder, "c"))
            truth.append(state)
            rows = conn.execute("SELECT s.run, s.state, s.last_run, s.classes FROM states s").fetchall()
            # Never a change that did not happen: a row per real change (the first sighting being the baseline).
            changes = [j for j in range(len(truth)) if j == 0 and truth[0] is not None
                       or j > 0 and truth[j] != truth[j - 1]]
            if truth[0] is None:  # a unit never seen is not a unit: it starts at its first sighting
                first = next((j for j, s in enumerate(truth) if s is not None), None)
                changes = [j for j in changes if first is not None and j >= first]
            assert [r[0] - 1 for r in rows] == changes
            assert [r[1] for r in rows] == [truth[j] for j in changes]
            if not rows:
                model = False
                continue
            # What the window holds is what happened in it, run by run.
            start = max(1, run - window + 1)
            seen = history.per_run([r[:3] for r in rows if r[2] is None or r[2] >= start], start, run)
            first_seen = rows[0][0]
            expected = truth[max(start, first_seen) - 1:]
            assert seen == expected
            # A change is flagged oscillating iff it returns to a state seen earlier in the window.
            last = rows[-1]
            if last[0] == run and run > 1 and "baseline" not in last[3]:
                before = truth[max(start, first_seen) - 1:-1]
                assert ("oscillating" in last[3].split(",")) == (state in C.collapse(before)[:-1])
            # A warning only for a unit that oscillates now, and always for one that flaps hard.
            assert not warned or recurs(expected)
            if recurs(expected) and C.flap_score(expected) >= C.FLAP_HIGH:
                assert warned
            # And exactly as Sensu-style hysteresis judged run by run would have it (decided only at changes).
            model = recurs(expected) and C.flapping(model, C.flap_score(expected))
            assert warned == model, (states[:i + 1], window, expected)
        conn.close()


def _run_sequence(conn, states, window=10):
    for i, state in enumerate(states):
        with store.writing(conn):
            run = store.new_run(conn, at=f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z", host="h", version="0",
                                mode="stat-cache", components=["c"])
            prev = store.component_last_run(conn, "c")
            store.set_component_run(conn, "c", run)
            Recorder(conn, run, "", window).compare_all(ComponentRecord("c", first=prev is None), prev, [],
                                                        (U.CONFIG,), {UNIT: (state, {})})


def test_compaction_forgets_old_runs_but_keeps_each_kept_states_first_and_last_sighting(tmp_path):
    conn = store.open_db(tmp_path)
    _run_sequence(conn, ["A"] * 5 + ["B"] * 30 + ["C"] * 30 + ["A"] * 10)  # changes at runs 6, 36, 66
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 75
    with store.writing(conn):
        store.compact(conn, keep_days=10_000, keep_runs=20)  # keep runs 56..75
    states = conn.execute("SELECT run, state, last_run FROM states ORDER BY run").fetchall()
    # A (1..5) and B (6..35) ended before run 56: forgotten. C (36..65) was still seen in the window; A now.
    assert states == [(36, "C", 65), (66, "A", None)]
    runs = [r for (r,) in conn.execute("SELECT id FROM runs ORDER BY id")]
    assert runs == [36, *range(56, 76)]  # C's first sighting stays, so its timeline still says since when
    with store.writing(conn):
        store.compact(conn, keep_days=10_000, keep_runs=20)
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 21  # idempotent
    # Unchanged runs cost one row each, nothing more.
    before = conn.execute("SELECT count(*) FROM states").fetchone()[0]
    _run_sequence(conn, ["A"] * 5)
    assert conn.execute("SELECT count(*) FROM states").fetchone()[0] == before
    conn.close()


FILES = ("a.txt", "sub/b.txt", "sub/deep/c.txt")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(*[st.sampled_from(["x", "y", "zz", None])] * 3), min_size=1, max_size=12))
def test_file_history_of_any_sequence_of_real_trees(steps):
    """Real trees walked each run (files written, rewritten, deleted): the store gives back each file's states
    exactly, a change row only for a real change, and oscillating iff the state came back within the window."""
    from trueup.files.globs import spec_matcher
    from trueup.files.tree import observe_tree

    window = 4
    with tempfile.TemporaryDirectory() as tmp:
        root, state = Path(tmp) / "install", Path(tmp) / "state"
        root.mkdir()
        conn = store.open_db(state)
        truth: dict[str, list] = {f: [] for f in FILES}
        for i, contents in enumerate(steps):
            for name, text in zip(FILES, contents):
                path = root / name
                if text is None:
                    path.unlink(missing_ok=True)
                else:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text)
                truth[name].append(text)
            tree = observe_tree(root, ignore=spec_matcher([]), secrets=spec_matcher([]), workers=1)
            with store.writing(conn):
                run = store.new_run(conn, at=f"2026-01-01T00:00:{i:02d}Z", host="h", version="0", mode="full-hash",
                                    components=["c"])
                prev = store.component_last_run(conn, "c")
                store.set_component_run(conn, "c", run)
                Recorder(conn, run, "", window).files(ComponentRecord("c", first=prev is None), prev, [], tree.blocks)
        for name, seq in truth.items():
            rows = conn.execute("SELECT s.run, s.state, s.classes FROM states s JOIN units u ON u.id=s.unit "
                                "WHERE u.kind='file' AND u.name=? ORDER BY s.run", (name,)).fetchall()
            first = next((j for j, t in enumerate(seq) if t is not None), None)
            if first is None:
                assert rows == []
                continue
            # A row exactly where the content changed (or the file came or went), from its first sighting on.
            want = [j for j in range(first, len(seq)) if j == first or seq[j] != seq[j - 1]]
            assert [r[0] - 1 for r in rows] == want, (name, seq, rows)
            states = {}  # content → state string: equal content, equal state; different, different
            for r, j in zip(rows, want):
                assert (r[1] is None) == (seq[j] is None)
                if seq[j] is not None:
                    assert states.setdefault(seq[j], r[1]) == r[1]
            assert len(set(states.values())) == len(states)
            for r, j in zip(rows, want):
                if "baseline" in r[2] or j == first:
                    continue
                before = seq[max(first, j + 1 - window):j]
                assert ("oscillating" in r[2].split(",")) == (seq[j] in C.collapse(before)[:-1]), (name, seq, j, r)
        conn.close()


@given(st.lists(st.sampled_from("ABC"), min_size=1, max_size=20), st.integers(2, 8), st.booleans(),
       st.integers(0, 5))
def test_flap_until_is_the_run_by_run_hysteresis_of_a_unit_left_alone(states, window, was, unseen):
    """flap_until decides at a change what every later quiet run would decide, run by run."""
    rows = [(unseen + i + 1, s) for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    run = unseen + len(states)
    until = C.flap_until(rows, run, window, was)
    flag = was
    for t in range(window + 2):
        end = run + t
        seq = C.per_run(rows, max(1, end - window + 1), end)
        flag = C.oscillating(seq) and C.flapping(flag, C.flap_score(seq))
        assert flag == (end < until), (t, seq, until)
