"""Unit tests of the pure functions: classification, diff, ids, plan hash."""

from __future__ import annotations

from pathlib import Path

from trueup.files.backups import removed_backups
from trueup.files.generated import diff_generated
from trueup.files.live import LiveTree
from trueup.files.local_patch import diff_tracked
from trueup.files.provenance import diff_provenance
from trueup.files.snapshot import SourceFacts
from trueup.files.source_drift import diff_source, source_warnings
from trueup.files.untracked import diff_untracked
from trueup.manifest import ComponentSpec, Generated
from trueup.model.facts import ABSENT, FileFact, classify_tracked
from trueup.model.ids import action_id
from trueup.model.versions import version_key
from trueup.planner.document import plan_hash

A, B = "a" * 64, "b" * 64


def spec(**kw) -> ComponentSpec:
    base = dict(name="c", repo="r", ref="v1", install_path=Path("/x"), ignore=("data/**",), secrets=(), backups=(),
                generated=(Generated("OUT.md", "T.md", "cp {template} {output}"),), config=(), runtime=None,
                digest="d", origin="trueup.yaml:1")
    base.update(kw)
    return ComponentSpec(**base)


def ledger(**kw) -> dict:
    base = {"files": {}, "accepted": {}, "backups": [], "generated": {}, "source": {"commit": "1" * 40},
            "version": "1", "provenance": {"status": "verified", "verified_by": "x", "repo": "r", "commit": "1" * 40}}
    base.update(kw)
    return base


def f(sha=A, mode="0644", type_="file") -> FileFact:
    return FileFact(type_, mode, sha)


def diff_files(spec, ledger, live):
    return diff_tracked(spec, ledger, live) + diff_untracked(spec, ledger, live) + removed_backups(spec, ledger, live)


def test_classify_tracked():
    assert classify_tracked(f(), f()) is None
    assert classify_tracked(f(), ABSENT) == "missing"
    assert classify_tracked(f(), f(B)) == "modified"
    assert classify_tracked(f(), f(mode="0755")) == "mode-changed"
    assert classify_tracked(f(), FileFact("dir", "0755")) == "type-changed"
    assert classify_tracked(f(), f(B, "0755")) == "modified"  # content wins: the patch is the story


def test_diff_files_classes():
    led = ledger(files={"a": f().to_json(), "b": f().to_json(), "data/x": f().to_json()},
                 accepted={"b": {"fact": f(B).to_json(), "accepted_at": "t"}},
                 backups=[{"path": "a.bak", "original": "a", "reason": "r", "acknowledged": True, "sha256": A}])
    live = {"a": f(B), "b": f(B), "new": f(), "a.bak": f(A), "c.orig": f(), "data/x": f(B)}
    items = {(str(d.cls), d.kind, d.path, d.is_drift) for d in diff_files(spec(), led, LiveTree.of(led["files"], live))}
    assert items == {("local-patch", "modified", "a", True), ("file", "untracked", "new", True),
                     ("backup", "acknowledged", "a.bak", False), ("backup", "unacknowledged", "c.orig", True)}


def test_acknowledged_backup_that_changes_is_drift_again():
    led = ledger(backups=[{"path": "a.bak", "original": "a", "reason": "r", "acknowledged": True, "sha256": A}])
    items = diff_files(spec(), led, LiveTree.of(led["files"], {"a.bak": f(B)}))
    assert [(d.kind, d.is_drift) for d in items] == [("unacknowledged", True)]


def test_diff_generated():
    led = ledger(generated={"OUT.md": {"template": "T.md", "command": "cp {template} {output}",
                                       "template_sha256": A, "output_sha256": B}})
    assert diff_generated(spec(), led, LiveTree.of({}, {"T.md": f(A), "OUT.md": f(B)})) == []
    assert [d.kind for d in diff_generated(spec(), led, LiveTree.of({}, {"T.md": f(B), "OUT.md": f(B)}))] == ["stale"]
    assert [d.kind for d in diff_generated(spec(), led, LiveTree.of({}, {"T.md": f(A), "OUT.md": f(A)}))] == ["edited"]
    assert [d.kind for d in diff_generated(spec(), ledger(), LiveTree.of({}, {"T.md": f(A)}))] == ["missing"]
    changed = spec(generated=(Generated("OUT.md", "T.md", "other"),))
    assert [d.kind for d in diff_generated(changed, led, LiveTree.of({}, {"T.md": f(A), "OUT.md": f(B)}))] == ["stale"]


def test_diff_source():
    facts = SourceFacts("2" * 40, "2", {"package.json": "2", "tag": "v2.0"})
    assert diff_source(None, facts, False)[0].kind == "not-installed"
    assert diff_source(None, facts, True)[0].kind == "unmanaged"
    assert [d.kind for d in diff_source(ledger(), facts, True)] == ["outdated"]
    split = SourceFacts("1" * 40, "2", {"package.json": "2", "VERSION": "3"})
    assert diff_source(ledger(), split, True) == []  # a warning, not drift (source_warnings)
    [warning] = source_warnings("v2", split)
    assert (warning.kind, warning.message) == (
        "version-disagreement", "version files disagree in the source at v2: VERSION=3, package.json=2 (trueup uses 2)")
    unverified = ledger(provenance={"status": "local/unverified", "verified_by": "x", "repo": "r", "commit": None})
    same = SourceFacts("1" * 40, "1", {})
    assert diff_source(unverified, same, True) == []
    assert [(d.kind, d.is_drift) for d in diff_provenance(unverified, same, False)] == [("unverified", False)]
    assert [(d.kind, d.is_drift) for d in diff_provenance(unverified, same, True)] == [("unverified", True)]
    gone = SourceFacts("1" * 40, "1", {}, installed_commit_exists=False)
    assert [(d.kind, d.is_drift) for d in diff_provenance(ledger(), gone, True)] == [("commit-missing", True)]


def test_version_key():
    assert version_key("v1") == version_key("1.0.0") == "1"
    assert version_key("1.2.0") == "1.2" != version_key("1.2.1")
    assert version_key("2.0.0-rc1") == "2.0.0-rc1"


def test_action_id_is_stable_and_order_free():
    assert action_id("c", "accept-local", ["b", "a"]) == action_id("c", "accept-local", ["a", "b"])
    assert action_id("c", "accept-local", ["a"]) != action_id("c", "restore-source", ["a"])
    assert action_id("c", "accept-local", ["a"]) != action_id("d", "accept-local", ["a"])
    assert len(action_id("c", "upgrade", [])) == 12


def test_plan_hash_ignores_meta_and_approvals_only():
    doc = {"format_version": 1, "workspace": "/w", "components": [], "summary": {},
           "actions": [{"id": "1", "approved": False, "targets": ["a"]}], "meta": {"created_at": "x"}}
    h = plan_hash(doc)
    doc["meta"]["created_at"] = "y"
    doc["actions"][0]["approved"] = True
    assert plan_hash(doc) == h
    doc["actions"][0]["targets"] = ["b"]
    assert plan_hash(doc) != h


def test_version_declarations_are_parsed_from_each_file_kind():
    from trueup.source import VERSION_FILES

    assert VERSION_FILES["package.json"](b'{"name": "a", "version": "0.2.9"}') == "0.2.9"
    assert VERSION_FILES["package.json"](b"[1, 2]") is None
    assert VERSION_FILES["pyproject.toml"](b'[project]\nname = "a"\nversion = "3.0"\n') == "3.0"
    assert VERSION_FILES["pyproject.toml"](b"not = [toml") is None
    assert VERSION_FILES["SKILL.md"](b'---\nname: x\nversion: "1.2.3"\n---\n# body\nversion: 9\n') == "1.2.3"
    assert VERSION_FILES["SKILL.md"](b"# no front matter\nversion: 9\n") is None
    assert VERSION_FILES["VERSION"](b" 4.1\n") == "4.1" and VERSION_FILES["VERSION"](b"\n") is None
    assert list(VERSION_FILES) == ["package.json", "pyproject.toml", "SKILL.md", "VERSION"]  # precedence


def test_merge_copies_of_the_operators_file_are_private(tmp_path, monkeypatch):
    """The merge preview's copies hold live content: 0700 directory, 0600 files, whatever the umask."""
    import os
    import stat as st

    from trueup.source import Source

    os.umask(0o000)
    try:
        scratch = tmp_path / "cache" / "trueup-diff-merge-1"
        merged, clean = Source(tmp_path).merge_file(b"a\nb-live\n", b"a\nb\n", b"a\nb\n", scratch)
    finally:
        os.umask(0o022)
    assert clean and merged == b"a\nb-live\n"
    assert st.S_IMODE(scratch.stat().st_mode) == 0o700
    assert {st.S_IMODE((scratch / n).stat().st_mode) for n in ("ours", "base", "theirs")} == {0o600}
