"""A plan whose hash was recomputed after editing it: apply still refuses what trueup would never propose,
and refuses before any action runs. Last, the nothing-lost property with forged plans as its input.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import V1, V2
from tests.helpers import Project, installed_project, snapshot
from tests.test_validate_before_write import everything
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
    assert code == 3 and "targets is not what trueup proposes" in err, err
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


# --- the nothing-lost property, with forged plans as its input ------------------------------------------------
# For any edit of an honest plan's JSON with plan_hash recomputed (targets, types, target kinds, ops and entries
# of details.files, details, preconditions, gates; actions added or removed), apply either does exactly what the
# honest plan does with the same approvals, or refuses with nothing changed (every file, the ledger, the state dir).

FORGED_PATHS = ["notes.txt", "x.bak", "junk/", "junk/a.txt", "server/util.js", "server/index.js", "CLAUDE.md",
                "AGENTS.md", "package.json", "docs/old.md", "server/new.js", ".trueup/install.json", "../escape.txt",
                "/etc/passwd", "data/keep.db", ".env", "server/", ""]
OPS = ["add", "replace", "merge", "keep-beside", "remove", "keep", "forget", "rename-merge", "renamed", "bogus"]
TYPES = ["accept-local", "restore-source", "restart", "regenerate", "cleanup-backups", "import", "upgrade"]
KINDS = ["file", "config-entry", "service"]
DRIFTS = ["backup/unacknowledged", "file/untracked", "local-patch/modified", "local-patch/orphaned-patch",
          "file/leftover", "generated/stale"]


def _lineage_of(project: Project) -> str:
    from trueup.state import lineage

    return lineage.ensure(project.root / ".trueup-state", project.root)


@pytest.fixture(scope="module")
def forged_template(tmp_path_factory):
    """An install at v1 with drift of every file kind, the manifest at v2, and its honest plan."""
    root = tmp_path_factory.mktemp("forged-template")
    project = installed_project(root)
    (project.install / "notes.txt").write_text("operator notes\n")
    (project.install / "x.bak").write_text("debris\n")
    (project.install / "junk").mkdir()
    (project.install / "junk" / "a.txt").write_text("junk\n")
    (project.install / "server/util.js").write_text("patched\n")
    (project.install / "data").mkdir()
    (project.install / "data" / "keep.db").write_text("service data\n")
    project.manifest(ref="v2")
    doc = project.plan()
    (root / "install-plan.json").unlink()
    return root, doc


def _copy(template: Path) -> Project:
    root = Path(tempfile.mkdtemp(prefix="trueup-forged-"))
    shutil.rmtree(root)
    shutil.copytree(template, root, symlinks=True)
    return Project(root)


def _selections(doc: dict) -> list[list[str]]:
    """Two honest approvals: every recommended action; every alternative where there is one (restore, delete)."""
    recommended = [a["id"] for a in doc["actions"] if a["recommended"]]
    by_group: dict[str, list[dict]] = {}
    for a in doc["actions"]:
        by_group.setdefault(a["group"], []).append(a)
    alternatives = [next((a for a in group if not a["recommended"]), group[0])["id"] for group in by_group.values()]
    return [recommended, alternatives]


def _state(project: Project) -> dict[str, object]:
    """The install as apply left it: every path's type, mode and bytes; the ledger without its timestamps."""
    out: dict[str, object] = {}
    root = str(project.root)
    for dirpath, dirnames, filenames in os.walk(project.install):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(project.install))
            if rel == ".trueup/install.json":
                text = re.sub(r'"[a-z_]+_at": "[^"]*"', '"_at": ""', path.read_text().replace(root, "ROOT"))
                out[rel] = json.loads(text)
            elif path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_file():
                out[rel] = (oct(path.lstat().st_mode), path.read_bytes())
            else:
                out[rel] = ("dir", oct(path.lstat().st_mode))
    return out


@pytest.fixture(scope="module")
def honest_results(forged_template):
    template, doc = forged_template
    results = []
    for ids in _selections(doc):
        project = _copy(template)
        try:
            honest = json.loads(json.dumps(doc))
            honest["lineage"] = _lineage_of(project)
            code, out, err = project.run("apply", str(project.write_plan(honest)), *[f"--approve={i}" for i in ids])
            assert code == 0, err
            results.append(_state(project))
        finally:
            shutil.rmtree(project.root)
    return results


def _edit(doc: dict, data, chosen: list[str]) -> str:
    """One random edit of ``doc`` (an action the apply will run, mostly); what it did, for the failure message."""
    actions = doc["actions"]
    selected = [a for a in actions if a["id"] in chosen]
    action = data.draw(st.sampled_from(selected) if selected and data.draw(st.booleans()) else st.sampled_from(actions))
    kind = data.draw(st.sampled_from(["targets+", "targets-", "targets=", "type", "target_kind", "op", "files-",
                                      "files+", "sha", "drift", "resolution", "preconditions-", "gated", "add-action",
                                      "remove-action", "regenerate", "from", "reason"]))
    details = action.setdefault("details", {})
    files = details.get("files") if isinstance(details.get("files"), dict) else None
    path = data.draw(st.sampled_from(FORGED_PATHS))
    if kind == "targets+":
        action["targets"] = action["targets"] + [path]
    elif kind == "targets-" and action["targets"]:
        action["targets"] = action["targets"][1:]
    elif kind == "targets=" and action["targets"]:
        action["targets"] = [path] + action["targets"][1:]
        if files is not None:
            files[path] = files.pop(next(iter(files)), {"op": "keep"}) if files else {"op": "keep"}
    elif kind == "type":
        action["type"] = data.draw(st.sampled_from(TYPES))
    elif kind == "target_kind":
        action["target_kind"] = data.draw(st.sampled_from(KINDS))
    elif kind == "op" and files:
        files[data.draw(st.sampled_from(sorted(files)))]["op"] = data.draw(st.sampled_from(OPS))
    elif kind == "files-" and files:
        del files[data.draw(st.sampled_from(sorted(files)))]
    elif kind == "files+" and files is not None:
        files[path] = {"op": data.draw(st.sampled_from(OPS))}
        if data.draw(st.booleans()):
            files[path].update(type="file", mode="0644", sha256="0" * 64)
            action["preconditions"][f"file:{path}"] = None
    elif kind == "sha" and files:
        entry = files[data.draw(st.sampled_from(sorted(files)))]
        entry["sha256"] = data.draw(st.sampled_from(["0" * 64, "f" * 64]))
    elif kind == "drift":
        details["drift"] = data.draw(st.sampled_from(DRIFTS))
    elif kind == "resolution":
        details["resolution"] = data.draw(st.sampled_from(["keep-local", "take-new", "resolved-by-hand"]))
        details["beside"] = path
    elif kind == "preconditions-" and action["preconditions"]:
        del action["preconditions"][data.draw(st.sampled_from(sorted(action["preconditions"])))]
    elif kind == "gated":
        action["gated"] = []
    elif kind == "add-action":
        twin = json.loads(json.dumps(action))
        twin["id"] = "f0f0f0f0f0f0"
        twin["group"] = twin["group"] + "/forged"
        twin["approved"] = True
        if data.draw(st.booleans()):
            twin["targets"] = [path]
        actions.append(twin)
    elif kind == "remove-action":
        actions.remove(action)
    elif kind == "regenerate":
        details["regenerate"] = [path]
    elif kind == "from" and files:
        files[data.draw(st.sampled_from(sorted(files)))]["from"] = path
    elif kind == "reason":
        action["reason"] = "a harmless edit of the prose"
    return f"{kind} on {action['type']} {action['id']} ({path!r})"


FORGED_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@FORGED_SETTINGS
@given(data=st.data())
def test_a_forged_plan_does_what_the_honest_one_does_or_changes_nothing(forged_template, honest_results, data):
    template, honest = forged_template
    selection = data.draw(st.sampled_from([0, 1]))
    ids = _selections(honest)[selection]
    doc = json.loads(json.dumps(honest))
    edits = [_edit(doc, data, ids) for _ in range(data.draw(st.integers(1, 3)))]
    project = _copy(template)
    try:
        doc["lineage"] = _lineage_of(project)  # outside the hash: a forger sets it too
        doc["plan_hash"] = plan_hash(doc)
        plan = project.write_plan(doc)
        before = everything(project.root)
        if data.draw(st.booleans()):  # show checks the same way, and warns instead of refusing: never a crash
            code, out, err = project.run("show", str(plan))
            assert code == 0 and "internal error" not in err, (edits, err)
        code, out, err = project.run("apply", str(plan), *[f"--approve={i}" for i in ids])
        assert "internal error" not in err, (edits, err)
        if code == 0:
            assert _state(project) == honest_results[selection], (edits, out)
        else:
            after = everything(project.root)
            changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
            assert not changed, (edits, code, err, changed)
    finally:
        shutil.rmtree(project.root)
