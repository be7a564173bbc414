"""Renames carry local patches, orphaned patches stay visible, and modes are compared as git compares them.

Real git histories (a file renamed between two tags, as zylos-recruit renamed runtimes/chatgpt.js to
codex-api.js between v0.2.18 and v0.2.19), real install trees, the CLI in-process.
"""

from __future__ import annotations

import os
import stat

import pytest

from tests.conftest import V1, V2

RUNTIME = "".join(f"export const line{i} = {i};\n" for i in range(1, 21))
R1 = {"package.json": '{"name": "app", "version": "1.0.0"}\n', "CLAUDE.md": "Claude.\n",
      "src/runtimes/chatgpt.js": RUNTIME, "src/index.js": "import './runtimes/chatgpt.js';\n",
      "docs/old.md": "old docs\n"}
R2 = {"package.json": '{"name": "app", "version": "2.0.0"}\n', "CLAUDE.md": "Claude.\n",
      "src/runtimes/codex-api.js": RUNTIME.replace("line20 = 20", "line20 = 'upstream'"),
      "src/index.js": "import './runtimes/codex-api.js';\n"}
HOTFIX = RUNTIME.replace("line2 = 2", "line2 = 'hotfix'")


def _install(project, versions, ref="v1", **manifest):
    project.source(versions)
    project.manifest(ref=ref, **manifest)
    plan = project.root / "install.json"
    assert project.run("plan", "-o", str(plan))[0] == 0
    code, out, err = project.run("apply", str(plan), "--approve-all")
    assert code == 0, out + err


def _upgrade_all(project, ref="v2", **manifest):
    project.manifest(ref=ref, **manifest)
    document = project.plan()
    upgrade = project.action(document, "upgrade")
    code, out, err = project.run("apply", str(project.write_plan(document)), "--approve-all")
    assert code == 0, out + err
    return upgrade, out


def _settles(project) -> None:
    code, out, err = project.run("plan", "--detailed-exitcode")
    assert code == 0, out + err


def _converge(project) -> None:
    plan = project.root / "fix.json"
    assert project.run("plan", "-o", str(plan))[0] in (0, 2)
    code, out, err = project.run("apply", str(plan), "--approve-all")
    assert code == 0, out + err
    _settles(project)


def test_a_local_patch_follows_its_file_renamed_upstream(project):
    _install(project, {"v1": R1, "v2": R2})
    (project.install / "src/runtimes/chatgpt.js").write_text(HOTFIX)
    upgrade, out = _upgrade_all(project)
    ops = upgrade["details"]["files"]
    assert ops["src/runtimes/codex-api.js"]["op"] == "rename-merge"
    assert ops["src/runtimes/codex-api.js"]["from"] == "src/runtimes/chatgpt.js"
    assert ops["src/runtimes/chatgpt.js"] == {"op": "renamed", "to": "src/runtimes/codex-api.js"}
    # Both changes on the new path: the hot fix (line 2) and upstream's (line 20); the old path is gone.
    merged = (project.install / "src/runtimes/codex-api.js").read_text()
    assert "line2 = 'hotfix'" in merged and "line20 = 'upstream'" in merged
    assert not (project.install / "src/runtimes/chatgpt.js").exists()
    # The old file's local content is kept as a recorded backup.
    [backup] = [b for b in project.ledger()["backups"] if b["original"] == "src/runtimes/chatgpt.js"]
    assert (project.install / backup["path"]).read_text() == HOTFIX
    assert "src/runtimes/codex-api.js" in project.ledger()["accepted"]
    _settles(project)


def test_a_conflicting_rename_leaves_trueup_new_on_the_new_path(project):
    _install(project, {"v1": R1, "v2": R2})
    local = RUNTIME.replace("line20 = 20", "line20 = 'mine'")
    (project.install / "src/runtimes/chatgpt.js").write_text(local)
    _upgrade_all(project)
    new = project.install / "src/runtimes/codex-api.js"
    assert new.read_text() == local  # the local file moved to its new name, unmerged
    assert (project.install / "src/runtimes/codex-api.js.trueup-new").read_text() == R2["src/runtimes/codex-api.js"]
    assert not (project.install / "src/runtimes/chatgpt.js").exists()
    assert project.kinds() == {("local-patch", "merge-conflict", "src/runtimes/codex-api.js")}
    document = project.plan()
    take_new = next(a for a in document["actions"] if a["details"].get("resolution") == "take-new")
    code, out, err = project.apply_ids(document, take_new["id"])
    assert code == 0, out + err
    assert new.read_text() == R2["src/runtimes/codex-api.js"]
    _settles(project)


@pytest.mark.parametrize("resolution", ["accept-local", "restore-source"])
def test_an_edit_the_source_removed_stays_visible_until_decided(project, resolution):
    _install(project, {"v1": R1, "v2": R2})
    (project.install / "docs/old.md").write_text("old docs, annotated\n")
    upgrade, _ = _upgrade_all(project)
    assert upgrade["details"]["files"]["docs/old.md"]["op"] == "keep"
    assert project.kinds() == {("local-patch", "orphaned-patch", "docs/old.md")}
    code, _, _ = project.run("plan", "--detailed-exitcode")
    assert code == 2
    document = project.plan()
    [recommended] = [a for a in document["actions"] if a["recommended"]]
    assert recommended["type"] == "accept-local"
    action = project.action(document, resolution, "docs/old.md")
    code, out, err = project.apply_ids(document, action["id"])
    assert code == 0, out + err
    _settles(project)
    old = project.install / "docs/old.md"
    if resolution == "accept-local":
        assert old.read_text() == "old docs, annotated\n"
    else:
        assert not old.exists()
        [backup] = [b for b in project.ledger()["backups"] if b["original"] == "docs/old.md"]
        assert (project.install / backup["path"]).read_text() == "old docs, annotated\n"


def _group_writable(root):
    """As if the tree had been extracted under umask 002: every file g+w (0664, 0775)."""
    for dirpath, _, names in os.walk(root):
        if ".trueup" in dirpath.split(os.sep):
            continue
        for name in names:
            path = os.path.join(dirpath, name)
            os.chmod(path, os.lstat(path).st_mode | stat.S_IWGRP)


def _modes(root) -> dict[str, str]:
    return {os.path.relpath(os.path.join(d, n), root): f"{stat.S_IMODE(os.lstat(os.path.join(d, n)).st_mode):04o}"
            for d, _, names in os.walk(root) if ".trueup" not in d.split(os.sep) for n in names}


def test_umask_002_install_has_no_mode_noise_and_upgrades_keep_its_modes(installed):
    _group_writable(installed.install)
    assert installed.kinds() == set()  # 0664 vs 0644: only the executable bit is compared
    index = installed.install / "server/index.js"
    index.write_text(index.read_text().replace("const a = 1;", "const a = 100;"))
    _upgrade_all(installed)
    assert "const a = 100;" in index.read_text() and "const c = 30;" in index.read_text()  # merged
    modes = _modes(installed.install)
    assert modes["server/index.js"] == "0664"  # merged files keep their bits too
    assert modes["package.json"] == "0664" and modes["bin/run"] == "0775"
    # Only the real edit is saved before its merge: no backup of a file whose bits alone differ.
    assert {p.split(".trueup-local-")[0] for p in modes if ".trueup-local-" in p} == {"server/index.js"}
    _converge(installed)


def test_an_import_of_a_umask_002_tree_accepts_only_real_edits(project):
    project.source({"v1": V1, "v2": V2})
    project.manifest(ref="v1")
    from tests.helpers import build_tree

    build_tree(project.install, {**V1, "server/util.js": "module.exports = {patched: true};\n"})
    (project.install / "AGENTS.md").write_text("Agent is the agent.\n")
    _group_writable(project.install)
    document = project.plan()
    code, out, err = project.apply_ids(document, project.action(document, "import")["id"])
    assert code == 0, out + err
    assert set(project.ledger()["accepted"]) == {"server/util.js"}
    assert not {k for k in project.kinds() if k[0] in ("file", "local-patch")}


def test_modes_exact_compares_every_permission_bit(installed):
    installed.manifest(ref="v1", install={"modes": "exact"})
    os.chmod(installed.install / "package.json", 0o664)
    [item] = [d for d in installed.plan()["components"][0]["drift"] if d["path"] == "package.json"]
    assert (item["kind"], item["expected"]["mode"], item["actual"]["mode"]) == ("mode-changed", "0644", "0664")
    _converge(installed)
    assert _modes(installed.install)["package.json"] == "0644"


def test_an_upgrade_writes_no_backup_equal_to_a_source_version(installed):
    # The operator applied upstream's fix by hand: the live file is v2's bytes. And one file only changed mode
    # bits git does not compare. Neither is a local edit worth a backup.
    (installed.install / "server/index.js").write_text(V2["server/index.js"])
    os.chmod(installed.install / "CLAUDE.md", 0o664)
    _upgrade_all(installed)
    assert [b for b in installed.ledger()["backups"] if ".trueup-local-" in b["path"]] == []
    assert not [p for p in _modes(installed.install) if ".trueup-local-" in p]
    assert (installed.install / "server/index.js").read_text() == V2["server/index.js"]
    _settles(installed)
