"""One walk of an install directory: every path's fact, with ignored paths pruned and secrets unhashed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pathspec
from attrs import frozen

from trueup.planner.facts import FileFact, fact_from_stat

LEDGER_DIR = ".trueup"


@frozen
class TreeSnapshot:
    """Facts of every file and symlink below a root, keyed by POSIX path relative to it."""

    files: dict[str, FileFact]
    secrets: dict[str, FileFact]


def _walk(root: Path, ignore: pathspec.PathSpec) -> Iterator[tuple[str, os.DirEntry]]:
    # One scandir per directory and the DirEntry's cached lstat: no second stat per file.
    stack = [("", str(root))]
    while stack:
        prefix, directory = stack.pop()
        with os.scandir(directory) as it:
            for entry in it:
                rel = prefix + entry.name
                if not prefix and entry.name == LEDGER_DIR:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if not ignore.match_file(rel + "/"):
                        stack.append((rel + "/", entry.path))
                    continue
                if ignore.match_file(rel):
                    continue
                yield rel, entry


def observe_tree(root: Path, *, ignore: pathspec.PathSpec, secrets: pathspec.PathSpec,
                 cache_dir: Path | None = None) -> TreeSnapshot:
    files: dict[str, FileFact] = {}
    secret_facts: dict[str, FileFact] = {}
    for rel, entry in _walk(root, ignore):
        st = entry.stat(follow_symlinks=False)
        if secrets.match_file(rel):
            # Existence and mode only: a secret's content is never read, not even to hash it.
            secret_facts[rel] = fact_from_stat(Path(entry.path), st, with_hash=False)
        else:
            files[rel] = fact_from_stat(Path(entry.path), st)
    return TreeSnapshot(files=dict(sorted(files.items())), secrets=dict(sorted(secret_facts.items())))
