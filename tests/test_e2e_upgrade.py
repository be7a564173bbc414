"""Upgrade and import end to end: replace, add, remove, keep, merge, conflict, gating."""

from __future__ import annotations

from tests.conftest import V1


def _upgrade(project, *extra_ids):
    project.manifest(ref="v2")
    doc = project.plan()
    upgrade = project.action(doc, "upgrade")
    code, out, err = project.apply_ids(doc, upgrade["id"], *extra_ids)
    return doc, upgrade, code, out, err


def test_clean_upgrade_replaces_adds_removes(installed):
    doc, upgrade, code, out, err = _upgrade(installed)
    assert code == 0, err
    assert upgrade["gated"] == []
    ops = {p: o["op"] for p, o in upgrade["details"]["files"].items()}
    assert ops == {"package.json": "replace", "server/index.js": "replace", "server/new.js": "add",
                   "bin/run": "replace", "CLAUDE.md": "replace", "docs/old.md": "remove"}
    assert (installed.install / "server/new.js").read_text() == "exports.n = 1;\n"
    assert not (installed.install / "docs").exists()
    assert (installed.install / "AGENTS.md").read_text() == "Agent is the agent.\nAgent is careful.\n"
    ledger = installed.ledger()
    assert ledger["version"] == "2.0.0" and "docs/old.md" not in ledger["files"]
    assert installed.kinds() == set()


def test_source_drift_is_reported(installed):
    installed.manifest(ref="v2")
    doc = installed.plan()
    item = [d for d in doc["components"][0]["drift"] if d["kind"] == "outdated"][0]
    assert item["class"] == "source"
    assert item["expected"]["version"] == "2.0.0" and item["actual"]["version"] == "1.0.0"


def test_operator_files_never_touched_and_removed_edited_file_kept(installed):
    (installed.install / "notes.txt").write_text("mine\n")
    (installed.install / "docs/old.md").write_text("old docs, annotated\n")
    installed.manifest(ref="v2")
    doc = installed.plan()
    accept_ids = [installed.action(doc, "accept-local", p)["id"] for p in ("notes.txt", "docs/old.md")]
    _, upgrade, code, out, err = _upgrade(installed, *accept_ids)
    assert code == 0, err
    assert upgrade["details"]["files"]["docs/old.md"]["op"] == "keep"
    assert (installed.install / "docs/old.md").read_text() == "old docs, annotated\n"
    assert (installed.install / "notes.txt").read_text() == "mine\n"
    assert "docs/old.md" in installed.ledger()["accepted"]
    # Kept, but not silently: an edit nothing loads any more stays visible until the operator decides.
    assert installed.kinds() == {("local-patch", "orphaned-patch", "docs/old.md")}


def test_gated_upgrade_refused_until_patch_is_handled(installed):
    (installed.install / "server/util.js").write_text("patched\n")
    (installed.install / "x.bak").write_text("debris\n")
    installed.manifest(ref="v2")
    doc = installed.plan()
    upgrade = installed.action(doc, "upgrade")
    assert sorted(upgrade["gated"]) == ["app/backup/unacknowledged/x.bak", "app/local-patch/modified/server/util.js"]
    before = (installed.install / "package.json").read_text()
    code, out, err = installed.apply_ids(doc, upgrade["id"])
    assert code == 3 and "gated by" in err
    assert (installed.install / "package.json").read_text() == before
    code, out, err = installed.run("show", str(installed.root / "plan.json"))
    assert "gated by: app/backup/unacknowledged/x.bak" in out


def _patch_accept_upgrade(installed, old: str, new: str):
    """Hot-patch server/index.js, then upgrade to v2 with the patch accepted."""
    index = installed.install / "server/index.js"
    index.write_text(index.read_text().replace(old, new))
    installed.manifest(ref="v2")
    doc = installed.plan()
    accept = installed.action(doc, "accept-local", "server/index.js")
    _, upgrade, code, out, err = _upgrade(installed, accept["id"])
    assert code == 0, err
    return index, upgrade


def test_three_way_merge_clean(installed):
    index, upgrade = _patch_accept_upgrade(installed, "const a = 1;", "const a = 100;")
    assert upgrade["details"]["files"]["server/index.js"]["op"] == "merge"
    assert index.read_text() == "const a = 100;\nconst b = 2;\nconst c = 30;\nconsole.log(a + b + c);\n"
    ledger = installed.ledger()
    saved = [b for b in ledger["backups"] if b["original"] == "server/index.js"]
    assert saved and "const a = 100;\nconst b = 2;\nconst c = 3;" in (installed.install / saved[0]["path"]).read_text()
    assert installed.kinds() == set()


def test_three_way_merge_conflict_keeps_live_and_writes_new_beside(installed):
    index, _ = _patch_accept_upgrade(installed, "const c = 3;", "const c = 4;")
    assert "const c = 4;" in index.read_text()
    beside = installed.install / "server/index.js.trueup-new"
    assert "const c = 30;" in beside.read_text()
    record = [b for b in installed.ledger()["backups"] if b["path"] == "server/index.js.trueup-new"][0]
    assert record["reason"] == "merge-conflict" and not record["acknowledged"]
    # One drift item for the conflict, on the live file (tests/test_e2e_conflicts.py resolves it three ways).
    assert installed.kinds() == {("local-patch", "merge-conflict", "server/index.js")}


def test_import_verified_and_unverified(project):
    from tests.helpers import build_tree

    project.source({"v1": V1})
    project.manifest(ref="v1", install={"generated": []})
    build_tree(project.install, V1)
    doc = project.plan()
    assert doc["components"][0]["status"] == "unmanaged"
    imp = project.action(doc, "import")
    assert project.apply_ids(doc, imp["id"])[0] == 0
    assert project.ledger()["provenance"]["status"] == "verified"
    assert project.kinds() == set()


def test_import_records_differences_as_accepted(project):
    from tests.helpers import build_tree

    project.source({"v1": V1})
    project.manifest(ref="v1", install={"generated": []})
    build_tree(project.install, {**V1, "server/util.js": "local\n", "extra.txt": "mine\n"})
    (project.install / "docs/old.md").unlink()
    doc = project.plan()
    assert project.apply_ids(doc, project.action(doc, "import")["id"])[0] == 0
    ledger = project.ledger()
    assert ledger["provenance"]["status"] == "local/unverified"
    assert set(ledger["accepted"]) == {"server/util.js", "extra.txt", "docs/old.md"}
    assert ledger["accepted"]["docs/old.md"]["fact"]["type"] == "absent"
    doc = project.plan()
    assert project.kinds(doc) == set()
    assert [d["kind"] for d in doc["components"][0]["info"]] == ["unverified"]
    project.manifest(ref="v1", install={"generated": []}, require_verified=True)
    assert ("provenance", "unverified", None) in project.kinds()
