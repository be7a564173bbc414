"""What a killed run leaves behind is trueup's to report and clean (issue 17): temp files in the install and
the ledger directory are `file/leftover` drift with a cleanup action; temp files and scratch directories in the
state dir are removed by the next run once their owner is dead; an apply's scratch directory is private and in
the state dir; recovering from a killed upgrade writes no redundant backups and no `.trueup-new` equal to the
live file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from tests.conftest import V2
from tests.helpers import snapshot
from trueup.source import Source


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def approve_all_round(project) -> dict:
    plan_file = project.root / "plan.json"
    assert project.run("plan", "-o", str(plan_file))[0] == 0
    code, out, err = project.run("apply", str(plan_file), "--approve-all")
    assert code == 0, out + err
    code, out, err = project.run("plan", "--detailed-exitcode")
    assert code == 0, out + err
    return json.loads(out) if out.startswith("{") else {}


def leftovers(document: dict) -> dict[str, dict]:
    return {d["path"]: d for c in document["components"] for d in c["drift"] if d["kind"] == "leftover"}


def test_temp_files_of_a_killed_run_are_leftover_drift_cleaned_by_approve_all(installed):
    pid = dead_pid()
    ledger_tmp = f".trueup/.install.json.trueup-tmp.{pid}-0a1b2c3d"
    install_tmp = f"server/.index.js.trueup-tmp.{pid}-00ff00ff"
    old_style = "server/.util.js.trueup-tmp.deadbeef"  # an older trueup's name: no pid
    for rel, text in ((ledger_tmp, '{"half": '), (install_tmp, "const a"), (old_style, "mod")):
        (installed.install / rel).write_text(text)

    doc = installed.plan()
    found = leftovers(doc)
    assert set(found) == {ledger_tmp, install_tmp, old_style}
    assert found[ledger_tmp]["class"] == "file" and found[ledger_tmp]["expected"] == {"for": ".trueup/install.json"}
    assert found[install_tmp]["expected"] == {"for": "server/index.js"}
    # One item each: not also an unreviewed backup (the name matches *.trueup-*).
    assert not [d for d in doc["components"][0]["drift"] if d["class"] == "backup"]
    cleanup = installed.action(doc, "cleanup-backups", ledger_tmp)
    assert cleanup["recommended"] and cleanup["details"]["drift"] == "file/leftover"

    approve_all_round(installed)
    for rel in (ledger_tmp, install_tmp, old_style):
        assert not (installed.install / rel).exists()
    assert installed.ledger()["version"] == "1.0.0"


def test_a_temp_file_whose_writer_still_runs_is_not_reported(installed):
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        rel = f"server/.index.js.trueup-tmp.{writer.pid}-0a1b2c3d"
        (installed.install / rel).write_text("in flight")
        kinds = installed.kinds()
        assert not [k for k in kinds if k[2] == rel]  # an apply in progress is writing it: neither leftover nor backup
    finally:
        writer.kill()
        writer.wait()
    assert ("file", "leftover", rel) in installed.kinds()


def test_state_dir_leftovers_of_dead_owners_are_removed_by_the_next_run(installed):
    state = installed.root / ".trueup-state"
    pid = dead_pid()
    alive = os.getppid()  # pytest's parent: alive for the whole test
    dead_tmp = state / "cache" / f".blob-sha256.json.trueup-tmp.{pid}-0a1b2c3d"
    live_tmp = state / "cache" / f".blob-sha256.json.trueup-tmp.{alive}-0a1b2c3d"
    dead_scratch = state / "scratch" / f"apply-{pid}-0a1b2c3d"
    live_scratch = state / "scratch" / f"apply-{alive}-0a1b2c3d"
    dead_preview = state / "cache" / f"trueup-diff-merge-{pid}"  # a killed plan's merge preview
    for directory in (dead_scratch, live_scratch, dead_preview):
        (directory / "merge").mkdir(parents=True)
        (directory / "merge" / "ours").write_text("the operator's file\n")
    dead_tmp.write_text("{")
    live_tmp.write_text("{")

    assert installed.run("plan")[0] == 0
    assert not dead_tmp.exists() and not dead_scratch.exists() and not dead_preview.exists()
    assert live_tmp.exists() and live_scratch.exists()  # its owner may still be using it


def test_apply_scratch_is_private_and_in_the_state_dir(installed, monkeypatch):
    (installed.install / "server/index.js").write_text(
        "const a = 1;\nconst b = 2;\nconst c = 3;\nconsole.log(a + b + c); // mine\n")
    seen = []
    merge_file = Source.merge_file

    def observed(self, ours, base, theirs, scratch):
        merged = merge_file(self, ours, base, theirs, scratch)
        seen.append((scratch.parent, stat.S_IMODE(scratch.parent.stat().st_mode),
                     stat.S_IMODE(scratch.parent.parent.stat().st_mode)))
        return merged

    installed.manifest(ref="v2")
    doc = installed.plan()
    monkeypatch.setattr(Source, "merge_file", observed)
    code, out, err = installed.apply_ids(doc, installed.action(doc, "upgrade")["id"],
                                         installed.action(doc, "accept-local", "server/index.js")["id"])
    assert code == 0, out + err
    [(scratch, mode, parent_mode)] = seen
    assert scratch.parent == installed.root / ".trueup-state" / "scratch"
    assert (mode, parent_mode) == (0o700, 0o700)
    assert not scratch.exists()


def test_recovery_after_a_killed_upgrade_writes_no_redundant_files(installed):
    """A killed upgrade wrote some new versions (one over a file the operator had made executable) and added a
    file, then died before the ledger: the next round records them without backups or `.trueup-new` files."""
    installed.manifest(ref="v2")
    for rel in ("server/index.js", "server/new.js", "package.json"):
        (installed.install / rel).write_text(V2[rel])
    before = snapshot(installed.install)

    approve_all_round(installed)
    after = snapshot(installed.install)
    created = sorted(set(after) - set(before))
    assert not [p for p in created if ".trueup-new" in p or ".trueup-local-" in p], created
    assert installed.ledger()["version"] == "2.0.0"
    assert installed.ledger()["backups"] == []
