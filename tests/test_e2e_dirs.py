"""A directory as one drift item: a new untracked directory (like `git status`'s `?? dir/`) and a backup set;
and show/apply re-observing component-wide facts once per component, not once per action."""

from __future__ import annotations



def _nm(root, n=500):
    for i in range(n):
        d = root / "node_modules" / f"pkg{i % 25}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.js").write_text(f"module.exports = {i};\n")


def test_new_untracked_directory_is_one_item_accept_then_clean(installed):
    _nm(installed.install)
    doc = installed.plan()
    drift = [d for c in doc["components"] for d in c["drift"]]
    assert [(d["class"], d["kind"], d["path"]) for d in drift] == [("file", "untracked", "node_modules/")]
    actual = drift[0]["actual"]
    assert actual["type"] == "dir" and actual["files"] == 500 and actual["bytes"] == sum(
        len(f"module.exports = {i};\n") for i in range(500))
    types = sorted((a["type"], a["recommended"]) for a in doc["actions"])
    assert types == [("accept-local", True), ("cleanup-backups", False)]
    assert "untracked directory, 500 files" in installed.run("plan")[1]
    assert installed.apply_ids(doc, installed.action(doc, "accept-local", "node_modules/")["id"])[0] == 0
    assert "node_modules/" in installed.ledger()["accepted"]
    assert installed.kinds() == set()
    # Accepted directories are treated like ignored paths: a changed or new file below one is not reported.
    (installed.install / "node_modules/pkg0/f0.js").write_text("changed\n")
    (installed.install / "node_modules/new.js").write_text("new\n")
    assert installed.kinds() == set()
    assert installed.kinds(installed.plan("--no-cache")) == set()


def test_untracked_directory_beside_tracked_files_and_nested(installed):
    (installed.install / "server/extra").mkdir()
    (installed.install / "server/extra/a.js").write_text("a\n")
    (installed.install / "server/extra/sub").mkdir()
    (installed.install / "server/extra/sub/b.js").write_text("b\n")
    (installed.install / "server/new.js").write_text("new\n")  # in a directory holding tracked files: itself
    assert installed.kinds() == {("file", "untracked", "server/extra/"), ("file", "untracked", "server/new.js")}


def test_cleanup_of_untracked_directory_only_what_the_plan_saw(installed):
    _nm(installed.install, 50)
    (installed.install / "data").mkdir()
    doc = installed.plan()
    clean = installed.action(doc, "cleanup-backups", "node_modules/")
    assert not clean["recommended"]
    # A file added after the plan: the directory is not what the plan saw, nothing is deleted.
    (installed.install / "node_modules/late.js").write_text("late\n")
    code, out, err = installed.apply_ids(doc, clean["id"])
    assert code == 3 and "stale" in out + err
    assert (installed.install / "node_modules/pkg0/f0.js").exists()
    (installed.install / "node_modules/late.js").unlink()
    code, out, err = installed.apply_ids(doc, clean["id"])
    assert code == 0, out + err
    assert not (installed.install / "node_modules").exists()
    assert (installed.install / "server/index.js").exists()
    assert installed.kinds() == set()


def test_backup_set_is_one_item_with_acknowledge_and_delete(installed):
    for ts in ("2026-11-20T10-00", "2026-11-21T09-00"):
        d = installed.install / ".backup" / ts / "server"
        d.mkdir(parents=True)
        (d / "index.js").write_text(f"old {ts}\n")
        (d.parent / "CLAUDE.md").write_text("old\n")
    doc = installed.plan()
    assert installed.kinds(doc) == {("backup", "unacknowledged", ".backup/2026-11-20T10-00/"),
                                    ("backup", "unacknowledged", ".backup/2026-11-21T09-00/")}
    one, two = ".backup/2026-11-20T10-00/", ".backup/2026-11-21T09-00/"
    assert {(a["type"], a["recommended"]) for a in doc["actions"] if a["targets"] == [one]} == {
        ("accept-local", True), ("cleanup-backups", False)}
    ack, delete = installed.action(doc, "accept-local", one), installed.action(doc, "cleanup-backups", two)
    code, out, err = installed.apply_ids(doc, ack["id"], delete["id"])
    assert code == 0, out + err
    assert not (installed.install / two).exists() and (installed.install / one / "server/index.js").exists()
    doc = installed.plan()
    assert installed.kinds(doc) == set()
    assert ("acknowledged", one) in {(d["kind"], d["path"]) for c in doc["components"] for d in c["info"]}
    # A set changed after it was acknowledged is up for review again.
    (installed.install / one / "server/index.js").write_text("edited\n")
    assert installed.kinds() == {("backup", "unacknowledged", one)}


def _count_git(monkeypatch):
    import subprocess

    from trueup import source

    calls = []
    real = subprocess.run

    def counting(args, *a, **kw):
        if args and args[0] == "git":
            calls.append(args)
        return real(args, *a, **kw)

    monkeypatch.setattr(source.subprocess, "run", counting)
    return calls


def test_show_and_apply_resolve_the_source_once_per_component(installed, monkeypatch):
    for i in range(30):
        (installed.install / f"note{i}.txt").write_text(f"{i}\n")
    doc = installed.plan()
    assert len(doc["actions"]) == 30
    path = installed.write_plan(doc)
    calls = _count_git(monkeypatch)
    code, out, err = installed.run("show", str(path))
    assert code == 0, out + err
    # One component, 30 actions, each with the component's SOURCE_COMMIT precondition: resolved once, not 30 times.
    assert 1 <= len([c for c in calls if "rev-parse" in c]) <= 2
    calls.clear()
    code, out, err = installed.run("apply", str(path), "--approve-all")
    assert code == 0, out + err
    # The recheck's one, the validation's observation (planner/honest.py), the apply's own: per component, not per action.
    assert 1 <= len([c for c in calls if "rev-parse" in c]) <= 8
    assert installed.kinds() == set()
