"""apply refuses what it must: altered plans, stale plans, unsafe paths, a held lock, conflicting approvals."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys

from tests.helpers import snapshot
from trueup.planner.document import plan_hash


def _patched_plan(installed):
    (installed.install / "server/util.js").write_text("patched\n")
    doc = installed.plan()
    return doc, installed.action(doc, "restore-source", "server/util.js")


def test_altered_plan_refused(installed):
    doc, restore = _patched_plan(installed)
    restore["targets"] = ["server/index.js"]
    before = snapshot(installed.install)
    code, out, err = installed.apply_ids(doc, restore["id"])
    assert code == 3 and "plan was altered" in err
    assert snapshot(installed.install) == before


def test_flipping_approvals_keeps_the_plan_valid(installed):
    doc, restore = _patched_plan(installed)
    restore["approved"] = True
    assert plan_hash(doc) == doc["plan_hash"]
    code, out, err = installed.run("apply", str(installed.write_plan(doc)))
    assert code == 0, err
    assert (installed.install / "server/util.js").read_text() == "module.exports = {};\n"


def test_stale_plan_refused_and_nothing_changed(installed):
    doc, restore = _patched_plan(installed)
    (installed.install / "server/util.js").write_text("patched differently\n")
    before = snapshot(installed.install)
    code, out, err = installed.apply_ids(doc, restore["id"])
    assert code == 3
    assert "plan is stale: file server/util.js of app changed since the plan was made; run trueup plan again" in err
    assert snapshot(installed.install) == before


def test_stale_when_source_ref_moves(installed):
    (installed.install / "server/util.js").write_text("patched\n")
    installed.manifest(ref="main")
    doc = installed.plan()
    subprocess.run(["git", "-C", str(installed.repo), "commit", "-q", "--allow-empty", "-m", "more"], check=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})
    code, out, err = installed.apply_ids(doc, installed.action(doc, "accept-local")["id"])
    assert code == 3 and "the commit the source ref resolves to" in err


def test_unsafe_target_paths_refused_even_with_recomputed_hash(installed, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("do not touch\n")
    (installed.install / "notes.txt").write_text("mine\n")
    for bad in ("../../outside.txt", str(outside), "sub/../../x"):
        doc = installed.plan()
        action = installed.action(doc, "accept-local", "notes.txt")
        action["targets"] = [bad]
        doc["plan_hash"] = plan_hash(doc)  # an attacker can recompute the hash; path checks still hold
        code, out, err = installed.apply_ids(doc, action["id"])
        assert code == 3 and "unsafe target path" in err, (bad, err)
    assert outside.read_text() == "do not touch\n"


def test_symlinked_parent_pointing_outside_refused(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "util.js").write_text("outside\n")
    os.rename(installed.install / "server", installed.install / "server.real")
    os.symlink(elsewhere, installed.install / "server")
    doc = installed.plan()
    kinds = installed.kinds(doc)
    assert ("file", "missing", "server/util.js") in kinds and ("file", "untracked", "server") in kinds
    restore = installed.action(doc, "restore-source", "server/util.js")
    code, out, err = installed.apply_ids(doc, restore["id"])
    assert code == 3 and "is a symlink" in err
    assert (elsewhere / "util.js").read_text() == "outside\n"


def test_lock_held_is_refused_and_dead_lock_taken_over(installed):
    doc, restore = _patched_plan(installed)
    state = installed.root / ".trueup-state"
    state.mkdir(exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(state / 'apply.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\n"
        "os.write(fd, b'{\"pid\": %d, \"host\": \"h\"}' % os.getpid())\n"
        "print('locked', flush=True)\n"
        "time.sleep(30)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, out, err = installed.apply_ids(doc, restore["id"])
        assert code == 3 and "holds the lock" in err and f"pid {holder.pid}" in err
        assert (installed.install / "server/util.js").read_text() == "patched\n"
    finally:
        holder.kill()
        holder.wait()
    # The holder died with its pid still in the file: the next apply takes the lock over and says so.
    code, out, err = installed.apply_ids(doc, restore["id"])
    assert code == 0, err
    assert f"took over the lock left by dead process {holder.pid}" in err


def test_two_actions_of_one_group_refused(installed):
    doc, restore = _patched_plan(installed)
    accept = installed.action(doc, "accept-local", "server/util.js")
    path = installed.write_plan(doc)
    code, out, err = installed.run("approve", str(path), restore["id"], accept["id"])
    assert code == 1 and "alternatives for the same drift" in err
    assert json.loads(path.read_text()) == doc  # nothing was written


def test_apply_with_nothing_approved_says_so(installed):
    doc, _ = _patched_plan(installed)
    code, out, err = installed.run("apply", str(installed.write_plan(doc)))
    assert code == 0 and "nothing was changed" in out


def test_apply_twice_changes_nothing_the_second_time(installed):
    doc, restore = _patched_plan(installed)
    path = installed.write_plan(doc)
    assert installed.run("approve", str(path), "--all")[0] == 0
    assert installed.run("apply", str(path))[0] == 0
    before = (snapshot(installed.install), installed.ledger())
    code, out, err = installed.run("apply", str(path))
    assert code == 0 and "already applied" in out
    assert (snapshot(installed.install), installed.ledger()) == before


def test_unreadable_plan_is_one_clear_line(installed, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, out, err = installed.run("apply", str(bad))
    assert code == 1 and err.count("\n") == 1 and "bad.json:1: not valid JSON" in err and "Traceback" not in err
    code, out, err = installed.run("show", str(tmp_path / "missing.json"))
    assert code == 1 and "no such plan file" in err


def test_approve_by_type_and_all(installed):
    (installed.install / "a.bak").write_text("x\n")
    (installed.install / "server/util.js").write_text("patched\n")
    doc = installed.plan()
    path = installed.write_plan(doc)
    assert installed.run("approve", str(path), "--type", "accept-local")[0] == 0
    approved = {(a["type"], tuple(a["targets"])) for a in json.loads(path.read_text())["actions"] if a["approved"]}
    assert approved == {("accept-local", ("a.bak",)), ("accept-local", ("server/util.js",))}


def test_approve_all_keeps_a_chosen_alternative(installed):
    doc, restore = _patched_plan(installed)
    path = installed.write_plan(doc)
    assert installed.run("approve", str(path), restore["id"])[0] == 0
    assert installed.run("approve", str(path), "--all")[0] == 0
    approved = [a["id"] for a in json.loads(path.read_text())["actions"] if a["approved"]]
    assert approved == [restore["id"]]
    code, out, err = installed.run("apply", str(path), "--approve-all")
    assert code == 0, err
    assert (installed.install / "server/util.js").read_text() == "module.exports = {};\n"
