"""End to end on real git sources and real install trees: every drift class of files and every action."""

from __future__ import annotations

import json
import os

from tests.helpers import snapshot


def test_install_then_clean(installed):
    doc = installed.plan()
    assert doc["components"][0]["status"] == "clean"
    assert doc["summary"]["drift"] == 0 and doc["actions"] == []
    ledger = installed.ledger()
    assert ledger["version"] == "1.0.0"
    assert ledger["files"]["bin/run"]["mode"] == "0755"
    assert os.stat(installed.install / "bin/run").st_mode & 0o777 == 0o755
    assert (installed.install / "AGENTS.md").read_text() == "Agent is the agent.\n"
    assert ledger["provenance"]["status"] == "verified"


def test_plan_detailed_exitcode(installed):
    assert installed.run("plan", "--detailed-exitcode")[0] == 0
    (installed.install / "server/util.js").write_text("patched\n")
    assert installed.run("plan", "--detailed-exitcode")[0] == 2
    assert installed.run("plan")[0] == 0


def test_plan_is_read_only(installed):
    (installed.install / "server/util.js").write_text("patched\n")
    (installed.install / "notes.txt").write_text("mine\n")
    installed.manifest(ref="v2")
    before = (snapshot(installed.install), snapshot(installed.repo))
    code, out, err = installed.run("plan", "--json")
    assert code == 0, err  # a plan that failed early would be read-only for nothing
    assert {"upgrade", "accept-local"} <= {a["type"] for a in json.loads(out)["actions"]}
    code, _, err = installed.run("plan", "-o", str(installed.root / "p.json"))
    assert code == 0 and (installed.root / "p.json").is_file(), err
    assert (snapshot(installed.install), snapshot(installed.repo)) == before


def test_same_state_gives_byte_identical_plans_except_meta(installed):
    (installed.install / "server/util.js").write_text("patched\n")
    first, second = installed.plan(), installed.plan()
    first.pop("meta"), second.pop("meta")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert [a["id"] for a in first["actions"]] == [a["id"] for a in second["actions"]]


def test_local_patch_accept_then_clean_until_changed_again(installed):
    target = installed.install / "server/util.js"
    target.write_text("patched\n")
    doc = installed.plan()
    assert ("local-patch", "modified", "server/util.js") in installed.kinds(doc)
    accept = installed.action(doc, "accept-local", "server/util.js")
    assert accept["recommended"]
    assert installed.action(doc, "restore-source", "server/util.js")["group"] == accept["group"]
    assert installed.apply_ids(doc, accept["id"])[0] == 0
    assert installed.kinds() == set()
    assert target.read_text() == "patched\n"
    target.write_text("patched twice\n")
    assert ("local-patch", "modified", "server/util.js") in installed.kinds()


def test_restore_source_saves_local_content_first(installed):
    target = installed.install / "server/util.js"
    target.write_text("hot fix\n")
    doc = installed.plan()
    code, out, err = installed.apply_ids(doc, installed.action(doc, "restore-source", "server/util.js")["id"])
    assert code == 0, err
    assert target.read_text() == "module.exports = {};\n"
    backups = [b for b in installed.ledger()["backups"] if b["original"] == "server/util.js"]
    assert len(backups) == 1 and (installed.install / backups[0]["path"]).read_text() == "hot fix\n"
    assert installed.kinds() == set()  # the backup was approved with the restore: listed as info only


def test_missing_file_restored_and_mode_change_restored(installed):
    (installed.install / "server/index.js").unlink()
    os.chmod(installed.install / "bin/run", 0o644)
    doc = installed.plan()
    kinds = installed.kinds(doc)
    assert ("file", "missing", "server/index.js") in kinds
    assert ("file", "mode-changed", "bin/run") in kinds
    assert installed.action(doc, "restore-source", "server/index.js")["recommended"]
    assert installed.run("apply", str(installed.write_plan(doc)), "--approve-all")[0] == 0
    assert (installed.install / "server/index.js").exists()
    assert os.stat(installed.install / "bin/run").st_mode & 0o777 == 0o755
    assert installed.kinds() == set()


def test_untracked_file_accept_and_ignored_paths_never_appear(installed):
    (installed.install / "notes.txt").write_text("operator notes\n")
    (installed.install / "data").mkdir()
    (installed.install / "data/cache.db").write_text("runtime data\n")
    doc = installed.plan()
    paths = {d["path"] for c in doc["components"] for d in c["drift"] + c["info"]}
    assert "notes.txt" in paths and not any(p and p.startswith("data") for p in paths)
    assert installed.kinds(doc) == {("file", "untracked", "notes.txt")}
    assert installed.apply_ids(doc, installed.action(doc, "accept-local", "notes.txt")["id"])[0] == 0
    assert installed.kinds() == set()


def test_secret_is_existence_and_mode_only(installed):
    secret = "sk-very-secret-value-123"
    env = installed.install / ".env"
    env.write_text(f"TOKEN={secret}\n")
    os.chmod(env, 0o644)
    code, out, _ = installed.run("plan", "--json")
    assert secret not in out
    import hashlib

    assert hashlib.sha256(env.read_bytes()).hexdigest() not in out
    info = [d for c in json.loads(out)["components"] for d in c["info"] if d["path"] == ".env"]
    assert info == [{"class": "file", "kind": "secret-exposed", "path": ".env", "expected": None,
                     "actual": {"type": "file", "mode": "0644"}}]
    assert secret not in installed.run("plan")[1]


def test_backup_acknowledge_or_cleanup(installed):
    (installed.install / "server/index.js.bak").write_text("old\n")
    (installed.install / "server/util.js.orig").write_text("older\n")
    doc = installed.plan()
    assert {("backup", "unacknowledged", "server/index.js.bak"), ("backup", "unacknowledged", "server/util.js.orig")} <= installed.kinds(doc)
    ack = installed.action(doc, "accept-local", "server/index.js.bak")
    clean = installed.action(doc, "cleanup-backups", "server/util.js.orig")
    assert installed.apply_ids(doc, ack["id"], clean["id"])[0] == 0
    assert not (installed.install / "server/util.js.orig").exists()
    doc = installed.plan()
    assert installed.kinds(doc) == set()
    info = {(d["kind"], d["path"]) for c in doc["components"] for d in c["info"]}
    assert ("acknowledged", "server/index.js.bak") in info


def test_generated_stale_and_edited(installed):
    claude = installed.install / "CLAUDE.md"
    doc0 = installed.plan()
    claude.write_text("Claude is the agent.\nClaude is kind.\n")
    doc = installed.plan()
    assert ("generated", "stale", "AGENTS.md") in installed.kinds(doc)
    regen = installed.action(doc, "regenerate", "AGENTS.md")
    accept = installed.action(doc, "accept-local", "CLAUDE.md")
    assert installed.apply_ids(doc, regen["id"], accept["id"])[0] == 0
    assert (installed.install / "AGENTS.md").read_text() == "Agent is the agent.\nAgent is kind.\n"
    assert installed.kinds() == set()
    (installed.install / "AGENTS.md").write_text("hand edit\n")
    doc = installed.plan()
    assert ("generated", "edited", "AGENTS.md") in installed.kinds(doc)
    regen = installed.action(doc, "regenerate", "AGENTS.md")
    assert not regen["recommended"]
    assert installed.apply_ids(doc, regen["id"])[0] == 0
    saved = [b for b in installed.ledger()["backups"] if b["original"] == "AGENTS.md"]
    assert saved and (installed.install / saved[0]["path"]).read_text() == "hand edit\n"
    assert doc0["plan_hash"] != doc["plan_hash"]


def test_show_human_markdown_and_stale_warning(installed):
    (installed.install / "server/util.js").write_text("patched\n")
    installed.run("plan", "-o", str(installed.root / "plan.json"))
    code, out, err = installed.run("show", str(installed.root / "plan.json"))
    assert code == 0 and "server/util.js" in out and "Plan: 2 actions" in out and not err
    code, out, _ = installed.run("show", str(installed.root / "plan.json"), "--markdown")
    assert out.startswith("<!-- trueup plan_hash: ") and "\n## trueup plan\n" in out
    assert "| ~ | local-patch | server/util.js |" in out
    (installed.install / "server/util.js").write_text("patched again\n")
    code, out, err = installed.run("show", str(installed.root / "plan.json"))
    assert code == 0 and "plan is stale: file server/util.js" in err and "server/util.js" in out
