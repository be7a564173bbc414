"""accept-local: record what is on disk as the operator's, or acknowledge a backup file."""

from __future__ import annotations

from trueup.files.context import FilesContext
from trueup.files.dirs import describe
from trueup.files.globs import spec_matcher
from trueup.model.keys import file_key
from trueup.model.plan import Action
from trueup.state import ledger as ledgers


def run(action: Action, ctx: FilesContext) -> None:
    assert ctx.ledger is not None
    backups = spec_matcher(ctx.spec.backup_patterns)
    for rel in action.targets:
        if rel.endswith("/"):  # an untracked directory or a backup set, as the plan summarised it (rechecked)
            summary = action.preconditions[file_key(rel)]
            if action.details.get("drift", "").startswith("backup/"):
                known = next((b for b in ctx.ledger["backups"] if b["path"] == rel), None) or {}
                ledgers.record_backup(ctx.ledger, path=rel, original=known.get("original"),
                                      reason=known.get("reason", "found"), sha256=summary["sha256"], acknowledged=True)
                ctx.notes.append(f"acknowledged backup set {rel} ({describe(summary)})")
            else:
                ctx.ledger["accepted"][rel] = {"fact": {"type": "dir", "sha256": summary["sha256"]},
                                               "accepted_at": ledgers.now_iso(), "note": describe(summary)}
                ctx.notes.append(f"accepted untracked directory {rel} ({describe(summary)})")
            continue
        fact = ctx.fact(rel)
        if rel not in ctx.ledger["files"] and backups.match_file(rel):
            known = next((b for b in ctx.ledger["backups"] if b["path"] == rel), None) or {}
            ledgers.record_backup(ctx.ledger, path=rel, original=known.get("original"),
                                  reason=known.get("reason", "found"), sha256=fact.sha256, acknowledged=True,
                                  from_commit=known.get("from_commit"), to_commit=known.get("to_commit"))
            ctx.notes.append(f"acknowledged backup {rel}")
            continue
        ctx.ledger["accepted"][rel] = {"fact": fact.to_json(), "accepted_at": ledgers.now_iso()}
        ctx.notes.append(f"accepted local {rel}" + (" (absent)" if fact.type == "absent" else ""))
