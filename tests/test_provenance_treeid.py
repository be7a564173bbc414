"""The install's git tree id computed in Python equals git's own, exec bits and symlinks included."""

from __future__ import annotations

import os
import subprocess

from tests.provenance_keys import git
from trueup.provenance.binding import bind, walk
from trueup.provenance.check import source_entries
from trueup.git_ids import blob_id, tree_id


def _checkout(tmp_path):
    """A repo whose names sort the way only git sorts them (a directory sorts as 'name/'), with modes and a link."""
    work = tmp_path / "work"
    work.mkdir()
    for rel, data in {"a.b": "1", "a/x": "2", "a-b": "3", "a0": "4", "deep/er/still/f.txt": "5",
                      "ünïcode.md": "6", "bin/run": "#!/bin/sh\n"}.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data)
    os.chmod(work / "bin/run", 0o750)
    os.symlink("a/x", work / "link")
    git(work, "init", "-q")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "tree")
    return work


def test_tree_id_is_gits(tmp_path):
    work = _checkout(tmp_path)
    entries, _ = walk(work, lambda rel: rel == ".git/")
    assert entries["bin/run"][0] == "100755" and entries["link"][0] == "120000"
    assert entries["a.b"][1] == git(work, "hash-object", "a.b")
    assert tree_id(entries) == git(work, "rev-parse", "HEAD^{tree}") == git(work, "write-tree")


def test_bind_names_each_difference_and_accounts_for_accepted(tmp_path):
    work = _checkout(tmp_path)
    source = source_entries(work, "HEAD")
    skip = lambda rel: rel == ".git/"  # noqa: E731
    (work / "a.b").write_text("edited")
    (work / "a0").chmod(0o755)
    (work / "new").write_text("added")
    (work / "a-b").unlink()
    live, facts = walk(work, skip, wanted={"a.b", "a0", "new", "a-b"})
    binding = bind(source, live, facts, {}, skip)
    assert binding.differing == {"a.b": "modified", "a0": "mode-changed", "new": "not-in-source", "a-b": "absent"}
    accepted = {p: {"fact": facts[p].to_json()} for p in ("a.b", "a0", "new")}
    accepted["a-b"] = {"fact": {"type": "absent"}}
    binding = bind(source, live, facts, accepted, skip)
    assert binding.bound and binding.install_tree == git(work, "rev-parse", "HEAD^{tree}")
    assert binding.accepted == ("a-b", "a.b", "a0", "new")
    # an accepted patch edited again is a difference again
    (work / "a.b").write_text("edited twice")
    live, facts = walk(work, skip, wanted=accepted)
    assert bind(source, live, facts, accepted, skip).differing == {"a.b": "modified"}


def test_blob_id_is_gits(tmp_path):
    data = b"\x00binary\xff" * 1000
    (tmp_path / "f").write_bytes(data)
    out = subprocess.run(["git", "hash-object", str(tmp_path / "f")], capture_output=True, text=True, check=True)
    assert blob_id(data) == out.stdout.strip()
