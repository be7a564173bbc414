"""Validate completely, then write: a forged plan (any edit, plan_hash recomputed) or a poisoned cache is refused
before apply changes a byte — every file of the workspace, the ledger and the state dir stay byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from tests.conftest import V1, V2
from tests.helpers import Project
from trueup.planner.document import plan_hash

CACHE = Path(".trueup-state") / "cache"


def everything(root: Path) -> dict[str, bytes | str]:
    """Every path below the workspace (install, ledger, state dir, source) with its bytes; the state dir's cache
    is left out (plan and apply may refresh the stat cache: it is a cache, and never what apply acts on)."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root)
            if rel.parts[:2] == CACHE.parts or rel.name.endswith(".lock"):
                continue
            st = path.lstat()
            if path.is_symlink():
                out[str(rel)] = "link:" + os.readlink(path)
            elif path.is_file():
                out[str(rel)] = oct(st.st_mode).encode() + b" " + path.read_bytes()
            else:
                out[str(rel)] = "dir " + oct(st.st_mode)
    return out


def forge(doc: dict) -> dict:
    doc["plan_hash"] = plan_hash(doc)  # anyone can recompute the hash: the rule is in the README
    return doc


def apply_unchanged(project: Project, doc: dict, *args: str) -> tuple[int, str]:
    """Apply ``doc`` (its approved actions and ``args``), asserting that nothing at all changed; (code, stderr)."""
    plan = project.write_plan(doc)
    before = everything(project.root)
    code, out, err = project.run("apply", str(plan), *args)
    after = everything(project.root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, (code, err, changed)
    return code, err


def file_fact(path: Path) -> dict:
    return {"type": "file", "mode": "0644", "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def test_cleanup_with_a_non_backup_target_appended_deletes_nothing(installed):
    (installed.install / "a.txt").write_text("the operator's\n")
    (installed.install / "a.txt.bak").write_text("debris\n")
    doc = installed.plan()
    cleanup = installed.action(doc, "cleanup-backups", "a.txt.bak")
    cleanup["targets"].append("a.txt")
    cleanup["approved"] = True
    code, err = apply_unchanged(installed, forge(doc))
    assert code == 3 and "a.txt is not a backup file" in err, err
    assert (installed.install / "a.txt.bak").exists()


def _upgrade_plan(project: Project) -> dict:
    project.manifest(ref="v2")
    doc = project.plan()
    project.action(doc, "upgrade")["approved"] = True
    return doc


def test_forged_upgrade_op_never_deletes_an_operator_file(installed):
    notes = installed.install / "notes.txt"
    notes.write_text("operator notes\n")
    doc = _upgrade_plan(installed)
    upgrade = installed.action(doc, "upgrade")
    upgrade["details"]["files"]["notes.txt"] = {"op": "keep"}
    upgrade["targets"] = sorted([*upgrade["targets"], "notes.txt"])
    upgrade["preconditions"]["file:notes.txt"] = file_fact(notes)
    code, err = apply_unchanged(installed, forge(doc))
    assert code == 3 and "is not what trueup proposes" in err, err
    assert notes.read_text() == "operator notes\n"


def test_an_unknown_upgrade_op_is_refused(installed):
    doc = _upgrade_plan(installed)
    upgrade = installed.action(doc, "upgrade")
    upgrade["details"]["files"]["server/index.js"]["op"] = "overwrite-everything"
    code, err = apply_unchanged(installed, forge(doc))
    assert code == 3 and "unknown op 'overwrite-everything'" in err, err


def test_an_unsafe_path_inside_details_files_is_refused(installed, tmp_path):
    doc = _upgrade_plan(installed)
    upgrade = installed.action(doc, "upgrade")
    # Sorted after every honest path: apply used to write those first, then stop at this one.
    upgrade["details"]["files"]["zz/../../../escape.txt"] = dict(upgrade["details"]["files"]["server/new.js"])
    code, err = apply_unchanged(installed, forge(doc))
    assert code == 3 and "unsafe target path" in err, err
    assert not (installed.root / "escape.txt").exists()


def test_a_restart_forged_as_a_file_action_is_refused(installed):
    (installed.install / "a.txt.bak").write_text("debris\n")
    doc = installed.plan()
    cleanup = installed.action(doc, "cleanup-backups", "a.txt.bak")
    cleanup["type"] = "restart"
    cleanup["approved"] = True
    code, err = apply_unchanged(installed, forge(doc))
    assert code == 3 and "no file action is of type restart" in err, err


def test_a_poisoned_blob_memo_is_caught_before_any_write_and_discarded(installed):
    # The operator's edit to CLAUDE.md is merged (written) before plain files are written: with a wrong hash for
    # package.json in the memo, apply used to merge CLAUDE.md and only then stop.
    (installed.install / "CLAUDE.md").write_text("Claude is the agent.\nLocal rule.\n")
    installed.manifest(ref="v2")
    installed.plan()  # fills the memo
    memo_path = installed.root / CACHE / "blob-sha256.json"
    memo = json.loads(memo_path.read_text())
    blob = installed_blob(installed, "v2", "package.json")
    memo[blob] = "0" * 64
    memo_path.write_text(json.dumps(memo))
    doc = installed.plan()
    assert installed.action(doc, "upgrade")["details"]["files"]["package.json"]["sha256"] == "0" * 64
    code, err = apply_unchanged(installed, doc, "--approve-all")
    assert code == 3 and "is not what trueup proposes" in err, err
    assert "discarded the cache" in err and "blob-sha256.json" in err, err
    assert not memo_path.exists()
    doc = installed.plan()  # the next plan hashes from git again, and its upgrade applies
    code, out, err = installed.run("apply", str(installed.write_plan(doc)), "--approve-all")
    assert code == 0, err
    assert (installed.install / "package.json").read_text() == '{"name": "app", "version": "2.0.0"}\n'


def installed_blob(project: Project, ref: str, path: str) -> str:
    import subprocess

    return subprocess.run(["git", "-C", str(project.repo), "rev-parse", f"{ref}:{path}"], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_a_ledger_the_memo_vouches_for_is_validated_before_apply_rewrites_it(installed):
    from trueup.state import ledger as ledgers
    from trueup.state import validated

    ledger_file = installed.install / ".trueup" / "install.json"
    broken = json.loads(ledger_file.read_text())
    broken["bogus"] = True  # valid JSON the code would carry along, but not a ledger: the schema refuses it
    raw = json.dumps(broken, indent=2).encode()
    ledger_file.write_bytes(raw)
    validated.remember_valid(installed.root / CACHE, "ledger", ledgers._schema_version(), raw)  # the poison
    (installed.install / "notes.txt").write_text("mine\n")
    doc = installed.plan()
    installed.action(doc, "accept-local", "notes.txt")["approved"] = True
    code, err = apply_unchanged(installed, doc)
    assert code == 1 and "install.json" in err and "bogus" in err, err
    assert "discarded the validation memo" in err, err
    assert not validated.already_valid(installed.root / CACHE, "ledger", ledgers._schema_version(), raw)


def test_an_honest_plan_still_applies(installed):
    (installed.install / "x.bak").write_text("debris\n")
    (installed.install / "server/util.js").write_text("patched\n")
    installed.manifest(ref="v2")
    doc = installed.plan()
    code, out, err = installed.run("apply", str(installed.write_plan(doc)), "--approve-all")
    assert code == 0, err
    assert (installed.install / "server/util.js").read_text() == "patched\n"  # accepted, then merged
    assert (installed.install / "server/new.js").exists()
    assert installed.ledger()["version"] == "2.0.0"


def test_a_damaged_blob_memo_is_discarded_with_one_line(installed):
    installed.manifest(ref="v2")
    installed.plan()
    memo_path = installed.root / CACHE / "blob-sha256.json"
    memo_path.write_text('{"not a blob id": 42}')
    code, out, err = installed.run("plan", "--json")
    assert code == 0, err
    [line] = [line for line in err.splitlines() if "blob-sha256.json" in line]
    assert "discarded the cache" in line and "not a map of git blob ids" in line
    memo = json.loads(memo_path.read_text())  # rebuilt from git by the same plan
    assert "not a blob id" not in memo and memo


def test_a_forged_config_value_is_refused_before_the_file_is_written(project):
    from tests.test_e2e_config import CONFIG, _apply_all, _setup

    _setup(project)
    live = Path.home() / "zylos/.claude/settings.json"
    _apply_all(project)
    project.manifest(ref="v2", extra={"config": CONFIG})
    doc = project.plan()
    [update] = [a for a in doc["actions"] if a["target_kind"] == "config-entry"
                and a["details"]["changes"][0]["op"] == "update"]
    update["details"]["changes"][0]["after"]["timeout"] = 99999  # a value the framework never proposed
    for action in doc["actions"]:
        action["approved"] = action["recommended"]
    before = live.read_bytes()
    code, err = apply_unchanged(project, forge(doc))
    assert code == 3 and "details.changes is not what trueup proposes" in err, err
    assert live.read_bytes() == before


def test_apply_checks_a_plan_against_the_mirror_as_planned_without_fetching(project):
    # A remote source moved on after the plan: apply installs the commit the plan pinned (its precondition still
    # holds in the mirror), it does not fetch and then call the honest plan forged.
    import subprocess

    project.source({"v1": V1, "v2": V2})
    subprocess.run(["git", "-C", str(project.repo), "branch", "-f", "track", "v1"], check=True, capture_output=True)
    url = f"file://{project.repo}"
    project.manifest(ref="track", extra={"source": {"repo": url, "ref": "track"}})
    doc = project.plan()
    subprocess.run(["git", "-C", str(project.repo), "branch", "-f", "track", "v2"], check=True, capture_output=True)
    code, out, err = project.run("apply", str(project.write_plan(doc)), "--approve-all")
    assert code == 0, err
    assert project.ledger()["version"] == "1.0.0"


def test_a_damaged_ledger_index_is_discarded_with_one_line(installed):
    # A checksum that matches a body that is not an index (a poisoned or buggy cache): never an internal error.
    from trueup.state import ledger_index

    [index] = (installed.root / CACHE).glob("ledger-*.index")
    key = ledger_index.HEADER.unpack_from(index.read_bytes())[5]
    body = b"[]"
    index.write_bytes(ledger_index.HEADER.pack(ledger_index.MAGIC, ledger_index.VERSION, 0, len(body), 0, key,
                                               hashlib.sha256(body).digest()) + body)
    code, out, err = installed.run("plan", "--no-cache")
    assert code == 0, err
    [line] = [line for line in err.splitlines() if "ledger-" in line]
    assert "discarded the cache" in line and "not the shape of a ledger index" in line
