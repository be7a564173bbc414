"""`backup` drift (backup files nobody reviewed) and the cleanup-backups action that deletes reviewed ones."""

from __future__ import annotations

from typing import Any

from trueup.errors import UnsafePathError
from trueup.files.globs import spec_matcher
from trueup.files.live import LiveTree
from trueup.manifest import ComponentSpec
from trueup.model.facts import FileFact
from trueup.model.plan import Action, Drift, DriftClass
from trueup.files.context import FilesContext


def records(ledger: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["path"]: b for b in ledger["backups"]}


def backup_drift(path: str, fact: FileFact, record: dict[str, Any] | None) -> Drift:
    """A backup file on disk: information once acknowledged (and unchanged since), drift until then."""
    if record and record["acknowledged"] and record.get("sha256") in (None, fact.sha256):
        return Drift(DriftClass.BACKUP, "acknowledged", path, None, fact.to_json(), is_drift=False)
    return Drift(DriftClass.BACKUP, "unacknowledged", path,
                 {"original": record["original"], "reason": record["reason"]} if record else None, fact.to_json())


def removed_backups(spec: ComponentSpec, ledger: dict[str, Any], live: LiveTree) -> list[Drift]:
    """Recorded backups that are gone: information only (nothing left to review)."""
    ignore = spec_matcher(spec.ignore)
    return [Drift(DriftClass.BACKUP, "removed", path, record["reason"], None, is_drift=False)
            for path, record in records(ledger).items()
            if not ignore.match_file(path) and live.get(path).type == "absent"]


def run_cleanup(action: Action, ctx: FilesContext) -> None:
    """Delete named backup files and their ledger records."""
    assert ctx.ledger is not None
    backups = spec_matcher(ctx.spec.backup_patterns)
    for rel in action.targets:
        # Defence in depth: only files that are backups by the component's patterns may ever be deleted here.
        if rel in ctx.ledger["files"] or not backups.match_file(rel):
            raise UnsafePathError(f"{ctx.spec.name}: {rel} is not a backup file; cleanup-backups refuses to delete it")
        if ctx.fact(rel).type != "absent":
            ctx.remove_file(rel)
        ctx.ledger["backups"] = [b for b in ctx.ledger["backups"] if b["path"] != rel]
        ctx.notes.append(f"deleted backup {rel}")
