"""Hypothesis properties over random operator activity in a real install.

(a) convergence: after any random edits, creations, deletions and mode changes,
    plan → apply --approve-all → plan shows no drift.
(b) nothing lost: whatever actions are approved (upgrade included), apply never overwrites or deletes a
    byte of operator content without saving it as a recorded backup or recording it as accepted — also when
    the operator replaced files with symlinks or directories, and never writing through such a link.
(c), (d) the same two from an install whose last upgrade conflicted (server/index.js kept, the new version beside
    it as server/index.js.trueup-new) and whose source's version files disagree (a warning, never drift): any
    resolution of the conflict converges and loses nothing.
(e) convergence across an upgrade that renames an edited file and flips an executable bit, from random edits and
    mode changes (0664/0775 included): two rounds of approve --all + apply end with no drift.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import V1, V2
from tests.helpers import Project, installed_project

TRACKED = sorted(V1) + ["AGENTS.md"]
NEW = ["notes.txt", "server/extra.js", "x.bak", "server/index.js.orig", "data/cache.db", ".env", "docs/new/deep.md"]
PATHS = TRACKED + NEW

contents = st.binary(min_size=0, max_size=64) | st.sampled_from([b"", b"const c = 4;\n", b"Claude\n"])
edits = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(PATHS), contents),
    st.tuples(st.just("append"), st.sampled_from(TRACKED), contents),
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("chmod"), st.sampled_from(PATHS), st.sampled_from([0o600, 0o644, 0o755])),
)
operations = st.lists(edits, max_size=8)
# Type changes: a path replaced by a symlink (inside the install, out of it, dangling, to a directory) or by a
# directory holding a file of the operator's.
LINK_TARGETS = ["package.json", "../../outside.txt", "nowhere", "server", "/"]
type_changes = st.one_of(
    st.tuples(st.just("symlink"), st.sampled_from(PATHS), st.sampled_from(LINK_TARGETS)),
    st.tuples(st.just("mkdir"), st.sampled_from(PATHS), contents),
)
operations_with_type_changes = st.lists(edits | type_changes, max_size=8)
OUTSIDE = b"not trueup's: beside the install, reachable through ../../outside.txt\n"


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """One installed workspace; every example works on a fresh copy of it."""
    root = tmp_path_factory.mktemp("property-template")
    installed_project(root)
    return root


def fresh(template: Path) -> Project:
    root = Path(tempfile.mkdtemp(prefix="trueup-prop-"))
    shutil.rmtree(root)
    shutil.copytree(template, root, symlinks=True)
    (root / "outside.txt").write_bytes(OUTSIDE)
    return Project(root)


def is_regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def clear(path: Path) -> None:
    """Remove whatever is at ``path`` (file, symlink or directory), as an operator replacing it would."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def act(install: Path, ops) -> None:
    # Never through a symlink: the operator edits what is in the install, not what a link points at.
    for op, rel, arg in ops:
        path = install / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if op == "write":
            if not is_regular(path):
                clear(path)
            path.write_bytes(arg)
        elif op == "append" and is_regular(path):
            with open(path, "ab") as fh:
                fh.write(arg)
        elif op == "delete":
            clear(path)
        elif op == "chmod" and is_regular(path):
            os.chmod(path, arg)
        elif op == "symlink":
            clear(path)
            os.symlink(arg, path)
        elif op == "mkdir":
            clear(path)
            path.mkdir()
            (path / "inner.txt").write_bytes(arg)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def content_at(path: Path) -> tuple[str, str] | None:
    """("file", sha256) of a regular file, ("symlink", target) of a link; None for anything else."""
    if path.is_symlink():
        return ("symlink", os.readlink(path))
    if path.is_file():
        return ("file", sha(path))
    return None


def operator_content(project: Project) -> dict[str, tuple[str, str]]:
    """Every file or symlink that differs from what trueup last installed or generated (untracked ones included).

    Files inside a directory that replaced a file are operator content too; os.walk reaches them.
    """
    ledger = project.ledger()
    generated = {p: g["output_sha256"] for p, g in ledger["generated"].items()}
    out = {}
    for dirpath, dirnames, files in os.walk(project.install):  # symlinked directories are listed, not entered
        for name in files + dirnames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(project.install))
            content = content_at(path)
            if rel == ".trueup" or rel.startswith(".trueup/") or content is None:
                continue
            record = ledger["files"].get(rel, {})
            if rel.endswith(".trueup-new") and content[0] == "file":
                # An upgrade's new version beside a conflicted file: the source's bytes while it holds exactly the
                # version the ledger records for that file.
                record = {"sha256": ledger["files"].get(rel[: -len(".trueup-new")], {}).get("sha256")}
            if content[0] == "symlink":
                installed = record.get("type") == "symlink" and record.get("sha256") == sha256_text(content[1])
            else:
                installed = content[1] in (record.get("sha256"), generated.get(rel)) and record.get("type") != "symlink"
            if not installed:
                out[rel] = content
    return out


def sha256_text(text: str) -> str:
    return hashlib.sha256(os.fsencode(text)).hexdigest()


def preserved(project: Project, rel: str, content: tuple[str, str]) -> bool:
    """Still in place (same bytes, same link target), or saved in a backup the ledger records: a backup of the
    path itself, or of a directory it was inside (a directory or link is moved away whole)."""
    if content_at(project.install / rel) == content:
        return True
    for record in project.ledger()["backups"]:
        original = record.get("original")
        if original == rel:
            if content[0] == "file" and record.get("sha256") != content[1]:
                continue  # a backup of some other content of this path
            saved = record["path"]
        elif original and rel.startswith(original + "/"):
            saved = record["path"] + rel[len(original):]
        else:
            continue
        if content_at(project.install / saved) == content:
            return True
    return False


def approve_all_round(project) -> dict:
    """plan -o, apply --approve-all, plan again: the after-plan, which must hold no drift and no action."""
    plan_file = project.root / "plan.json"
    assert project.run("plan", "-o", str(plan_file))[0] == 0
    code, _, err = project.run("apply", str(plan_file), "--approve-all")
    assert code == 0, err
    after = project.plan()
    assert after["summary"]["drift"] == 0, json.dumps(after["components"], indent=1)
    assert after["actions"] == []  # idempotent: a second round finds nothing to do
    return after


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(ops=operations)
def test_approve_all_converges_to_no_drift(template, ops):
    project = fresh(template)
    try:
        act(project.install, ops)
        approve_all_round(project)
    finally:
        shutil.rmtree(project.root, ignore_errors=True)


@SETTINGS
@given(ops=operations_with_type_changes, upgrade=st.booleans(), data=st.data())
def test_apply_never_loses_operator_content(template, ops, upgrade, data):
    project = fresh(template)
    try:
        act(project.install, ops)
        if upgrade:
            project.manifest(ref="v2")
        before = operator_content(project)
        document = project.plan()
        chosen = {}
        for action in document["actions"]:
            if action["type"] != "cleanup-backups":  # deleting debris is that action's whole point
                chosen.setdefault(action["group"], []).append(action["id"])
        approve = [data.draw(st.sampled_from(sorted(ids)), label=group) for group, ids in sorted(chosen.items())]
        code, out, err = project.apply_ids(document, *approve)
        # Some combinations cannot be carried out (regenerating from a template whose absence was accepted);
        # apply then stops with one clear line, and still must not have lost anything.
        assert code == 0 or (code == 1 and err.startswith("trueup: error: ") and err.count("\n") == 1), err
        lost = {rel: d for rel, d in before.items() if not preserved(project, rel, d)}
        assert not lost, f"operator content lost: {lost}\n{out}"
        assert (project.root / "outside.txt").read_bytes() == OUTSIDE, "apply wrote through a symlink"
    finally:
        shutil.rmtree(project.root, ignore_errors=True)


# (c), (d): from a conflicted install. v2 declares two versions (package.json 2.0.0, VERSION 2.1.0): a warning.
LOCAL = b"const a = 1;\nconst b = 2;\nconst c = 4;\nconsole.log(a + b + c);\n"  # v2 changes the same line
BESIDE = "server/index.js.trueup-new"
CONFLICT_PATHS = PATHS + [BESIDE]
conflict_operations = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.sampled_from(CONFLICT_PATHS), contents),
        st.tuples(st.just("append"), st.sampled_from(TRACKED + [BESIDE]), contents),
        st.tuples(st.just("delete"), st.sampled_from(CONFLICT_PATHS), st.none()),
        st.tuples(st.just("chmod"), st.sampled_from(CONFLICT_PATHS), st.sampled_from([0o600, 0o644, 0o755])),
    ) | type_changes,
    max_size=6,
)
CONFLICT_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def conflicted_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("property-conflicted")
    project = Project(root)
    project.source({"v1": V1, "v2": {**V2, "VERSION": "2.1.0\n"}})
    project.manifest(ref="v1")
    for ref in ("v1", "v2"):
        if ref == "v2":
            (project.install / "server/index.js").write_bytes(LOCAL)
            project.manifest(ref="v2")
        plan_file = str(root / f"{ref}.json")
        assert project.run("plan", "-o", plan_file)[0] == 0
        assert project.run("apply", plan_file, "--approve-all")[0] == 0
    document = project.plan()
    assert project.kinds(document) == {("local-patch", "merge-conflict", "server/index.js")}
    assert [w["kind"] for w in document["components"][0]["warnings"]] == ["version-disagreement"]
    return root


@CONFLICT_SETTINGS
@given(ops=conflict_operations)
def test_conflicts_converge_with_approve_all(conflicted_template, ops):
    project = fresh(conflicted_template)
    try:
        act(project.install, ops)
        after = approve_all_round(project)
        assert after["summary"]["warnings"] == 1  # shown every time, never drift
        assert project.run("plan", "--detailed-exitcode")[0] == 0
        assert project.run("plan", "--detailed-exitcode", "--strict")[0] == 2
    finally:
        shutil.rmtree(project.root, ignore_errors=True)


@CONFLICT_SETTINGS
@given(ops=conflict_operations, data=st.data())
def test_conflict_resolutions_never_lose_operator_content(conflicted_template, ops, data):
    project = fresh(conflicted_template)
    try:
        act(project.install, ops)
        before = operator_content(project)
        document = project.plan()
        chosen = {}
        for action in document["actions"]:
            if action["type"] != "cleanup-backups":
                chosen.setdefault(action["group"], []).append(action["id"])
        approve = [data.draw(st.sampled_from(sorted(ids)), label=group) for group, ids in sorted(chosen.items())]
        code, out, err = project.apply_ids(document, *approve)
        assert code == 0 or (code == 1 and err.startswith("trueup: error: ") and err.count("\n") == 1), err
        lost = {rel: d for rel, d in before.items() if not preserved(project, rel, d)}
        assert not lost, f"operator content lost: {lost}\n{out}"
        assert (project.root / "outside.txt").read_bytes() == OUTSIDE, "apply wrote through a symlink"
    finally:
        shutil.rmtree(project.root, ignore_errors=True)


# (e) convergence across an upgrade that renames a file (server/util.js → server/helpers.js, edited upstream too)
# and flips an executable bit (bin/run), from random edits and mode changes (umask-002 modes included): approve
# --all + apply, at most twice (an orphaned patch or a conflict left by the upgrade is decided in the second
# round), ends with no drift.
UTIL = "".join(f"exports.f{i} = () => {i};\n" for i in range(12))
RENAMING_V1 = {**V1, "server/util.js": UTIL}
RENAMING_V2 = {**{k: v for k, v in V2.items() if k != "server/util.js"},
               "server/helpers.js": UTIL.replace("f11 = () => 11", "f11 = () => 'eleven'"),
               "bin/run": V2["bin/run"][0], "server/new.js": ("#!/usr/bin/env node\n", 0o755)}
rename_operations = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.sampled_from(PATHS), contents),
        st.tuples(st.just("append"), st.sampled_from(TRACKED), contents),
        st.tuples(st.just("delete"), st.sampled_from(PATHS), st.none()),
        st.tuples(st.just("chmod"), st.sampled_from(PATHS), st.sampled_from([0o600, 0o644, 0o664, 0o755, 0o775])),
        st.tuples(st.just("write"), st.just("server/util.js"),
                  st.sampled_from([UTIL.replace("f1 = () => 1", "f1 = () => 'one'").encode(),
                                   UTIL.replace("f11 = () => 11", "f11 = () => 'mine'").encode()])),
    ),
    max_size=8,
)


@pytest.fixture(scope="module")
def renaming_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("property-renaming")
    installed_project(root, {"v1": RENAMING_V1, "v2": RENAMING_V2})
    return root


@CONFLICT_SETTINGS
@given(ops=rename_operations)
def test_upgrades_with_renames_and_mode_changes_converge(renaming_template, ops):
    project = fresh(renaming_template)
    try:
        act(project.install, ops)
        project.manifest(ref="v2")
        for _ in range(2):
            plan_file = project.root / "plan.json"
            assert project.run("plan", "-o", str(plan_file))[0] == 0
            code, out, err = project.run("apply", str(plan_file), "--approve-all")
            assert code == 0, err
        after = project.plan()
        assert after["summary"]["drift"] == 0, json.dumps(after["components"], indent=1)
        assert after["actions"] == []
    finally:
        shutil.rmtree(project.root, ignore_errors=True)


# (f) canonical JSON: the fast indenter writes exactly json.dumps(indent=2, sort_keys=True, ensure_ascii=False).
json_keys = st.text(max_size=8) | st.sampled_from(['a,b', '{"x"}', "[", "]", "\\", '"', ": ", "é", "\u2028", "\x00"])
json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12) | json_keys)
entries = st.builds(lambda mode, digest: _entry(mode, digest), st.sampled_from([0o644, 0o755, 0o600]),
                    st.binary(min_size=32, max_size=32))
json_documents = st.recursive(
    json_scalars | entries,
    lambda children: (st.lists(children, max_size=4) | st.dictionaries(json_keys, children, max_size=4)
                      | st.dictionaries(st.integers(), children, max_size=3)
                      | st.lists(children, max_size=3).map(tuple)),
    max_leaves=30)


def _entry(mode: int, digest: bytes):
    from trueup.state.ledger_entry import Entry

    return Entry(Entry.key(mode, digest))


@settings(max_examples=500, deadline=None)
@given(document=json_documents)
def test_indented_json_is_json_dumps_byte_for_byte(document):
    from trueup.state.canonical import canonical_json, indented_json
    from trueup.state.ledger_entry import json_default

    expected = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False, default=json_default)
    assert indented_json(document, json_default) == expected
    assert canonical_json(document) == expected + "\n"
    # What plan_hash is taken over: the compact form, the same bytes whichever encoder wrote them.
    from trueup.state.canonical import compact_json

    assert compact_json(document, json_default) == json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_default)
