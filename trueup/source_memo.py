"""What trueup watch remembers of its sources' git answers between cycles, so that a cycle in which no source
moved runs no git process (issue 15).

Off in every other process, like trueup.state.resident (a plan runs once: nothing to keep). Two kinds of answer:

- about objects (a commit's tree, a file at a commit, the diff of two commits), asked with full ids: the same
  ids always name the same content, so the answer is kept as long as watch runs, within a memory budget. "No
  file there" is kept only while the commit is known to exist: until then it may just not be fetched yet.
- about refs (which commit a ref names, is it a tag) and about the repository (where its git dir is, does an
  object exist): kept with the identity (inode, size, mtime, ctime) of every file git reads to decide it. For a
  ref that is each loose ref file git's lookup rules try (and what a symbolic ref points to) and packed-refs;
  for an object, the loose object directory it would sit in and the pack directory. Git rewrites a ref file by
  renaming a lock file over it, and adds or deletes an object as a directory entry, so any change shows as a new
  identity; as in trueup/state/resident.py an identity is trusted only once older than the racy slack.

Not remembered: a repository whose object answers can change under the same ids (replace refs, grafts,
alternates) or whose refs are not plain files (reftable); and what git would also read as an object name when
no ref has it (an abbreviated id, `git describe` output) — a new object can make it ambiguous.
"""

from __future__ import annotations

import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from attrs import define, field

from trueup.state import resident
from trueup.state.racy import RACY_SLACK_NS

T = TypeVar("T")
Keys = tuple[tuple[str, tuple[int, ...] | None], ...]  # (path, identity) of the files an answer was read from

OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# A name git looks up as a ref as it is: revision syntax (^ ~ : @{…}) and names git refuses are asked every time.
_REFNAME = re.compile(r"(?!.*(?:\.\.|//|/\.|\.lock/|\.lock$))[A-Za-z0-9_+][A-Za-z0-9_.+/-]*(?<![./])")
# What git reads as an object name when no ref has that name: an abbreviated id, or `git describe` output.
_OBJECTISH = re.compile(r"(?:^|-g)[0-9a-fA-F]{4,}$")
# git's rules for the refs a short name may mean (refs.c ref_rev_parse_rules); every one is keyed, not only the
# first that exists: which one wins has differed between git versions, and a new one may outrank it.
_RULES = ("{}", "refs/{}", "refs/tags/{}", "refs/heads/{}", "refs/remotes/{}", "refs/remotes/{}/HEAD")
_SYMREF_DEPTH = 5  # git's own limit on symbolic refs pointing at symbolic refs
# What may change what an object id reads as (replace refs, grafts, alternates), or keep refs elsewhere (reftable).
_NOT_PLAIN = ("refs/replace", "info/grafts", "objects/info/alternates", "reftable")
BUDGET = 64 << 20  # roughly bytes held by object answers; a 100k-file tree takes about 30 MB


@define
class _Repo:
    """One source repository as watch knows it: where its git dirs are, and its ref and object-existence answers."""

    git_dir: Path
    common: Path
    keys: Keys  # the files its layout was read from
    plain: bool
    kept: dict[tuple[str, str], tuple[Keys, Any]] = field(factory=dict)

    def decisive(self, names: list[str]) -> tuple[Keys, bool]:
        """The identities of the files git reads to look up the refs ``names``, and whether one of them exists."""
        seen: list[tuple[str, tuple[int, ...] | None]] = []
        packed = _snapshot(seen, self.common / "packed-refs")  # stat before reading: a later rewrite is a new identity
        listed = _packed_names(self.common / "packed-refs") if packed else set()
        found = False
        for name in names:
            found = self._has(name, seen, listed, _SYMREF_DEPTH) or found
        return tuple(seen), found

    def _has(self, ref: str, seen: list, listed: set[bytes], depth: int) -> bool:
        for path in dict.fromkeys((self.git_dir / ref, self.common / ref)):  # per-worktree refs live in git_dir
            if _snapshot(seen, path) is None:
                continue
            try:
                data = path.read_bytes().strip()
            except IsADirectoryError:
                continue  # refs/heads/x/ below which branches x/... live: git reads packed-refs for x
            except OSError:
                return False
            if data.startswith(b"ref:") and depth > 0:
                return self._has(data[4:].strip().decode(errors="replace"), seen, listed, depth - 1)
            return OBJECT_ID.fullmatch(data.decode(errors="replace")) is not None  # anything else: a broken ref
        return ref.encode() in listed


_repos: dict[str, _Repo] = {}
_objects: OrderedDict[tuple, tuple[int, Any]] = OrderedDict()
_held = 0  # the cost of what _objects holds


def _snapshot(seen: list, path: Path) -> tuple[int, ...] | None:
    name = os.fspath(path)
    ident = resident.identity(name)  # type: ignore[arg-type]  # os.stat takes a str: no Path built per check
    seen.append((name, ident))
    return ident


def _unchanged(keys: Keys) -> bool:
    return all(resident.identity(path) == ident for path, ident in keys)  # type: ignore[arg-type]


def _settled(keys: Keys) -> bool:
    """Every file old enough that a rewrite in the same clock tick cannot share its identity (state/racy.py)."""
    young = time.time_ns() - RACY_SLACK_NS
    return all(ident is None or max(ident[2], ident[3]) < young for _, ident in keys)


def _packed_names(path: Path) -> set[bytes]:
    try:
        lines = path.read_bytes().splitlines()
    except OSError:
        return set()
    return {line.partition(b" ")[2] for line in lines if line[:1] not in (b"#", b"^")}


def _on() -> bool:
    """Whether watch is running; when it is not, forget everything (a later watch starts afresh)."""
    global _held
    if resident.active():
        return True
    _repos.clear()
    _objects.clear()
    _held = 0
    return False


def _known(repo: Path) -> _Repo | None:
    """The repository's layout, if watch runs, it was read before and nothing it was read from changed since."""
    if not _on():
        return None
    memo = _repos.get(os.path.abspath(repo))
    return memo if memo is not None and memo.plain and _unchanged(memo.keys) else None


def checked(repo: Path, discover: Callable[[], tuple[Path, Path] | None]) -> bool:
    """Whether ``repo`` is known to be a repository, its layout unchanged; else, inside watch, ``discover()`` — which
    raises when it is no repository — gives (git dir, common dir) to remember. False outside watch: ask git."""
    if not _on():
        return False
    name = os.path.abspath(repo)
    memo = _repos.get(name)
    if memo is not None and _unchanged(memo.keys):
        return True
    _repos.pop(name, None)
    dirs = discover()
    if dirs is None:
        return True  # a repository, of a kind not remembered
    git_dir, common = dirs
    seen: list = []
    plain = all([_snapshot(seen, common / p) is None for p in _NOT_PLAIN])  # a list: every one snapshotted
    for path in (common / "config", common / "packed-refs"):  # config: gone or replaced with the repository
        _snapshot(seen, path)
    if (Path(repo) / ".git").is_file():  # a linked worktree: the file that says which git dir is its own
        _snapshot(seen, Path(repo) / ".git")
    plain = plain and not any(n.startswith(b"refs/replace/") for n in _packed_names(common / "packed-refs"))
    if _settled(tuple(seen)):
        _repos[name] = _Repo(git_dir, common, tuple(seen), plain)
    return True


def _kept(repo: Path, key: tuple[str, str], decisive: Callable[[_Repo], tuple[Keys, bool]], ask: Callable[[], T]) -> T:
    memo = _known(repo)
    if memo is None:
        return ask()
    hit = memo.kept.get(key)
    if hit is not None and _unchanged(hit[0]):
        return hit[1]
    keys, keep = decisive(memo)  # before asking: a file changed meanwhile then differs from what is kept
    value = ask()
    if keep and _settled(keys):
        memo.kept[key] = (keys, value)
    return value


def by_ref(repo: Path, kind: str, name: str, ask: Callable[[], T]) -> T:
    """``ask()``, git's answer about the revision ``name``; kept while the ref files that decide it are unchanged."""
    if not _REFNAME.fullmatch(name):
        return ask()

    def decisive(memo: _Repo) -> tuple[Keys, bool]:
        keys, found = memo.decisive([rule.format(name) for rule in _RULES])
        return keys, found or not _OBJECTISH.search(name)  # not found, and no object name: no ref, whatever objects come

    return _kept(repo, (kind, name), decisive, ask)


def has_object(repo: Path, object_id: str, ask: Callable[[], bool]) -> bool:
    """``ask()``, whether the object exists; kept while no object is added or removed where it would be."""
    if not OBJECT_ID.fullmatch(object_id):
        return ask()

    def decisive(memo: _Repo) -> tuple[Keys, bool]:
        seen: list = []
        for path in (memo.common / "objects" / object_id[:2], memo.common / "objects" / "pack"):
            _snapshot(seen, path)
        return tuple(seen), True

    return _kept(repo, ("has", object_id), decisive, ask)


def forget_refs(repo: Path) -> None:
    """A fetch rewrote the repository's refs: ask again (object answers still hold)."""
    _repos.pop(os.path.abspath(repo), None)


def _recall(key: tuple) -> tuple[bool, Any]:
    hit = _objects.get(key)
    if hit is None:
        return False, None
    _objects.move_to_end(key)
    return True, hit[1]


def _remember(key: tuple, value: Any, cost: int) -> None:
    global _held
    if cost > BUDGET:
        return
    _objects[key] = (cost, value)
    _held += cost
    while _held > BUDGET:
        _held -= _objects.popitem(last=False)[1][0]


def by_ids(repo: Path, kind: str, ids: tuple[str, ...], ask: Callable[[], T], cost: Callable[[T], int],
           copy: Callable[[T], T]) -> T:
    """``ask()``, git's answer about the objects ``ids``; kept while watch runs (handed out as ``copy`` of it)."""
    if _known(repo) is None or not all(OBJECT_ID.fullmatch(i) for i in ids):
        return ask()
    key = (os.path.abspath(repo), kind, *ids)
    found, value = _recall(key)
    if not found:
        value = ask()
        _remember(key, value, cost(value))
    return copy(value)


def by_path(repo: Path, kind: str, commit: str, paths: list[str],
            ask: Callable[[list[str]], dict[str, bytes | None]], exists: Callable[[str], bool]) -> dict[str, bytes | None]:
    """``ask(paths)``, the content of each path at ``commit`` (None: no file there), asking only for those not kept."""
    if _known(repo) is None or not OBJECT_ID.fullmatch(commit):
        return ask(paths)
    name = os.path.abspath(repo)
    recalled = {p: _recall((name, kind, commit, p)) for p in paths}
    out = {p: data for p, (found, data) in recalled.items() if found}
    missing = [p for p in paths if p not in out]
    if missing:
        fresh = ask(missing)
        sure = any(data is not None for data in fresh.values()) or exists(commit)  # else: not fetched yet?
        for path, data in fresh.items():
            if data is not None or sure:
                _remember((name, kind, commit, path), data, 100 + len(data or b""))
        out.update(fresh)
    return {p: out[p] for p in paths}
