"""What actions leave behind in the ledger: acceptances cleared once a file is ours again, backups only of content.

An acceptance left behind by an action that replaced the file would silently accept that content again later;
a backup of unchanged content is clutter the operator has to review.
"""

from __future__ import annotations

import os

from tests.conftest import V1, V2


def _apply(project, doc, *actions):
    code, out, err = project.apply_ids(doc, *(a["id"] for a in actions))
    assert code == 0, err


def test_restore_source_clears_an_earlier_acceptance(installed):
    target = installed.install / "server/util.js"
    target.write_text("accepted patch\n")
    doc = installed.plan()
    _apply(installed, doc, installed.action(doc, "accept-local", "server/util.js"))
    target.write_text("another patch\n")
    doc = installed.plan()
    _apply(installed, doc, installed.action(doc, "restore-source", "server/util.js"))
    assert target.read_text() == "module.exports = {};\n"
    assert "server/util.js" not in installed.ledger()["accepted"]
    target.write_text("accepted patch\n")  # the once-accepted content is a local patch again
    assert ("local-patch", "modified", "server/util.js") in installed.kinds()


def test_restore_of_a_mode_change_saves_no_backup(installed):
    os.chmod(installed.install / "bin/run", 0o644)
    doc = installed.plan()
    _apply(installed, doc, installed.action(doc, "restore-source", "bin/run"))
    assert os.stat(installed.install / "bin/run").st_mode & 0o777 == 0o755
    assert installed.ledger()["backups"] == []  # the content never changed: nothing to save
    assert not list(installed.install.rglob("*.trueup-local-*"))
    assert installed.kinds() == set()


def test_upgrade_that_adds_back_a_file_whose_absence_was_accepted_clears_the_acceptance(installed):
    target = installed.install / "server/index.js"
    target.unlink()
    doc = installed.plan()
    _apply(installed, doc, installed.action(doc, "accept-local", "server/index.js"))
    assert installed.kinds() == set()
    installed.manifest(ref="v2")
    doc = installed.plan()
    upgrade = installed.action(doc, "upgrade")
    assert upgrade["details"]["files"]["server/index.js"]["op"] == "add"
    _apply(installed, doc, upgrade)
    assert target.read_text() == V2["server/index.js"]
    assert "server/index.js" not in installed.ledger()["accepted"]
    target.unlink()  # deleting it again is drift again, not the old acceptance
    assert ("file", "missing", "server/index.js") in installed.kinds()


def test_regenerate_clears_an_accepted_edit_of_the_output(installed):
    agents = installed.install / "AGENTS.md"
    agents.write_text("hand edit\n")
    doc = installed.plan()
    assert ("generated", "edited", "AGENTS.md") in installed.kinds(doc)
    accept = installed.action(doc, "accept-local", "AGENTS.md")
    assert accept["recommended"]
    _apply(installed, doc, accept)
    assert installed.kinds() == set()  # an accepted edit of a generated output is no longer drift

    (installed.install / "CLAUDE.md").write_text("Claude is the agent.\nClaude is kind.\n")
    doc = installed.plan()
    _apply(installed, doc, installed.action(doc, "regenerate", "AGENTS.md"),
           installed.action(doc, "accept-local", "CLAUDE.md"))
    assert agents.read_text() == "Agent is the agent.\nAgent is kind.\n"
    assert "AGENTS.md" not in installed.ledger()["accepted"]
    agents.write_text("hand edit\n")  # the once-accepted edit is an edit again
    assert ("generated", "edited", "AGENTS.md") in installed.kinds()


def test_an_operator_file_where_the_source_adds_one_is_kept_and_the_new_version_written_beside(installed):
    mine = installed.install / "server/new.js"
    mine.write_text("operator's own\n")
    installed.manifest(ref="v2")
    doc = installed.plan()
    upgrade = installed.action(doc, "upgrade")
    assert upgrade["details"]["files"]["server/new.js"]["op"] == "keep-beside"
    _apply(installed, doc, upgrade)
    assert mine.read_text() == "operator's own\n"
    assert (installed.install / "server/new.js.trueup-new").read_text() == V2["server/new.js"]
    ledger = installed.ledger()
    [record] = [b for b in ledger["backups"] if b["path"] == "server/new.js.trueup-new"]
    assert (record["original"], record["reason"], record["acknowledged"]) == (
        "server/new.js", "source-added-over-local", False)
    assert ledger["accepted"]["server/new.js"]["fact"]["type"] == "file"
    assert installed.kinds() == {("backup", "unacknowledged", "server/new.js.trueup-new")}


def test_a_generated_output_the_source_also_ships_is_not_a_local_patch(project):
    # The install writes the shipped AGENTS.md, then the generator overwrites it: that is not an edit.
    project.source({"v1": {**V1, "AGENTS.md": "shipped by the source\n"}})
    project.manifest(ref="v1")
    doc = project.plan()
    _apply(project, doc, project.action(doc, "upgrade"))
    assert (project.install / "AGENTS.md").read_text() == "Agent is the agent.\n"
    assert project.kinds() == set()


def test_a_failed_action_still_records_what_earlier_ones_wrote(project):
    # The install writes every file, then the generator fails: the ledger must still record the files, or the
    # next plan would see an unmanaged directory and the written files would belong to nobody.
    project.source({"v1": V1})
    project.manifest(ref="v1", install={"generated": [{"path": "AGENTS.md", "template": "CLAUDE.md",
                                                       "command": "echo broken >&2; exit 3"}]})
    doc = project.plan()
    code, out, err = project.apply_ids(doc, project.action(doc, "upgrade")["id"])
    assert code == 1 and "generator for AGENTS.md failed (exit 3): broken" in err, err
    ledger = project.ledger()
    assert set(ledger["files"]) == set(V1)
    assert (project.install / "server/index.js").read_text() == V1["server/index.js"]
    doc = project.plan()
    assert doc["components"][0]["status"] == "drifted"
    assert project.kinds(doc) == {("generated", "missing", "AGENTS.md")}
