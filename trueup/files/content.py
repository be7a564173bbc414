"""Content diffs for review: what an action would change in each file it touches, bounded and secret-safe.

A diff is one of these plain JSON values, keyed by path in ``details.diff`` of an action:

- ``{"text": <unified diff>, "truncated": bool}`` — text files (cut at ``MAX_LINES`` lines / ``MAX_BYTES``);
- ``{"binary": true, "before": {"size", "sha256"} | null, "after": ...}`` — content that is not UTF-8 text;
- ``{"secret": true}`` — a secret path: never read, never diffed, only "changed";
- ``{"note": "..."}`` — no content to show (a regenerated output, a mode change, a link);
- ``{"omitted": "plan-budget"}`` — the plan's diff budget was spent: ``trueup diff`` shows it.

Both sides come from facts the plan records (the installed commit, the desired commit, the live bytes hashed
into the preconditions), so a diff is reproducible from the plan. Diffs are made only for drift items and only
while the plan's budget lasts; a fresh install gets none (every file is new).
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import stat
from pathlib import Path
from typing import Any


from trueup.files.globs import spec_matcher
from trueup.model.plan import Action, ActionType

MAX_LINES = 200  # per file
MAX_BYTES = 16 * 1024  # per file
PLAN_BUDGET = 256 * 1024  # diff text per plan; beyond it a diff is "omitted"
READ_LIMIT = 4 * 1024 * 1024  # a file larger than this is described, not read whole
OMITTED = {"omitted": "plan-budget"}  # short: at 60k drift items every byte here is repeated 120k times


class Budget:
    """The diff text a plan may still carry; spent in a fixed order (components, then actions, then paths)."""

    def __init__(self, total: int = PLAN_BUDGET) -> None:
        self.left = total

    def take(self, diff: dict[str, Any]) -> dict[str, Any]:
        size = max(len(diff.get("text", "")), 64)  # every file read costs: a binary file is not free
        if size > self.left:
            self.left = 0
            return dict(OMITTED)
        self.left -= size
        return diff


def _blob_info(data: bytes | None) -> dict[str, Any] | None:
    return None if data is None else {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _text(data: bytes | None) -> list[str] | None:
    if data is None:
        return []
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def unified(before: bytes | None, after: bytes | None, path: str, *, old: str = "a", new: str = "b",
            bounded: bool = True) -> dict[str, Any]:
    """The unified diff of two versions of ``path`` (None: absent), bounded; binary content by size and sha256."""
    a, b = _text(before), _text(after)
    if a is None or b is None:
        return {"binary": True, "before": _blob_info(before), "after": _blob_info(after)}
    lines = list(difflib.unified_diff(a, b, f"{old}/{path}" if before is not None else "/dev/null",
                                      f"{new}/{path}" if after is not None else "/dev/null", n=3))
    out, size, truncated = [], 0, False
    for line in lines:
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        if bounded and (len(out) >= MAX_LINES or size + len(line) > MAX_BYTES):
            truncated = True
            break
        out.append(line)
        size += len(line)
    return {"text": "".join(out), "truncated": truncated}


def _real_dirs(base: str, head: str, known: dict[str, bool]) -> bool:
    """Whether every directory on ``head`` (below ``base``) is a real directory, not a symlink: one lstat each,
    remembered in ``known`` (a plan's thousands of diffs sit in a few hundred directories)."""
    at = 0
    while True:
        cut = head.find("/", at)
        prefix = head if cut < 0 else head[:cut]
        ok = known.get(prefix)
        if ok is None:
            try:
                ok = stat.S_ISDIR(os.lstat(f"{base}/{prefix}").st_mode)
            except OSError:
                ok = False
            known[prefix] = ok
        if not ok:
            return False
        if cut < 0:
            return True
        at = cut + 1


def read_live(root: Path, rel: str, known: dict[str, bool] | None = None) -> bytes | None:
    """A live path's content as a diff shows it (None: absent); a link as its target, a large file by its size."""
    base = os.fspath(root)
    head = rel.rpartition("/")[0]
    # Never through a symlinked or missing parent: it may lead outside the install.
    if head and not _real_dirs(base, head, {} if known is None else known):
        return None
    path = f"{base}/{rel}"
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return f"symlink to {os.readlink(path)}\n".encode()
    if not stat.S_ISREG(st.st_mode):
        return b"directory\n" if stat.S_ISDIR(st.st_mode) else b"special file\n"
    if st.st_size > READ_LIMIT:
        return f"{st.st_size} bytes (too large to diff)\n".encode()
    try:  # O_NOFOLLOW: a file swapped for a link since the lstat is not followed out of the install
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with open(fd, "rb") as fh:
        return fh.read(READ_LIMIT + 1)


class _Reader:
    """Source and live content for one component's diffs, fetched in one git process per commit."""

    def __init__(self, source, root: Path) -> None:
        self.source, self.root = source, root
        self.wanted: dict[str, set[str]] = {}
        self.blobs: dict[tuple[str, str], bytes | None] = {}
        self.dirs: dict[str, bool] = {}

    def want(self, commit: str | None, path: str) -> None:
        if commit:
            self.wanted.setdefault(commit, set()).add(path)

    def fetch(self) -> None:
        for commit, paths in sorted(self.wanted.items()):
            for path, data in self.source.files_at(commit, sorted(paths)).items():
                self.blobs[(commit, path)] = data

    def at(self, commit: str | None, path: str) -> bytes | None:
        return self.blobs.get((commit, path)) if commit else None

    def live(self, path: str) -> bytes | None:
        return read_live(self.root, path, self.dirs)


def _requests(action: Action, installed: str | None) -> list[tuple[str, str | None, str | None]]:
    """(path, 'from' side, 'to' side) of each diff an action shows; a side is 'live', 'commit:<sha>' or None."""
    details = action.details
    drift = details.get("drift", "")
    path = action.targets[0] if action.targets else None
    if details.get("resolution"):  # a merge conflict: the new version (recorded as installed) against the live file
        to = installed
        return [(path, "live", f"commit:{to}")] if action.type == ActionType.RESTORE_SOURCE else \
            [(path, f"commit:{to}", "live")]
    if action.type == ActionType.UPGRADE:
        if details.get("from") is None or not details["from"].get("commit"):
            return []  # a fresh install: every file is new, listed rather than diffed
        old, new = details["from"]["commit"], details["to"]["commit"]
        out = []
        for p, op in sorted(details["files"].items()):
            sides = {"replace": (f"commit:{old}", f"commit:{new}"), "add": (None, f"commit:{new}"),
                     "remove": (f"commit:{old}", None), "merge": ("live", "merge")}.get(op["op"])
            if sides:
                out.append((p, *sides))
        return out
    if action.type == ActionType.IMPORT and details.get("commit"):  # what import accepts: the matched commit → live
        commit = details["commit"]
        return [(p, None if kind == "not-in-source" else f"commit:{commit}", "live")
                for p, kind in sorted(details.get("accept", {}).items())]
    if drift == "file/untracked" and path and not path.endswith("/") and action.type == ActionType.ACCEPT_LOCAL:
        return [(path, None, "live")]  # what accepting it keeps: the whole new file (a directory is summarised)
    if drift in ("local-patch/modified", "file/missing", "file/type-changed", "file/mode-changed"):
        if action.type == ActionType.ACCEPT_LOCAL:
            return [(path, f"commit:{installed}", "live")]
        if action.type == ActionType.RESTORE_SOURCE:
            return [(path, "live", f"commit:{installed}")]
    return []


def _side(reader: _Reader, side: str | None, path: str) -> bytes | None:
    if side is None:
        return None
    if side == "live":
        return reader.live(path)
    return reader.at(side.split(":", 1)[1], path)


CHUNK = 256  # paths fetched from git at a time: no more is read once the plan's budget is spent


def _commits(action: Action, a: str | None, b: str | None) -> list[str]:
    if b == "merge":
        return [action.details["from"]["commit"], action.details["to"]["commit"]]
    return [side.split(":", 1)[1] for side in (a, b) if side and side.startswith("commit:")]


def diffs(spec, source, snap, actions: list[Action], scratch: Path, budget: Budget) -> list[dict[str, Any]]:
    """Each action's ``details.diff`` (by path; empty where no content changes); reads only the paths those
    actions name, in a fixed order, and stops reading once the plan's budget is spent (the rest says "omitted").
    The planner puts them into the actions it finishes (one copy of each action, not one per step)."""
    if source is None:  # no source to read (hand-built snapshots): the actions stand without content
        return [{} for _ in actions]
    installed = snap.ledger["source"]["commit"] if snap.ledger else None
    secret = spec_matcher(spec.secrets) if spec.secrets else None
    by_path: list[dict[str, Any]] = [{} for _ in actions]
    todo = []  # (action index, path, from side, to side), in action then path order
    for index, action in enumerate(actions):
        if action.component != spec.name or action.target_kind != "file":
            continue
        if action.type == ActionType.REGENERATE:
            by_path[index][action.targets[0]] = {"note": f"regenerated from template {action.details['template']} by "
                                                       f"`{action.details['command']}`"}
        for path, a, b in _requests(action, installed):
            if secret is not None and secret.match_file(path):
                by_path[index][path] = {"secret": True}  # never read
            else:
                todo.append((index, path, a, b))
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start:start + CHUNK]
        if budget.left <= 0:
            for index, path, _, _ in chunk:
                by_path[index][path] = dict(OMITTED)
            continue
        reader = _Reader(source, spec.install_path)
        for index, path, a, b in chunk:
            for commit in _commits(actions[index], a, b):
                reader.want(commit, path)
        reader.fetch()
        for index, path, a, b in chunk:
            by_path[index][path] = _one(reader, actions[index], path, a, b, scratch, budget)
    return by_path


def _one(reader: _Reader, action: Action, path: str, a: str | None, b: str | None, scratch: Path,
         budget: Budget) -> dict[str, Any]:
    if budget.left <= 0:
        return dict(OMITTED)
    if b == "merge":
        return budget.take(_merge(reader, action, path, scratch))
    before, after = _side(reader, a, path), _side(reader, b, path)
    if before == after:
        return {"note": "content unchanged (type or mode only)"}
    old, new = ("installed", "live") if b == "live" else ("live", "source") if a == "live" else ("installed", "new")
    return budget.take(unified(before, after, path, old=old, new=new))


def _merge(reader: _Reader, action: Action, path: str, scratch: Path) -> dict[str, Any]:
    """What the three-way merge will leave against the live file: computed on copies in ``scratch`` (inside the
    state dir's cache, the only place plan may write), never in the install."""
    base = reader.at(action.details["from"]["commit"], path)
    theirs = reader.at(action.details["to"]["commit"], path)
    ours = reader.live(path)
    if base is None or theirs is None or ours is None or _text(ours) is None or _text(theirs) is None:
        return unified(ours, theirs, path, old="live", new="new") | {"conflict": True}
    try:
        merged, clean = reader.source.merge_file(ours, base, theirs, scratch)
    finally:  # by full path: the plan's write guard checks each path (rmtree's fd-relative calls carry names only)
        for name in ("ours", "base", "theirs"):
            (scratch / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            scratch.rmdir()
    # Conflict markers name the scratch copies: name the sides instead, so the plan does not depend on where it ran.
    for name, label in (("ours", "live"), ("base", "installed"), ("theirs", "new")):
        merged = merged.replace(os.fsencode(scratch / name), label.encode())
    return unified(ours, merged, path, old="live", new="merged") | ({} if clean else {"conflict": True})


def _selected(path: str, wanted: list[str]) -> bool:
    return not wanted or any(path == w.rstrip("/") or path.startswith(w.rstrip("/") + "/") for w in wanted)


def component_diff(spec, ctx, paths: list[str], desired: bool) -> list[tuple[str, dict[str, Any]]]:
    """``trueup diff``: each path whose live content differs from the installed version (``desired``: from the
    source ref), as (path, diff) in path order, unbounded; secrets only as changed. Reads, writes nothing."""
    from trueup import files
    from trueup.model.plan import DriftClass

    snap, basis = files.observe(spec, ctx)
    if snap.ledger is None:
        return []
    commit = basis.commit if desired else snap.ledger["source"]["commit"]
    candidates = {d.path for d in files.diff(spec, snap) if d.is_drift and d.path
                  and d.cls in (DriftClass.LOCAL_PATCH, DriftClass.FILE) and d.kind != "untracked"}
    if desired:
        candidates |= set(snap.desired) | set(snap.removed)
    chosen = sorted(p for p in candidates if _selected(p, paths))
    secret = spec_matcher(spec.secrets) if spec.secrets else None
    at = basis.source.files_at(commit, [p for p in chosen if not (secret and secret.match_file(p))])
    out = []
    for path in chosen:
        if secret is not None and secret.match_file(path):
            out.append((path, {"secret": True}))
            continue
        before, after = at.get(path), read_live(spec.install_path, path)
        if before != after:
            out.append((path, unified(before, after, path, old="desired" if desired else "installed", new="live",
                                      bounded=False)))
    return out
