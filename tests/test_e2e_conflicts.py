"""Conflicts converge: an upgrade whose three-way merge conflicted leaves <path>.trueup-new; the next plan shows one
drift item for it, and each of its three resolutions (keep-local, take-new, resolved-by-hand) ends at exit 0 of
plan --detailed-exitcode without losing a byte. Real git sources, real install trees, the CLI in-process."""

from __future__ import annotations

import hashlib

import pytest

from tests.conftest import V1, V2

LOCAL = "const a = 1;\nconst b = 2;\nconst c = 4;\nconsole.log(a + b + c);\n"  # the operator's hot patch of v1
NEW = V2["server/index.js"]  # v2 changes the same line: c = 30
V3 = {**V2, "server/index.js": NEW.replace("const a = 1;", "const a = 10;"),
      "package.json": '{"name": "app", "version": "3.0.0"}\n'}


def sha(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


@pytest.fixture
def conflicted(project):
    """v1 installed, server/index.js hot-patched and accepted, then upgraded to v2: the merge conflicts."""
    project.source({"v1": V1, "v2": V2, "v3": V3})
    project.manifest(ref="v1")
    install_plan = project.root / "install.json"
    assert project.run("plan", "-o", str(install_plan))[0] == 0
    assert project.run("apply", str(install_plan), "--approve-all")[0] == 0
    (project.install / "server/index.js").write_text(LOCAL)
    project.manifest(ref="v2")
    upgrade_plan = project.root / "upgrade.json"
    assert project.run("plan", "-o", str(upgrade_plan))[0] == 0
    code, out, err = project.run("apply", str(upgrade_plan), "--approve-all")  # accept-local + upgrade
    assert code == 0, err
    assert "Merge conflict in server/index.js of app" in out and "keep-local (recommended)" in out
    assert (project.install / "server/index.js.trueup-new").read_text() == NEW
    return project


def conflict_actions(project, document=None) -> dict[str, dict]:
    document = document or project.plan()
    return {a["details"]["resolution"]: a for a in document["actions"] if a["details"].get("resolution")}


def resolve(project, resolution: str) -> tuple[int, str, str]:
    document = project.plan()
    return project.apply_ids(document, conflict_actions(project, document)[resolution]["id"])


def settled(project) -> int:
    code, out, err = project.run("plan", "--detailed-exitcode")
    return code


def test_one_drift_item_with_three_resolutions_keep_local_recommended(conflicted):
    document = conflicted.plan()
    [component] = document["components"]
    assert [(d["class"], d["kind"], d["path"]) for d in component["drift"]] == [
        ("local-patch", "merge-conflict", "server/index.js")]
    [item] = component["drift"]
    assert item["expected"]["beside"] == "server/index.js.trueup-new" and item["expected"]["sha256"] == sha(NEW)
    assert item["actual"]["sha256"] == sha(LOCAL) and item["actual"]["edited"] is False
    actions = conflict_actions(conflicted, document)
    assert {r: (a["type"], a["recommended"]) for r, a in actions.items()} == {
        "keep-local": ("accept-local", True), "take-new": ("restore-source", False),
        "resolved-by-hand": ("accept-local", False)}
    assert len({a["id"] for a in actions.values()}) == 3 and len({a["group"] for a in actions.values()}) == 1
    assert len(document["actions"]) == 3
    assert all(a["targets"] == ["server/index.js", "server/index.js.trueup-new"] for a in actions.values())
    code, out, _ = conflicted.run("show", str(conflicted.write_plan(document)))
    assert "keep-local: server/index.js, server/index.js.trueup-new" in out
    assert "could not merge the local changes" in out


def test_keep_local_keeps_the_file_and_merges_the_next_upgrade_from_the_new_version(conflicted):
    code, out, err = resolve(conflicted, "keep-local")
    assert code == 0, err
    index = conflicted.install / "server/index.js"
    assert index.read_text() == LOCAL
    assert not (conflicted.install / "server/index.js.trueup-new").exists()
    ledger = conflicted.ledger()
    assert ledger["files"]["server/index.js"]["sha256"] == sha(NEW)  # the upstream version, recorded as seen
    assert ledger["accepted"]["server/index.js"]["fact"]["sha256"] == sha(LOCAL)
    assert not [b for b in ledger["backups"] if b["path"] == "server/index.js.trueup-new"]
    assert settled(conflicted) == 0

    # The next upgrade merges from v2 (not v1): v3 changes another line, so the merge is clean and keeps c = 4.
    conflicted.manifest(ref="v3")
    code, out, err = conflicted.run("apply", str(conflicted.write_plan(conflicted.plan())), "--approve-all")
    assert code == 0, err
    assert index.read_text() == LOCAL.replace("const a = 1;", "const a = 10;")
    assert not (conflicted.install / "server/index.js.trueup-new").exists()
    assert settled(conflicted) == 0


def test_take_new_installs_the_new_version_and_saves_the_local_file(conflicted):
    code, out, err = resolve(conflicted, "take-new")
    assert code == 0, err
    assert (conflicted.install / "server/index.js").read_text() == NEW
    assert not (conflicted.install / "server/index.js.trueup-new").exists()
    ledger = conflicted.ledger()
    assert "server/index.js" not in ledger["accepted"]
    [saved] = [b for b in ledger["backups"] if b["original"] == "server/index.js" and b.get("sha256") == sha(LOCAL)]
    assert (conflicted.install / saved["path"]).read_text() == LOCAL and saved["acknowledged"]
    assert settled(conflicted) == 0


def test_resolved_by_hand_accepts_the_hand_merge(conflicted):
    merged = LOCAL.replace("const c = 4;", "const c = 34; // 30 upstream, 4 ours")
    (conflicted.install / "server/index.js").write_text(merged)
    document = conflicted.plan()
    [item] = document["components"][0]["drift"]  # still one item: the conflict, now edited by hand
    assert (item["kind"], item["actual"]["edited"]) == ("merge-conflict", True)
    code, out, err = resolve(conflicted, "resolved-by-hand")
    assert code == 0, err
    assert (conflicted.install / "server/index.js").read_text() == merged
    assert not (conflicted.install / "server/index.js.trueup-new").exists()
    assert "merged by hand" in conflicted.ledger()["accepted"]["server/index.js"]["note"]
    assert settled(conflicted) == 0


@pytest.mark.parametrize("resolution", ["keep-local", "take-new", "resolved-by-hand"])
def test_an_edited_trueup_new_is_saved_as_a_backup_never_lost(conflicted, resolution):
    beside = conflicted.install / "server/index.js.trueup-new"
    beside.write_text(NEW + "// the operator's note in the new version\n")
    edited = beside.read_text()
    code, out, err = resolve(conflicted, resolution)
    assert code == 0, err
    assert not beside.exists()
    ledger = conflicted.ledger()
    [saved] = [b for b in ledger["backups"] if b["original"] == "server/index.js.trueup-new"]
    assert (conflicted.install / saved["path"]).read_text() == edited and saved["acknowledged"]
    assert settled(conflicted) == 0


def test_all_recommends_keep_local(conflicted):
    plan_file = conflicted.write_plan(conflicted.plan())
    assert conflicted.run("approve", str(plan_file), "--all")[0] == 0
    code, out, err = conflicted.run("apply", str(plan_file))
    assert code == 0, err
    assert "kept local server/index.js" in out
    assert (conflicted.install / "server/index.js").read_text() == LOCAL
    assert settled(conflicted) == 0


def test_a_conflict_gates_the_next_upgrade(conflicted):
    conflicted.manifest(ref="v3")
    document = conflicted.plan()
    upgrade = conflicted.action(document, "upgrade")
    assert upgrade["gated"] == ["app/local-patch/merge-conflict/server/index.js"]
    code, out, err = conflicted.apply_ids(document, upgrade["id"])
    assert code == 3 and "gated by" in err
    assert (conflicted.install / "server/index.js.trueup-new").read_text() == NEW


def test_take_new_of_a_generator_template_regenerates_its_output(project):
    """The conflicted file is CLAUDE.md, the template of AGENTS.md: taking the new version regenerates the output
    in the same apply, so one cycle ends at exit 0."""
    project.source({"v1": V1, "v2": V2})
    project.manifest(ref="v1")
    install_plan = project.root / "install.json"
    assert project.run("plan", "-o", str(install_plan))[0] == 0
    assert project.run("apply", str(install_plan), "--approve-all")[0] == 0
    (project.install / "CLAUDE.md").write_text("Claude is the agent.\nClaude is quick.\n")
    project.manifest(ref="v2")
    code, out, err = project.run("apply", str(project.write_plan(project.plan())), "--approve-all")
    assert code == 0, err
    assert project.kinds() == {("local-patch", "merge-conflict", "CLAUDE.md")}
    code, out, err = resolve(project, "take-new")
    assert code == 0, err
    assert (project.install / "AGENTS.md").read_text() == "Agent is the agent.\nAgent is careful.\n"
    assert settled(project) == 0


def test_the_readme_demo_ends_at_exit_0(tmp_path):
    """README: trueup demo, approve --all, apply; the CLAUDE.md merge conflicts, so plan again, approve --all
    (keep-local), apply; then plan --detailed-exitcode exits 0."""
    from tests.helpers import Project

    root = tmp_path / "demo"
    project = Project(root, name="recruit")
    code, out, err = project.run("demo", "--dir", str(root))
    assert code == 0, err
    assert "approve plan.json --all" in out and "plan -o plan.json" in out
    plan_file = str(root / "plan.json")
    assert project.run("approve", plan_file, "--all")[0] == 0
    code, out, err = project.run("apply", plan_file)
    assert code == 0, err
    assert project.kinds() == {("local-patch", "merge-conflict", "CLAUDE.md")}  # both sides appended a line
    assert settled(project) == 2
    assert project.run("plan", "-o", plan_file)[0] == 0
    assert project.run("approve", plan_file, "--all")[0] == 0
    code, out, err = project.run("apply", plan_file)
    assert code == 0, err
    assert settled(project) == 0
    assert (project.install / "CLAUDE.md").read_text().endswith("Claude answers in English.\n")
