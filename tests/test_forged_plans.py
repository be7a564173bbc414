"""A plan whose hash was recomputed after editing targets: apply still refuses what trueup would never propose,
and refuses before any action runs.
"""

from __future__ import annotations

from tests.conftest import V1
from tests.helpers import snapshot
from trueup.planner.document import plan_hash


def _forge(project, doc, action, targets):
    action["targets"] = targets
    doc["plan_hash"] = plan_hash(doc)  # anyone can recompute the hash


def test_cleanup_backups_refuses_a_file_that_is_not_a_backup(installed):
    (installed.install / "x.bak").write_text("debris\n")
    (installed.install / "notes.txt").write_text("operator notes\n")
    doc = installed.plan()
    cleanup = installed.action(doc, "cleanup-backups", "x.bak")
    _forge(installed, doc, cleanup, ["notes.txt"])
    code, out, err = installed.apply_ids(doc, cleanup["id"])
    assert code == 3 and "is not a backup file" in err, err
    assert (installed.install / "notes.txt").read_text() == "operator notes\n"


def test_cleanup_backups_refuses_a_tracked_file_that_looks_like_a_backup(project):
    # A source may ship a file whose name matches a backup pattern: it is installed content, never debris.
    project.source({"v1": {**V1, "share/defaults.conf.orig": "shipped\n"}})
    project.manifest(ref="v1")
    doc = project.plan()
    assert project.apply_ids(doc, project.action(doc, "upgrade")["id"])[0] == 0
    assert project.kinds() == set()
    (project.install / "x.bak").write_text("debris\n")
    doc = project.plan()
    cleanup = project.action(doc, "cleanup-backups", "x.bak")
    _forge(project, doc, cleanup, ["share/defaults.conf.orig"])
    code, out, err = project.apply_ids(doc, cleanup["id"])
    assert code == 3 and "is not a backup file" in err, err
    assert (project.install / "share/defaults.conf.orig").read_text() == "shipped\n"


def test_an_unsafe_target_is_refused_before_any_other_action_runs(installed, tmp_path):
    # accept-local runs before restore-source; the forged restore must stop the whole apply up front.
    (installed.install / "notes.txt").write_text("mine\n")
    (installed.install / "server/util.js").write_text("patched\n")
    doc = installed.plan()
    accept = installed.action(doc, "accept-local", "notes.txt")
    restore = installed.action(doc, "restore-source", "server/util.js")
    _forge(installed, doc, restore, ["../../outside.txt"])
    ledger_before = (installed.install / ".trueup" / "install.json").read_bytes()
    before = snapshot(installed.install)
    code, out, err = installed.apply_ids(doc, accept["id"], restore["id"])
    assert code == 3 and "unsafe target path" in err, err
    assert (installed.install / ".trueup" / "install.json").read_bytes() == ledger_before
    assert snapshot(installed.install) == before


def test_apply_runs_actions_in_apply_order_not_file_order(installed):
    # A directory stands where a tracked file was: accept-local of a file inside it (a record) must run before
    # restore-source moves the directory away, even when a reordered plan file lists the restore first.
    target = installed.install / "server/util.js"
    target.unlink()
    target.mkdir()
    (target / "inner.txt").write_text("operator notes\n")
    doc = installed.plan()
    accept_inner = installed.action(doc, "accept-local", "server/util.js/inner.txt")
    restore = installed.action(doc, "restore-source", "server/util.js")
    doc["actions"] = [restore, accept_inner] + [a for a in doc["actions"] if a not in (restore, accept_inner)]
    doc["plan_hash"] = plan_hash(doc)
    code, out, err = installed.apply_ids(doc, restore["id"], accept_inner["id"])
    assert code == 0, err
    assert target.read_text() == "module.exports = {};\n"
    [saved] = [b for b in installed.ledger()["backups"] if b["original"] == "server/util.js"]
    assert (installed.install / saved["path"] / "inner.txt").read_text() == "operator notes\n"
