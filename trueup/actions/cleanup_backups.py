"""cleanup-backups: delete named backup files and their ledger records."""

from __future__ import annotations

from typing import Any

from trueup.actions.context import Context
from trueup.errors import UnsafePathError
from trueup.planner.diff import spec_matcher


def run(ctx: Context, action: dict[str, Any]) -> None:
    assert ctx.ledger is not None
    backups = spec_matcher(ctx.spec.backup_patterns)
    for rel in action["targets"]:
        # Defence in depth: only files that are backups by the component's patterns may ever be deleted here.
        if rel in ctx.ledger["files"] or not backups.match_file(rel):
            raise UnsafePathError(f"{ctx.spec.name}: {rel} is not a backup file; cleanup-backups refuses to delete it")
        if ctx.fact(rel).type != "absent":
            ctx.remove_file(rel)
        ctx.ledger["backups"] = [b for b in ctx.ledger["backups"] if b["path"] != rel]
        ctx.notes.append(f"deleted backup {rel}")
