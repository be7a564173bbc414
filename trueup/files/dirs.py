"""A directory as one drift item (a new untracked directory, a backup set): its summary fact, and a walk of it.

Plan summarises a directory from the facts its walk already has; apply (and show) re-observe it with
``observe_dir`` and compare the two summaries, so an action on a directory acts only on what the plan saw.
The summary is ``{type: dir, files: N, bytes: B, sha256: D}``; D hashes every entry's path and fact, so any
file added, removed, renamed or changed below the directory changes it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from trueup.files.patterns import Matcher
from trueup.files.probe import fact_from_stat
from trueup.model.facts import FileFact

# A secret's content is never read: below a directory it changes the summary without being hashed.
_SECRET = FileFact("secret")


def parents(path: str) -> Iterator[str]:
    """Every directory above ``path`` ('a/', 'a/b/'; not the root): a trailing '/' names the directory itself."""
    parts = path.rstrip("/").split("/")
    for i in range(1, len(parts)):
        yield "/".join(parts[:i]) + "/"


class Holding:
    """The directories ('a/', 'a/b/'; never the root) with a ledger path at or below them, from the directories that
    hold one directly: as counts, so trueup watch updates it for a few directories without going over them all."""

    __slots__ = ("_below",)

    def __init__(self, below: dict[str, int]) -> None:
        self._below = below  # directory → how many directly-holding directories are it or below it

    @classmethod
    def of(cls, occupied: Iterable[str]) -> Holding:
        return cls({}).changed(occupied, (), copy=False)

    def __contains__(self, directory: str) -> bool:
        return directory in self._below

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Holding) and other._below == self._below

    __hash__ = None  # type: ignore[assignment]  # mutable counts inside: never a key

    def changed(self, gained: Iterable[str], lost: Iterable[str], *, copy: bool = True) -> Holding:
        """This view with ``gained`` directories now holding a ledger path directly and ``lost`` no longer."""
        below = dict(self._below) if copy else self._below
        get = below.get
        for step, dirs in ((1, gained), (-1, lost)):
            for d in dirs:
                # d itself and every directory above it ('a/', 'a/b/' for 'a/b/'): one slice per '/', no split/join
                at = d.find("/")
                while at != -1:
                    p = d[:at + 1]
                    n = get(p, 0) + step
                    if n:
                        below[p] = n
                    else:
                        del below[p]
                    at = d.find("/", at + 1)
        return self if below is self._below else Holding(below)


def summary(entries: Iterable[tuple[str, FileFact, int]]) -> dict[str, Any]:
    """The summary fact of a directory from (path, fact, size) of each entry below it (any order)."""
    digest = hashlib.sha256()
    files = size = 0
    for rel, fact, nbytes in sorted(entries, key=lambda e: e[0]):
        line = f"{rel}\0{fact.type}\0{fact.mode or ''}\0{fact.sha256 or ''}\n"
        digest.update(line.encode("utf-8", "surrogateescape"))
        files += 1
        size += nbytes
    return {"type": "dir", "files": files, "bytes": size, "sha256": digest.hexdigest()}


def walk(root: Path, rel_dir: str, ignore: Matcher, secrets: Matcher,
         with_hash: bool = True) -> Iterator[tuple[str, FileFact, int]]:
    """(path, fact, size) of every entry below ``root/rel_dir`` (``rel_dir`` ends in '/') as the plan's walk sees
    it: ignored paths left out, symlinks never followed, secrets never read."""
    stack = [rel_dir]
    while stack:
        prefix = stack.pop()
        try:
            with os.scandir(root / prefix) as it:
                entries = list(it)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for de in entries:
            rel = prefix + de.name
            if de.is_dir(follow_symlinks=False):
                if not ignore(rel + "/"):
                    stack.append(rel + "/")
                continue
            if ignore(rel):
                continue
            try:
                st = de.stat(follow_symlinks=False)
                fact = _SECRET if secrets(rel) else fact_from_stat(Path(de.path), st, with_hash=with_hash)
            except FileNotFoundError:
                continue
            yield rel, fact, st.st_size


def observe_dir(root: Path, rel_dir: str, ignore: Matcher, secrets: Matcher) -> dict[str, Any]:
    """The summary of ``root/rel_dir`` now; ``{type: absent}`` when it is not a directory."""
    if not (root / rel_dir).is_dir() or (root / rel_dir.rstrip("/")).is_symlink():
        return {"type": "absent"}
    return summary(walk(root, rel_dir, ignore, secrets))


def describe(fact: dict[str, Any]) -> str:
    """``N files, B bytes`` of a summary."""
    files, size = fact.get("files", 0), fact.get("bytes", 0)
    return f"{files} file{'s' if files != 1 else ''}, {_size(size)}"


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.0f} {unit}" if n >= 10 else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)
