"""`backup` drift (backup files nobody reviewed) and the cleanup-backups action that deletes reviewed ones.

A backup *set* — a directory that is a backup by its own name (``x.trueup-local-1a2b/``, ``old.bak/``), or a
directory inside a backup container (``.backup/<timestamp>/`` under the default ``.backup/**``) — is one item
with one acknowledge (accept-local) and one delete (cleanup-backups) action for the whole set.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from trueup.errors import UnsafePathError
from trueup.files import dirs
from trueup.files.dirs import parents
from trueup.files.patterns import Matcher
from trueup.files.globs import spec_matcher
from trueup.files.live import LiveTree
from trueup.manifest import ComponentSpec
from trueup.model.facts import FileFact
from trueup.model.plan import Action, Drift, DriftClass
from trueup.files.context import FilesContext
from trueup.state import atomic


def records(ledger: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["path"]: b for b in ledger["backups"]}


def backup_drift(path: str, fact: FileFact, record: dict[str, Any] | None) -> Drift:
    """A backup file on disk: information once acknowledged (and unchanged since), drift until then."""
    if record and record["acknowledged"] and record.get("sha256") in (None, fact.sha256):
        return Drift(DriftClass.BACKUP, "acknowledged", path, None, fact.to_json(), is_drift=False)
    return Drift(DriftClass.BACKUP, "unacknowledged", path,
                 {"original": record["original"], "reason": record["reason"]} if record else None, fact.to_json())


def set_root(path: str, is_backup: Matcher, memo: dict[str, Any], direct: set[str]) -> str | None:
    """The backup set ``path`` belongs to ('dir/'), or None for a backup file on its own.

    A backup directory holding files of its own is a set; one holding only directories (``.backup/``, which
    is a backup by ``*.backup`` and by ``.backup/**``) is a container: each directory in it is a set.
    """
    for d in parents(path):
        if d not in memo:
            memo[d] = ("set" if is_backup(d[:-1]) and d in direct else
                       "container" if is_backup(d[:-1]) or is_backup(d) else None)
        if memo[d] == "set":
            return d
        if memo[d] == "container":
            rest = path[len(d):]
            return d + rest.split("/", 1)[0] + "/" if "/" in rest else None
    return None


def set_drift(root: str, summary: dict[str, Any], record: dict[str, Any] | None) -> Drift:
    """A backup set on disk: information once acknowledged (and unchanged since), drift until then."""
    if record and record["acknowledged"] and record.get("sha256") in (None, summary["sha256"]):
        return Drift(DriftClass.BACKUP, "acknowledged", root, None, summary, is_drift=False)
    return Drift(DriftClass.BACKUP, "unacknowledged", root,
                 {"original": record["original"], "reason": record["reason"]} if record else None, summary)


def diff_backups(spec: ComponentSpec, files: Iterable[tuple[str, FileFact]], recorded: dict[str, dict[str, Any]],
                 blocked: Container[str], sizes: dict[str, int]) -> list[Drift]:
    """Backup files on disk: one item per file, or per backup set (unless something below the set is tracked,
    generated, accepted, secret or recorded on its own: then its files are items one by one)."""
    is_backup = Matcher(spec_matcher(spec.backup_patterns))
    memo: dict[str, Any] = {}
    sets: dict[str, list[tuple[str, FileFact, int]]] = {}
    items = []
    files = list(files)
    direct = {path.rpartition("/")[0] + "/" for path, _ in files}  # directories holding a backup file themselves
    for path, fact in files:
        root = set_root(path, is_backup, memo, direct)
        if root is not None and root not in blocked:
            sets.setdefault(root, []).append((path, fact, sizes.get(path, 0)))
        else:
            items.append(backup_drift(path, fact, recorded.get(path)))
    for root, entries in sets.items():
        items.append(set_drift(root, dirs.summary(entries), recorded.get(root) or recorded.get(root[:-1])))
    return items


def removed_backups(spec: ComponentSpec, ledger: dict[str, Any], live: LiveTree) -> list[Drift]:
    """Recorded backups that are gone: information only (nothing left to review)."""
    ignore = spec_matcher(spec.ignore)
    present: set[str] | None = None  # directories holding a notable path (a backup set or a moved directory)
    out = []
    for path, record in records(ledger).items():
        if ignore.match_file(path) or (not path.endswith("/") and live.get(path).type != "absent"):
            continue
        if present is None:
            present = {d for p in live.notable for d in parents(p)}
        if path.rstrip("/") + "/" not in present:
            out.append(Drift(DriftClass.BACKUP, "removed", path, record["reason"], None, is_drift=False))
    return out


def check_cleanup(spec: ComponentSpec, action: Action) -> None:
    """Refuse, before apply deletes anything, a cleanup target that is not debris by the component's own patterns:
    a file that is not a backup by name, a generated output or its template, a backup set that is not one."""
    from trueup.files.leftovers import DRIFT as LEFTOVER

    if action.details.get("drift") == LEFTOVER:
        return  # a killed run's temp file: leftovers.py checks its own
    backups = spec_matcher(spec.backup_patterns)
    is_backup = Matcher(backups)
    special = {g.path for g in spec.generated} | {g.template for g in spec.generated}
    backup_set = str(action.details.get("drift", "")).startswith("backup/")
    for rel in action.targets:
        if rel.endswith("/"):
            if any(p.startswith(rel) for p in special):
                raise UnsafePathError(f"{spec.name}: {rel} holds generated files; cleanup-backups refuses to delete it")
            parent = rel[:-1].rpartition("/")[0]
            container = bool(parent) and (is_backup(parent) or is_backup(parent + "/"))
            if backup_set and not (is_backup(rel[:-1]) or container):
                raise UnsafePathError(f"{spec.name}: {rel} is not a backup set; cleanup-backups refuses to delete it")
            continue
        if rel in special or not backups.match_file(rel):
            raise UnsafePathError(f"{spec.name}: {rel} is not a backup file; cleanup-backups refuses to delete it")


def run_cleanup(action: Action, ctx: FilesContext) -> None:
    """Delete named backup files and their ledger records."""
    assert ctx.ledger is not None
    backups = spec_matcher(ctx.spec.backup_patterns)
    for rel in action.targets:
        if rel.endswith("/"):
            remove_dir(ctx, rel, backup_set=action.details.get("drift", "").startswith("backup/"))
            continue
        # Defence in depth: only files that are backups by the component's patterns may ever be deleted here.
        if rel in ctx.ledger["files"] or not backups.match_file(rel):
            raise UnsafePathError(f"{ctx.spec.name}: {rel} is not a backup file; cleanup-backups refuses to delete it")
        if ctx.fact(rel).type != "absent":
            ctx.remove_file(rel)
        ctx.ledger["backups"] = [b for b in ctx.ledger["backups"] if b["path"] != rel]
        ctx.notes.append(f"deleted backup {rel}")


def remove_dir(ctx: FilesContext, rel: str, *, backup_set: bool) -> None:
    """Delete a backup set or an untracked directory: the files below it (never an ignored one), then the
    directories that left empty. apply checked its summary against the plan's just before: what the plan saw."""
    assert ctx.ledger is not None
    ctx.path(rel)
    if any(p.startswith(rel) for p in ctx.ledger["files"]) or any(g.path.startswith(rel) for g in ctx.spec.generated):
        raise UnsafePathError(f"{ctx.spec.name}: {rel} holds installed files; cleanup-backups refuses to delete it")
    ignore, secret = Matcher(spec_matcher(ctx.spec.ignore)), Matcher(spec_matcher(ctx.spec.secrets))
    entries = list(dirs.walk(ctx.root, rel, ignore, secret, with_hash=False))
    if any(fact.type == "secret" for _, fact, _ in entries):
        raise UnsafePathError(f"{ctx.spec.name}: {rel} holds a secret file; cleanup-backups refuses to delete it")
    for path, _, _ in entries:
        ctx.path(path).unlink(missing_ok=True)
    for d in sorted({d for path, _, _ in entries for d in parents(path) if d.startswith(rel)}, key=len, reverse=True):
        try:
            (ctx.root / d).rmdir()  # only directories the removal emptied: one holding ignored files stays
        except OSError:
            if (ctx.root / d).is_dir():
                atomic.fsync_dir(ctx.root / d)
    atomic.fsync_dir((ctx.root / rel).parent)
    if backup_set:
        ctx.ledger["backups"] = [b for b in ctx.ledger["backups"]
                                 if b["path"] not in (rel, rel[:-1]) and not b["path"].startswith(rel)]
    ctx.ledger["accepted"].pop(rel, None)
    ctx.notes.append(f"deleted {'backup set' if backup_set else 'untracked directory'} {rel} ({len(entries)} files)")
