"""Bind an install's bytes to a commit's tree: git's tree id of the install directory, with the paths trueup
never compares left out and the operator's accepted patches accounted for (and listed).

The walk reads every compared file once and hashes it as git would (a blob id); nothing is cached, so a rewrite
that kept size and mtime is caught too. Left out on both sides: ignored paths, secrets (never read), backups,
generated outputs and trueup's own ``.trueup/`` directory.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Container
from pathlib import Path
from typing import Any

from attrs import frozen

from trueup.model.facts import FileFact, format_mode
from trueup.git_ids import EXECUTABLE, FILE, SYMLINK, blob_id, tree_id

Entries = dict[str, tuple[str, str]]  # path → (git mode, blob id)
OTHER = "other"  # the mode of what git cannot hold


@frozen
class Binding:
    """The install against the commit: equal tree ids, or the paths that differ (each with how)."""

    tree: str  # the tree id of the commit's compared entries (the commit's own root tree when nothing is left out)
    install_tree: str  # the same, computed from the install directory
    differing: dict[str, str]  # path → modified | absent | not-in-source | mode-changed | type-changed
    accepted: tuple[str, ...]  # accepted patches that were accounted for

    @property
    def bound(self) -> bool:
        return not self.differing


def skip_rule(spec: Any) -> Callable[[str], bool]:
    """Paths provenance never compares: ignored, secrets, backups, generated outputs, trueup's own directory."""
    from trueup.files.globs import spec_matcher
    from trueup.files.patterns import Matcher

    ignore, secrets = Matcher(spec_matcher(spec.ignore)), Matcher(spec_matcher(spec.secrets))
    backups = Matcher(spec_matcher(spec.backup_patterns))
    generated = {g.path for g in spec.generated}
    return lambda rel: (rel in generated or rel == ".trueup/" or rel.startswith(".trueup/")
                        or ignore(rel) or secrets(rel) or backups(rel))


def walk(root: Path, skip: Callable[[str], bool], wanted: Container[str] = ()) -> tuple[Entries, dict[str, FileFact]]:
    """(path → (git mode, blob id), path → fact) of the install's regular files and symlinks, read once each; the
    facts (with sha256, as the ledger records accepted patches) only of the ``wanted`` paths."""
    entries: Entries = {}
    facts: dict[str, FileFact] = {}
    stack = [""]
    while stack:
        base = stack.pop()
        try:
            with os.scandir(os.path.join(root, base) if base else root) as it:
                found = list(it)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in found:
            rel = base + entry.name
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                if not skip(rel + "/"):
                    stack.append(rel + "/")
                continue
            if skip(rel):
                continue
            if stat.S_ISLNK(st.st_mode):
                data = os.fsencode(os.readlink(entry.path))
                mode = SYMLINK
            elif stat.S_ISREG(st.st_mode):
                with open(entry.path, "rb") as fh:
                    data = fh.read()
                mode = EXECUTABLE if st.st_mode & 0o111 else FILE
            else:  # a socket or fifo: git cannot hold it, so it can never be part of the signed tree
                entries[rel] = (OTHER, "0" * 40)
                facts[rel] = FileFact("other")
                continue
            entries[rel] = (mode, blob_id(data))
            if rel in wanted:
                facts[rel] = FileFact("symlink" if mode == SYMLINK else "file",
                                      None if mode == SYMLINK else format_mode(st.st_mode),
                                      hashlib.sha256(data).hexdigest())
    return entries, facts


def install_tree(live: Entries) -> str | None:
    """The install's tree id as git would write it, or None when it holds what git cannot (a fifo, a socket)."""
    if any(mode == OTHER for mode, _ in live.values()):
        return None
    return tree_id(live)


def _how(want: tuple[str, str] | None, have: tuple[str, str] | None) -> str:
    if have is None:
        return "absent"
    if want is None:
        return "not-in-source"
    if want[1] != have[1]:
        return "modified" if (want[0] == SYMLINK) == (have[0] == SYMLINK) else "type-changed"
    return "mode-changed" if want[0] != have[0] else "modified"


def bind(source: Entries, live: Entries, live_facts: dict[str, FileFact], accepted: dict[str, dict[str, Any]],
         skip: Callable[[str], bool], exact_modes: bool = False) -> Binding:
    """Pure: the commit's entries (``source``, unfiltered) against the install's; an accepted patch whose live state
    is still the one accepted counts as the source's entry (listed in ``accepted``), any other difference is named."""
    expected = {p: e for p, e in source.items() if not skip(p)}
    actual = dict(live)
    accounted = []
    for path, record in sorted(accepted.items()):
        if "orphaned" in record:  # kept, not accepted: still the operator's decision to make
            continue
        if path.endswith("/"):  # an accepted untracked directory: what below it the source does not have
            under = [p for p in actual if p.startswith(path) and p not in expected]
            for p in under:
                del actual[p]
            if under:
                accounted.append(path)
            continue
        want = FileFact.from_json(record.get("fact"))
        have = live_facts.get(path, FileFact("absent"))
        if want.matches(have, exact_modes) or (want.type == "absent" and path not in actual):
            actual.pop(path, None)
            if path in expected:
                actual[path] = expected[path]
            if live.get(path) != source.get(path):
                accounted.append(path)
    differing = {p: _how(expected.get(p), actual.get(p))
                 for p in sorted(expected.keys() | actual.keys()) if expected.get(p) != actual.get(p)}
    return Binding(tree_id(expected), tree_id({p: e for p, e in actual.items() if e[0] != OTHER}),
                   differing, tuple(accounted))
