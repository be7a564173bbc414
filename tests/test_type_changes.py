"""A tracked file replaced by a symlink or a directory: recommended accept-local, restore-source moves it away whole."""

from __future__ import annotations

import os

import pytest


def test_directory_over_a_tracked_file_is_moved_away_whole_by_restore(installed):
    target = installed.install / "server/util.js"
    target.unlink()
    target.mkdir()
    (target / "mine.txt").write_text("operator notes\n")
    doc = installed.plan()
    assert ("file", "type-changed", "server/util.js") in installed.kinds(doc)
    accept = installed.action(doc, "accept-local", "server/util.js")
    restore = installed.action(doc, "restore-source", "server/util.js")
    assert accept["recommended"] and not restore["recommended"] and accept["group"] == restore["group"]

    code, _, err = installed.apply_ids(doc, restore["id"])
    assert code == 0, err
    assert target.read_text() == "module.exports = {};\n"
    [saved] = [b for b in installed.ledger()["backups"] if b["original"] == "server/util.js"]
    assert (installed.install / saved["path"] / "mine.txt").read_text() == "operator notes\n"


def test_symlink_over_a_tracked_file_is_accepted_as_a_link(installed):
    target = installed.install / "server/util.js"
    target.unlink()
    os.symlink("../../outside.js", target)  # points out of the install: trueup must never follow it
    doc = installed.plan()
    code, _, err = installed.apply_ids(doc, installed.action(doc, "accept-local", "server/util.js")["id"])
    assert code == 0, err
    assert os.readlink(target) == "../../outside.js" and not (installed.root / "installed/outside.js").exists()
    assert installed.ledger()["accepted"]["server/util.js"]["fact"]["type"] == "symlink"
    assert installed.kinds() == set()


def test_approve_all_converges_when_a_template_became_a_symlink(installed):
    template = installed.install / "CLAUDE.md"
    template.unlink()
    os.symlink("package.json", template)
    plan_file = installed.root / "plan.json"
    assert installed.run("plan", "-o", str(plan_file))[0] == 0
    code, _, err = installed.run("apply", str(plan_file), "--approve-all")
    assert code == 0, err
    assert installed.kinds() == set()


@pytest.mark.parametrize("replace_template", ["directory", "delete"])
def test_approve_all_converges_when_template_and_output_are_both_gone(installed, replace_template):
    """A template replaced by a directory is accepted (nothing can regenerate from it); a deleted one is
    restored before its output is regenerated: either way one approve --all + apply ends with no drift."""
    template = installed.install / "CLAUDE.md"
    template.unlink()
    if replace_template == "directory":
        (template / "notes").mkdir(parents=True)
    (installed.install / "AGENTS.md").unlink()
    plan_file = installed.root / "plan.json"
    assert installed.run("plan", "-o", str(plan_file))[0] == 0
    code, _, err = installed.run("apply", str(plan_file), "--approve-all")
    assert code == 0, err
    assert installed.kinds() == set()
    assert (installed.install / "AGENTS.md").exists() == (replace_template == "delete")
