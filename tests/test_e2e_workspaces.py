"""One plan, one workspace: lineage, portable plans, plans through stdin and stdout."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import Project, snapshot
from trueup.cli import main
from trueup.planner.document import plan_hash
from trueup.state import lineage as lineages

STATE = ".trueup-state"


def _checkout(project: Project, root: Path) -> Project:
    """Another checkout of the same workspace: every file copied, the state dir not."""
    shutil.copytree(project.root, root, symlinks=True, ignore=shutil.ignore_patterns(STATE))
    return Project(root)


def _lineage(project: Project) -> str | None:
    return lineages.read(project.root / STATE, project.root.resolve())


def _drift(project: Project) -> None:
    (project.install / "server/util.js").write_text("patched\n")
    (project.install / "x.bak").write_text("debris\n")


def test_plan_applied_in_another_workspace_with_identical_files_is_refused(installed, tmp_path_factory):
    _drift(installed)
    other = _checkout(installed, tmp_path_factory.mktemp("checkout") / "other")
    doc = installed.plan()
    restore = installed.action(doc, "restore-source", "server/util.js")
    path = installed.write_plan(doc)
    before = snapshot(other.install)
    code, out, err = other.run("apply", str(path), "--approve", restore["id"])
    assert code == 3, err
    # The other checkout's first apply made its lineage; the refusal names both.
    assert doc["lineage"] == _lineage(installed) and _lineage(other) not in (None, doc["lineage"])
    assert "plan was made for another workspace" in err
    assert doc["lineage"] in err and _lineage(other) in err
    assert snapshot(other.install) == before
    # In its own workspace the same plan applies.
    code, out, err = installed.run("apply", str(path), "--approve", restore["id"])
    assert code == 0, err
    assert (installed.install / "server/util.js").read_text() == "module.exports = {};\n"


def test_lineage_is_checked_even_though_outside_the_hash(installed):
    _drift(installed)
    doc = installed.plan()
    restore = installed.action(doc, "restore-source", "server/util.js")
    edited = {**doc, "lineage": "00000000-0000-4000-8000-000000000000"}
    assert plan_hash(edited) == doc["plan_hash"]
    code, out, err = installed.apply_ids(edited, restore["id"])
    assert code == 3 and "00000000-0000-4000-8000-000000000000" in err and _lineage(installed) in err
    removed = {k: v for k, v in doc.items() if k != "lineage"}
    code, out, err = installed.apply_ids(removed, restore["id"])
    assert code == 1 and "'lineage' is a required property" in err and err.count("\n") == 1
    assert (installed.install / "server/util.js").read_text() == "patched\n"


def test_the_same_state_planned_in_two_checkouts_is_one_plan(installed, tmp_path_factory):
    _drift(installed)
    other = _checkout(installed, tmp_path_factory.mktemp("checkout") / "elsewhere" / "other")
    first, second = installed.plan(), other.plan()
    assert first["actions"] and first["plan_hash"] == second["plan_hash"]
    assert first["lineage"] != second["lineage"]
    assert first["workspace"] == "." and first["components"][0]["facts"]["install_path"] == "installed/app"
    for document in (first, second):
        del document["meta"], document["lineage"]
    assert first == second
    assert str(installed.root) not in json.dumps(first)


def test_workspaces_sharing_the_default_state_dir_keep_their_own_lineage(installed, tmp_path_factory):
    manifest = installed.root / "trueup.yaml"
    manifest.write_text("".join(line for line in manifest.read_text().splitlines(True)
                                if not line.startswith("state_dir:")))  # both use $XDG_STATE_HOME/trueup
    _drift(installed)
    other = _checkout(installed, tmp_path_factory.mktemp("checkout") / "other")
    doc, other_doc = installed.plan(), other.plan()
    assert doc["plan_hash"] == other_doc["plan_hash"] and doc["lineage"] != other_doc["lineage"]
    restore = installed.action(doc, "restore-source", "server/util.js")
    code, out, err = other.apply_ids(doc, restore["id"])
    assert code == 3 and "plan was made for another workspace" in err
    assert installed.apply_ids(doc, restore["id"])[0] == 0
    # The same plan_hash applied in the other workspace is not "already applied" there.
    code, out, err = other.apply_ids(other_doc, restore["id"])
    assert code == 0 and "already applied" not in out, out + err
    assert (other.install / "server/util.js").read_text() == "module.exports = {};\n"


def test_a_damaged_lineage_record_is_one_clear_line(installed):
    record = lineages.path_for(installed.root / STATE, installed.root.resolve())
    assert record.is_file()  # made by the install's plan
    record.write_text("{}")
    code, out, err = installed.run("plan")
    assert code == 1 and err.count("\n") == 1 and f"{record}: not a trueup lineage record" in err


def test_show_of_a_plan_made_elsewhere(installed, tmp_path_factory, monkeypatch, capsys):
    _drift(installed)
    other = _checkout(installed, tmp_path_factory.mktemp("checkout") / "other")
    review = tmp_path_factory.mktemp("review")
    path = review / "elsewhere.json"
    path.write_text(json.dumps(other.plan()))
    shutil.rmtree(other.root)  # the plan's own workspace is not here (made on another machine)
    # Where there is no workspace, show renders the plan and says it checked nothing, naming no path.
    monkeypatch.chdir(review)
    assert main(["show", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "restore-source" in out
    assert "not found" not in err and str(other.root) not in err and "not checked for staleness" in err
    # In another workspace, show warns that the plan belongs to another one.
    code, out, err = installed.run("show", str(path))
    assert code == 0 and "warning: " in err and "plan was made for another workspace" in err


def test_plan_to_stdout_and_show_and_apply_from_stdin(installed, monkeypatch):
    _drift(installed)
    code, out, err = installed.run("plan", "-o", "-")
    assert code == 0, err
    doc = json.loads(out)  # the document is all that went to stdout
    assert doc["plan_hash"] == installed.plan()["plan_hash"]
    restore = installed.action(doc, "restore-source", "server/util.js")

    monkeypatch.setattr(sys, "stdin", io.StringIO(out))
    code, shown, err = installed.run("show", "-")
    assert code == 0 and not err and restore["id"] in shown
    assert "trueup approve PLAN --all" in shown and "trueup approve -" not in shown

    monkeypatch.setattr(sys, "stdin", io.StringIO(out))
    code, _, err = installed.run("approve", "-", restore["id"])
    assert code == 1 and "standard input" in err and "trueup apply - --approve ID" in err and err.count("\n") == 1

    monkeypatch.setattr(sys, "stdin", io.StringIO(out))
    code, applied, err = installed.run("apply", "-", "--approve", restore["id"])
    assert code == 0, err
    assert (installed.install / "server/util.js").read_text() == "module.exports = {};\n"

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, _, err = installed.run("apply", "-")
    assert code == 1 and "<stdin>: no plan was given" in err


def test_plan_piped_into_apply_through_the_console_script(installed, tmp_path_factory):
    (installed.install / "x.bak").write_text("debris\n")
    trueup = [sys.executable, "-m", "trueup"]
    elsewhere = tmp_path_factory.mktemp("cwd")  # no file named '-' may stand in for the pipe
    made = subprocess.run([*trueup, "plan", "-o", "-", "--workspace", str(installed.root)], capture_output=True,
                          cwd=elsewhere)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["actions"]
    applied = subprocess.run([*trueup, "apply", "-", "--approve-all", "--workspace", str(installed.root)],
                             input=made.stdout, capture_output=True, cwd=elsewhere)
    assert applied.returncode == 0, applied.stderr
    assert installed.kinds() == set()


def test_plan_into_a_missing_directory_fails_without_making_it(installed):
    code, out, err = installed.run("plan", "-o", str(installed.root / "missing" / "dir" / "p.json"))
    assert code == 1 and err.count("\n") == 1 and "is not a directory" in err
    assert not (installed.root / "missing").exists()


def test_recorded_paths_are_relative_only_inside_the_workspace_and_only_where_they_name_paths():
    from trueup.model import keys
    from trueup.model.paths import relative_to_root
    from trueup.planner.document import recorded

    assert relative_to_root({"cwd": "/ws/app", "argv": ["node", "/ws/app/i.js"], "n": 3}, "/ws") == \
        {"cwd": "app", "argv": ["node", "app/i.js"], "n": 3}
    assert relative_to_root(["/ws", "/wsx/a", "/other/ws/a", "ws/a"], "/ws") == [".", "/wsx/a", "/other/ws/a", "ws/a"]
    # What the running service runs from is recorded portably; file facts and digests are content, kept as they are.
    assert recorded(keys.runtime_key("cwd"), "/ws/installed/app", "/ws") == "installed/app"
    assert recorded(keys.file_key("a"), {"target": "/ws/x"}, "/ws") == {"target": "/ws/x"}
