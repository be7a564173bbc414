"""Adoption on real git histories: import finds the commit an existing install really is (issue 11, case 1)."""

from __future__ import annotations

import json

from tests.conftest import V1, V2
from tests.helpers import build_tree


def _three_tags(project):
    v3 = {**V2, "package.json": '{"name": "app", "version": "3.0.0"}\n', "server/util.js": "module.exports = {v: 3};\n"}
    project.source({"v1": V1, "v2": V2, "v3": v3})
    return v3


def _import(project):
    doc = project.plan()
    imp = project.action(doc, "import")
    code, out, err = project.apply_ids(doc, imp["id"])
    assert code == 0, out + err
    return doc, imp


def test_import_of_an_older_install_imports_at_its_tag_and_the_next_plan_upgrades(project):
    _three_tags(project)
    project.manifest(ref="v3", install={"generated": []})
    build_tree(project.install, {**V1, "server/util.js": "hot fix\n"})  # made from v1, one real edit
    doc, imp = _import(project)

    unmanaged = next(d for d in doc["components"][0]["drift"] if d["kind"] == "unmanaged")
    assert unmanaged["actual"]["ref"] == "v1" and unmanaged["actual"]["version"] == "1.0.0"
    assert unmanaged["actual"]["differences"] == 1 and unmanaged["expected"]["version"] == "3.0.0"
    assert imp["details"]["accept"] == {"server/util.js": "modified"}
    assert imp["reason"].startswith("install matches v1 except 1 file; manifest asks v3")

    ledger = project.ledger()
    assert ledger["version"] == "1.0.0" and ledger["source"]["ref"] == "v1"
    assert set(ledger["accepted"]) == {"server/util.js"}  # only the real edit, not v1→v3's upstream changes

    doc = project.plan()
    outdated = next(d for d in doc["components"][0]["drift"] if d["kind"] == "outdated")
    assert outdated["actual"]["version"] == "1.0.0" and outdated["expected"]["version"] == "3.0.0"
    upgrade = project.action(doc, "upgrade")
    assert upgrade["details"]["files"]["package.json"]["op"] == "replace"


def test_import_of_an_exact_install_finds_its_tree(project):
    _three_tags(project)
    project.manifest(ref="v3", install={"generated": []})
    build_tree(project.install, V2)
    doc, imp = _import(project)
    assert imp["details"]["exact"] is True and imp["details"]["accept"] == {}
    assert imp["reason"].startswith("install matches v2 exactly; manifest asks v3")
    ledger = project.ledger()
    assert ledger["version"] == "2.0.0" and ledger["accepted"] == {}
    assert ledger["provenance"]["status"] == "verified"


def test_import_of_an_install_of_the_manifests_ref_stays_there(project):
    _three_tags(project)
    project.manifest(ref="v2", install={"generated": []})
    build_tree(project.install, {**V2, "notes.txt": "mine\n"})
    doc, imp = _import(project)
    assert imp["details"]["ref"] == "v2" and imp["details"]["accept"] == {"notes.txt": "not-in-source"}
    assert "manifest asks" not in imp["reason"]
    assert project.kinds() == set()


def _commit(work, files, when):
    import os
    import subprocess

    build_tree(work, files)
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", when],
                   check=True, env=env)
    return subprocess.run(["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_import_finds_an_untagged_commit_on_the_refs_history(project):
    import subprocess

    v3 = _three_tags(project)
    work = project.root / "work"
    subprocess.run(["git", "clone", "-q", str(project.repo), str(work)], check=True)
    subprocess.run(["git", "-C", str(work), "checkout", "-q", "v3"], check=True)
    mid = {**v3, "server/new.js": "exports.n = 2;\n"}
    commit = _commit(work, mid, "2024-01-05T00:00:00Z")  # untagged; the install was made from it
    _commit(work, {"server/new.js": "exports.n = 3;\n"}, "2024-01-06T00:00:00Z")
    subprocess.run(["git", "-C", str(work), "push", "-q", str(project.repo), "HEAD:refs/heads/main2"], check=True)
    project.manifest(ref="main2", install={"generated": []})
    build_tree(project.install, mid)
    doc, imp = _import(project)
    assert imp["details"]["commit"] == commit and imp["details"]["accept"] == {} and imp["details"]["exact"]
    assert project.ledger()["source"]["commit"] == commit


def _recruit(version: str, *, renamed: bool, extra: dict | None = None) -> dict:
    """A zylos-recruit-shaped skill at one version."""
    runtime = "src/lib/runtimes/codex-api.js" if renamed else "src/lib/runtimes/chatgpt.js"
    return {
        "package.json": json.dumps({"name": "zylos-recruit", "version": version}) + "\n",
        "SKILL.md": f"---\nname: recruit\nversion: {version}\n---\nRecruit candidates.\n",
        "CHANGELOG.md": "".join(f"- {v}\n" for v in ("0.2.10", "0.2.11", "0.2.18", "0.2.19")
                                if tuple(map(int, v.split("."))) <= tuple(map(int, version.split(".")))),
        "src/index.js": "const runtime = require('./lib/runtime');\nmodule.exports = runtime;\n",
        "src/lib/runtime.js": f"module.exports = require('./runtimes/{runtime.rsplit('/', 1)[1]}');\n",
        runtime: "exports.ask = (q) => q;\n",
        "src/lib/store.js": "exports.save = () => true;\n",
        **(extra or {}),
    }


def test_case_1_install_of_v0_2_10_under_a_manifest_asking_v0_2_19(project):
    """Issue 11 case 1: imported at v0.2.10 (3 real edits), not as 0.2.19 with every upstream change 'accepted'."""
    project.source({
        "v0.2.10": _recruit("0.2.10", renamed=False),
        "v0.2.11": _recruit("0.2.11", renamed=False, extra={"src/lib/jobs.js": "exports.jobs = [];\n"}),
        "v0.2.18": _recruit("0.2.18", renamed=False, extra={"src/lib/jobs.js": "exports.jobs = [1];\n"}),
        "v0.2.19": _recruit("0.2.19", renamed=True, extra={"src/lib/jobs.js": "exports.jobs = [1];\n"}),
    })
    project.manifest(ref="v0.2.19", install={"generated": []})
    edits = {"src/lib/store.js": "exports.save = () => false; // hot fix\n", "notes.md": "ops notes\n"}
    build_tree(project.install, {**_recruit("0.2.10", renamed=False), **edits})
    (project.install / "CHANGELOG.md").unlink()

    doc, imp = _import(project)
    assert imp["reason"].startswith("install matches v0.2.10 except 3 files; manifest asks v0.2.19")
    assert imp["details"]["accept"] == {"CHANGELOG.md": "absent", "notes.md": "not-in-source",
                                        "src/lib/store.js": "modified"}
    assert "+exports.save = () => false; // hot fix" in imp["details"]["diff"]["src/lib/store.js"]["text"]
    ledger = project.ledger()
    assert ledger["version"] == "0.2.10" and set(ledger["accepted"]) == {"CHANGELOG.md", "notes.md", "src/lib/store.js"}
    assert json.loads((project.install / "package.json").read_text())["version"] == "0.2.10"

    doc = project.plan()
    outdated = next(d for d in doc["components"][0]["drift"] if d["kind"] == "outdated")
    assert (outdated["actual"]["version"], outdated["expected"]["version"]) == ("0.2.10", "0.2.19")
    ops = {p: o["op"] for p, o in project.action(doc, "upgrade")["details"]["files"].items()}
    assert ops["package.json"] == "replace" and ops["src/lib/jobs.js"] == "add"
    assert ops["src/lib/runtimes/codex-api.js"] == "add" and "src/lib/store.js" not in ops

    plan_file = project.root / "plan.json"
    assert project.run("plan", "-o", str(plan_file))[0] == 0
    assert project.run("approve", str(plan_file), "--all")[0] == 0
    code, out, err = project.run("apply", str(plan_file))
    assert code == 0, out + err
    assert json.loads((project.install / "package.json").read_text())["version"] == "0.2.19"
    assert (project.install / "src/lib/store.js").read_text() == edits["src/lib/store.js"]
    assert (project.install / "src/lib/runtimes/codex-api.js").exists()
    assert project.ledger()["version"] == "0.2.19"


def test_tree_id_is_gits(tmp_path):
    """The install's tree id is computed as git computes it: nested dirs, 'a.b' before 'a/', modes, links."""
    import os
    import subprocess

    from trueup.files.adoption import live_blobs, tree_id
    from trueup.files.tree import observe_tree
    from trueup.files.globs import spec_matcher

    build_tree(tmp_path, {"a.b": "1\n", "a/c": "2\n", "a-": "3\n", "bin/run": ("#!/bin/sh\n", 0o755),
                          "z/y/x.txt": "deep\n"})
    os.symlink("a/c", tmp_path / "link")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    want = subprocess.run(["git", "-C", str(tmp_path), "write-tree"], capture_output=True, text=True,
                          check=True).stdout.strip()
    facts = {p: f for p, f in observe_tree(tmp_path, ignore=spec_matcher([".git/**", ".git"]),
                                           secrets=spec_matcher([])).files.items() if not p.startswith(".git")}
    assert tree_id(live_blobs(tmp_path, facts)) == want


def _recruit_tags(project):
    tags = {
        "v0.2.10": _recruit("0.2.10", renamed=False),
        "v0.2.11": _recruit("0.2.11", renamed=False, extra={"src/lib/jobs.js": "exports.jobs = [];\n"}),
        "v0.2.19": _recruit("0.2.19", renamed=True, extra={"src/lib/jobs.js": "exports.jobs = [1];\n"}),
    }
    project.source(tags)
    project.manifest(ref="v0.2.19", install={"generated": []})
    return tags


def _hand_upgraded(tags, *also: str) -> dict:
    """v0.2.10 with package.json (and ``also``) hand-copied from v0.2.11, a hot fix, and v0.2.11's new file: on
    the live files alone, v0.2.10 and v0.2.11 are equally close (3 differences each); copying SKILL.md as well
    makes v0.2.11 the closer (2 against 4)."""
    return {**tags["v0.2.10"], **{p: tags["v0.2.11"][p] for p in ("package.json", *also)},
            "src/lib/store.js": "exports.save = () => false; // hot fix\n",
            "src/lib/jobs.js": tags["v0.2.11"]["src/lib/jobs.js"]}


def test_zylos_install_record_decides_which_version_was_installed(project):
    """Issue 11: `.zylos/manifest.json` (Zylos's per-file baseline) is evidence: files still as installed decide the
    match, files edited since count as unknown, so the install is v0.2.10 with three edits, and the plan says why."""
    import hashlib

    tags = _recruit_tags(project)
    baseline = {p: hashlib.sha256((c if isinstance(c, str) else c[0]).encode()).hexdigest()
                for p, c in tags["v0.2.10"].items()}
    build_tree(project.install, {**_hand_upgraded(tags, "SKILL.md"),
                                 ".zylos/manifest.json": json.dumps({"files": baseline, "generated_at": "x"})})
    doc = project.plan()
    imp = project.action(doc, "import")
    assert imp["details"]["ref"] == "v0.2.10", imp["reason"]
    assert imp["details"]["evidence"] == [".zylos/manifest.json records 7 installed files, 3 changed or removed since"]
    assert "(Zylos records: .zylos/manifest.json records 7 installed files" in imp["reason"]
    assert set(imp["details"]["accept"]) == {"package.json", "SKILL.md", "src/lib/store.js", "src/lib/jobs.js",
                                             ".zylos/manifest.json"}


def test_without_a_zylos_record_the_live_files_alone_decide(project):
    tags = _recruit_tags(project)
    build_tree(project.install, _hand_upgraded(tags, "SKILL.md"))
    imp = project.action(project.plan(), "import")
    assert imp["details"]["ref"] == "v0.2.11" and "evidence" not in imp["details"]


def test_zylos_components_json_version_breaks_the_tie(project, monkeypatch):
    tags = _recruit_tags(project)
    build_tree(project.install, _hand_upgraded(tags))
    assert project.action(project.plan(), "import")["details"]["ref"] == "v0.2.10"  # a tie, without the record
    zylos = project.root / "zylos-home"
    (zylos / ".zylos").mkdir(parents=True)
    (zylos / ".zylos" / "components.json").write_text(json.dumps(
        {"recruit": {"version": "0.2.11", "repo": "zz-howard/zylos-recruit", "skillDir": str(project.install)},
         "other": {"version": "9.9.9", "skillDir": str(project.root / "elsewhere")}}))
    monkeypatch.setenv("ZYLOS_DIR", str(zylos))
    imp = project.action(project.plan(), "import")
    assert imp["details"]["ref"] == "v0.2.11", imp["reason"]
    assert imp["details"]["evidence"] == [f"{zylos}/.zylos/components.json records version 0.2.11"]
