"""History end to end: real files, real git, real plans and applies; each class asserted exactly."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.test_e2e_config import CONFIG, settings
from tests.conftest import V1


def _warnings(document: dict, kind: str) -> dict[str | None, dict]:
    return {w["path"]: w for w in document["meta"]["history"]["warnings"] if w["kind"] == kind}


def _log(project, *args: str) -> list[dict]:
    code, out, err = project.run("log", "--workspace", str(project.root), "--json", *args)
    assert code == 0, err
    return json.loads(out)


def _history(project, *args: str) -> list[dict]:
    code, out, err = project.run("history", "--workspace", str(project.root), "--json", *args)
    assert code == 0, err
    return json.loads(out)


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def test_same_size_edit_with_mtime_put_back_is_a_silent_rewrite_the_stat_cache_does_not_hide(installed):
    util = installed.install / "server/util.js"
    old = time.time_ns() - 86_400 * 10**9
    os.utime(util, ns=(old, old))
    time.sleep(2.2)  # past the racy-clean slack: the next plans trust the stat cache for this file
    installed.plan()
    assert not _warnings(installed.plan(), "silent-rewrite")  # a cached, trusted, unchanged file
    text = util.read_text()
    _write(util, text.replace("{}", "[]"))  # same size
    os.utime(util, ns=(old, old))  # and the timestamp put back
    document = installed.plan()
    warning = _warnings(document, "silent-rewrite")["server/util.js"]
    assert warning["details"]["sub_kind"] == "timestamp-restored"
    rows = _log(installed, "--class", "silent-rewrite")
    assert [(r["unit"], r["kind"]) for r in rows] == [("", "component"), ("server/util.js", "file")]
    assert "timestamp-restored" in rows[1]["classes"] and "changed-outside-trueup" in rows[1]["classes"]
    # An ordinary edit (new mtime) is a change, never a silent rewrite.
    index = installed.install / "server/index.js"
    _write(index, index.read_text() + "// more\n")
    installed.plan()
    assert [r["unit"] for r in _log(installed, "--class", "silent-rewrite")] == ["", "server/util.js"]


def test_a_to_b_to_a_and_a_to_b_to_c_to_a_oscillate(installed):
    index, util = installed.install / "server/index.js", installed.install / "server/util.js"
    a_index, a_util = index.read_text(), util.read_text()
    installed.plan()
    steps = [("B", "B"), (None, "C"), ("A", "A")]  # index: A→B→A (B kept a run); util: A→B→C→A
    for i, (x, u) in enumerate(steps):
        if x is not None:
            _write(index, a_index if x == "A" else a_index + "// B\n")
        _write(util, a_util if u == "A" else a_util + f"// {u}\n")
        document = installed.plan()
        if i < 2:
            assert not _warnings(document, "oscillating")
    warned = _warnings(document, "oscillating")
    assert set(warned) == {"server/index.js", "server/util.js", None}  # None: the component's file set as a whole
    assert warned["server/util.js"]["details"]["states"] == 3 and warned["server/util.js"]["details"]["changes"] == 3
    assert warned["server/index.js"]["details"]["states"] == 2
    timeline = _history(installed, "app", "server/util.js")
    assert [r["state"] == timeline[0]["state"] for r in timeline] == [True, False, False, True]
    assert timeline[-1]["classes"] == ["changed", "oscillating", "changed-outside-trueup"]
    # Hysteresis, then forgetting: quiet runs keep it a while, and once the flips leave the window it is gone.
    quiet = [bool(_warnings(installed.plan(), "oscillating")) for _ in range(10)]
    assert quiet[0] and not quiet[-1] and quiet == sorted(quiet, reverse=True)


def test_same_count_swap_is_swapped_and_additions_and_removals_are_named(installed):
    start = installed.plan()["meta"]["history"]["run"]
    (installed.install / "docs/old.md").unlink()
    _write(installed.install / "docs/new.md", "old docs\n")  # same count, even the same bytes: a swap
    installed.plan()
    _write(installed.install / "server/extra.js", "1\n")
    _write(installed.install / "server/more.js", "2\n")
    installed.plan()
    (installed.install / "server/extra.js").unlink()
    installed.plan()
    rows = [r for r in reversed(_log(installed)) if r["kind"] == "component" and r["run"] > start]
    assert [r["classes"][:2] for r in rows] == [["changed", "swapped"], ["changed", "expanded"], ["changed", "contracted"]]
    assert all("silent-rewrite" not in r["classes"] for r in rows)
    swap, grew, shrank = (r["detail"] for r in rows)
    assert (swap["added"], swap["removed"], swap["members"]) == (["docs/new.md"], ["docs/old.md"], 7)
    assert (grew["added"], grew["removed"]) == (["server/extra.js", "server/more.js"], [])
    assert (shrank["added"], shrank["removed"]) == ([], ["server/extra.js"])
    files = {r["unit"]: r["classes"][0] for r in reversed(_log(installed, "--component", "app"))
             if r["kind"] == "file" and r["run"] > start}
    assert files == {"docs/new.md": "appeared", "docs/old.md": "removed", "server/extra.js": "removed",
                     "server/more.js": "appeared"}


def test_a_settings_entry_flipped_by_two_writers_oscillates(project):
    project.source({"v1": {**V1, "templates/settings.json": settings()}})
    project.manifest(ref="v1", extra={"config": CONFIG})
    live = Path.home() / "zylos/.claude/settings.json"
    live.parent.mkdir(parents=True)
    live.write_text(json.dumps({"model": "opus", "theme": "dark"}, indent=2) + "\n")
    project.plan()
    for model in ("sonnet", "opus", "sonnet"):  # one writer wants sonnet, the other opus
        document = json.loads(live.read_text())
        live.write_text(json.dumps({**document, "model": model}, indent=2) + "\n")
        document = project.plan()
    warning = _warnings(document, "oscillating")["~/zylos/.claude/settings.json"]
    assert warning["class"] == "config" and warning["details"]["entry"].endswith("model")
    assert len(_warnings(document, "oscillating")) == 1  # theme never moved
    rows = _history(project, "app", "model")
    assert [r["classes"][0] for r in rows] == ["baseline", "changed", "changed", "changed"]
    assert "opus" not in json.dumps(rows) and "sonnet" not in json.dumps(rows)  # hashes, never values
    live.write_text("{ not json")  # unparseable: its entries were not observed, which is not "removed"
    project.plan()
    assert not [r for r in _log(project) if r["kind"] == "config" and "removed" in r["classes"]]


def test_an_apply_made_change_is_attributed_to_its_plan(installed):
    index = installed.install / "server/index.js"
    installed.plan()
    _write(index, index.read_text() + "// hot patch\n")
    document = installed.plan()
    since = document["meta"]["history"]["since"]["app"]["local-patch:modified:server/index.js"]
    assert since["run"] == document["meta"]["history"]["run"]
    action = installed.action(document, "restore-source", "server/index.js")
    code, out, err = installed.apply_ids(document, action["id"])
    assert code == 0, out + err
    again = installed.plan()
    assert "local-patch:modified:server/index.js" not in again["meta"]["history"]["since"]["app"]
    timeline = _history(installed, "app", "server/index.js")
    # Installed by the fixture's apply (an import), hot-patched from outside, restored by this plan's action.
    assert [r["by"] for r in timeline][1:] == [None, f"{document['plan_hash'][:12]}:{action['id']}"]
    assert [r["classes"] for r in timeline] == [["appeared"], ["changed", "changed-outside-trueup"],
                                                ["changed", "oscillating"]]
    assert timeline[0]["by"] and timeline[0]["by"] != timeline[2]["by"]
    code, out, _ = installed.run("history", "--workspace", str(installed.root), "app", "server/index.js")
    assert f"apply of plan {document['plan_hash'][:12]} (action {action['id']})" in out
    assert "outside trueup" in out


def test_unchanged_runs_cost_one_row(installed):
    installed.plan()
    db = installed.root / ".trueup-state/history.db"

    def rows() -> dict[str, int]:
        with sqlite3.connect(db) as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("runs", "states", "units")}

    before = rows()
    for _ in range(3):
        installed.plan()
    after = rows()
    assert after == {**before, "runs": before["runs"] + 3}


def test_a_corrupt_or_foreign_history_is_moved_aside_and_the_plan_goes_on(installed):
    state = installed.root / ".trueup-state"
    installed.plan()
    (state / "history.db").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (state / f"history.db{suffix}").unlink(missing_ok=True)
    code, out, err = installed.run("plan", "--json")
    assert code == 0
    assert err.count("\n") == 1 and "moved aside" in err and "history.db" in err
    assert json.loads(out)["meta"]["history"]["run"] == 1
    aside = [p.name for p in state.iterdir() if p.name.startswith("history.db.bad-")]
    assert len(aside) == 1 and (state / aside[0]).read_bytes().startswith(b"this is not")
    # A foreign SQLite database in its place: moved aside too, never written into.
    (state / "history.db").unlink()
    with sqlite3.connect(state / "history.db") as conn:
        conn.execute("CREATE TABLE fingerprints(id, run_id, fingerprint, member_count, ts)")
    code, out, err = installed.run("plan", "--json")
    assert code == 0 and "not a trueup history database" in err
    assert len([p for p in state.iterdir() if p.name.startswith("history.db.bad-")]) >= 2


def test_two_plans_at_once_never_corrupt_or_lose_a_run(installed):
    start = installed.plan()["meta"]["history"]["run"]
    env = {**os.environ, "TRUEUP_DEBUG": "1"}
    script = ("import sys\nfrom trueup.cli import main\n"
              "for i in range(4):\n    assert main(['plan', '--workspace', sys.argv[1], '--json']) in (0, 2)\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(installed.root)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert not any("history" in e for e in errors), errors
    with sqlite3.connect(installed.root / ".trueup-state/history.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM runs WHERE id>?", (start,)).fetchone()[0] == 12
        assert conn.execute("SELECT count(*) FROM runs WHERE plan_hash IS NULL").fetchone()[0] == 0
        # Nothing changed: the first run's baseline is every state there is.
        assert conn.execute("SELECT count(*) FROM states WHERE run>?", (start,)).fetchone()[0] == 0


def test_log_and_history_refuse_bad_input_in_one_line(installed):
    for db in (installed.root / ".trueup-state").glob("history.db*"):
        db.unlink()
    code, _, err = installed.run("log", "--workspace", str(installed.root))
    assert code == 1 and "no history yet" in err
    installed.plan()
    code, _, err = installed.run("log", "--workspace", str(installed.root), "--since", "yesterday-ish")
    assert code == 1 and "--since" in err and err.count("\n") == 1
    code, _, err = installed.run("log", "--workspace", str(installed.root), "--class", "rewrite")
    assert code == 1 and "no such history class" in err
    code, _, err = installed.run("history", "--workspace", str(installed.root), "app", "no/such/file")
    assert code == 1 and "no history of 'no/such/file'" in err


def test_fleet_counts_oscillating_and_silently_rewritten_units_per_host(installed):
    quiet = installed.write_plan(installed.plan(), "host-a.json")
    index = installed.install / "server/index.js"
    original = index.read_text()
    for text in (original + "// B\n", original):
        _write(index, text)
        installed.plan()
    util = installed.install / "server/util.js"
    st = util.stat()
    _write(util, util.read_text().replace("{}", "[]"))
    os.utime(util, ns=(st.st_atime_ns, st.st_mtime_ns))
    busy = installed.plan()
    busy["meta"]["host"] = "host-b"
    code, out, err = installed.run("fleet", str(quiet), str(installed.write_plan(busy, "host-b.json")), "--json")
    rows = {r["host"]: r for r in json.loads(out)}
    assert (rows["host-b"]["oscillating"], rows["host-b"]["silent_rewrites"]) == (2, 1)  # index.js and the file set
    assert (rows[quiet_host(installed, quiet)]["oscillating"], rows[quiet_host(installed, quiet)]["silent_rewrites"]) == (0, 0)


def quiet_host(installed, path: Path) -> str:
    return json.loads(path.read_text())["meta"]["host"]


def test_retention_settings_are_validated_and_read(project):
    project.source({"v1": V1})
    project.manifest(ref="v1", history={"keep_days": 30, "keep_runs": 0})
    code, _, err = project.run("plan")
    assert code == 1 and "history.keep_runs" in err and err.count("\n") == 1
    project.manifest(ref="v1", history={"keep_days": 30, "keep_runs": 200})
    from trueup.manifest import load_workspace

    assert load_workspace(project.root).history == {"keep_days": 30, "keep_runs": 200}
    assert project.run("plan")[0] == 0


def test_history_that_cannot_be_written_costs_one_line_never_the_plan(installed, monkeypatch):
    monkeypatch.delenv("TRUEUP_DEBUG", raising=False)  # which makes history's errors raise, to find bugs
    state = installed.root / ".trueup-state"
    for db in state.glob("history.db*"):
        db.unlink()
    (state / "history.db").mkdir()  # not even a file: sqlite cannot open it
    code, out, err = installed.run("plan", "--json")
    assert code == 0 and err.count("\n") == 1 and "history: not recorded this run" in err
    assert "history" not in json.loads(out)["meta"]


def test_paranoid_rehashes_everything_and_the_run_says_so(installed):
    installed.plan()
    document = installed.plan("--paranoid")
    with sqlite3.connect(installed.root / ".trueup-state/history.db") as conn:
        modes = [m for (m,) in conn.execute("SELECT mode FROM runs ORDER BY id")]
    assert modes[-2:] == ["stat-cache", "full-hash"] and document["meta"]["history"]["run"] == len(modes)


def test_config_entries_written_by_an_apply_are_attributed_to_it(project):
    project.source({"v1": {**V1, "templates/settings.json": settings()}})
    project.manifest(ref="v1", extra={"config": CONFIG})
    live = Path.home() / "zylos/.claude/settings.json"
    live.parent.mkdir(parents=True)
    live.write_text(json.dumps({"model": "opus"}, indent=2) + "\n")
    project.plan()
    document = project.plan()
    add = next(a for a in document["actions"] if a.get("details", {}).get("config") and a["type"] == "upgrade")
    code, out, err = project.apply_ids(document, add["id"])
    assert code == 0, out + err
    project.plan()
    rows = [r for r in reversed(_log(project)) if r["kind"] == "config"]
    assert rows and {r["by"] for r in rows} == {f"{document['plan_hash'][:12]}:{add['id']}"}
    assert {r["classes"][0] for r in rows} == {"appeared"}
    assert all("changed-outside-trueup" not in r["classes"] for r in rows)
    # The user's own entry, changed by hand afterwards: from outside.
    live.write_text(json.dumps({**json.loads(live.read_text()), "model": "sonnet"}, indent=2) + "\n")
    project.plan()
    latest = _log(project, "--class", "changed-outside-trueup")[0]
    assert latest["kind"] == "config" and latest["unit"].endswith("model") and latest["by"] is None


def test_history_can_be_turned_off(installed):
    db = installed.root / ".trueup-state" / "history.db"
    installed.plan()

    def runs() -> int:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM runs").fetchone()[0]

    before = runs()
    installed.manifest(ref="v1", history={"record": False})
    (installed.install / "server" / "util.js").write_text("edited\n")
    doc = installed.plan()
    assert doc["summary"]["drift"] == 1 and "history" not in doc["meta"]
    assert runs() == before  # no run recorded


def test_trend_counts_drift_items_per_plan_and_the_html_draws_it(installed):
    """meta.history.trend: the drift items of each recent plan, oldest first (a stretch counts in every plan
    it was seen in, not only the one it started in); the HTML report draws it as an inline SVG sparkline."""
    counts = []
    server = installed.install / "server"
    for extra in (["a.txt", "b.txt"], ["a.txt", "b.txt", "c.txt"], ["c.txt"], []):
        for name in ("a.txt", "b.txt", "c.txt"):
            (server / name).unlink(missing_ok=True)
        for name in extra:
            (server / name).write_text(name)
        plan_file = installed.root / "plan.json"
        assert installed.run("plan", "-o", str(plan_file))[0] == 0
        document = json.loads(plan_file.read_text())
        counts.append(document["summary"]["drift"])
    trend = document["meta"]["history"]["trend"][installed.name]
    assert [p["drift"] for p in trend][-4:] == counts == [2, 3, 1, 0]
    assert [p["run"] for p in trend] == sorted(p["run"] for p in trend)
    page = installed.root / "plan.html"
    assert installed.run("show", str(plan_file), "--html", "-o", str(page))[0] == 0
    html = page.read_text()
    earlier = " ".join(str(p["drift"]) for p in trend)
    assert f'aria-label="drift items per plan: {earlier}"' in html and "<polyline" in html


def test_watch_defers_compaction_until_after_its_cycle(installed, monkeypatch):
    """trueup watch's plans leave a due compaction for after the cycle's alerts (a compaction reads every state
    row); any other plan compacts in place. The real compaction runs either way (wrapped to see when)."""
    from trueup import history
    from trueup.state import history as store

    calls: list[str] = []
    real = store.compact
    monkeypatch.setattr(store, "compact", lambda conn, **kw: (calls.append("compact"), real(conn, **kw))[1])
    monkeypatch.setattr(history, "COMPACT_EVERY", 1)
    history.defer_compaction(True)
    try:
        assert installed.run("plan")[0] == 0
        assert calls == [] and history._deferred["due"] is not None
        history.compact_due()
        assert calls == ["compact"] and history._deferred["due"] is None
        history.compact_due()  # nothing due: nothing run
        assert calls == ["compact"]
    finally:
        history.defer_compaction(False)
    assert installed.run("plan")[0] == 0
    assert calls == ["compact", "compact"]  # not deferred: in place
