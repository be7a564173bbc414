"""restore-source: rewrite files from the installed commit, saving local content as a backup first."""

from __future__ import annotations

import os

from trueup.errors import TrueupError
from trueup.files.context import FilesContext
from trueup.model.facts import FileFact, write_mode
from trueup.model.plan import Action


def run(action: Action, ctx: FilesContext) -> None:
    if action.details.get("drift") == "local-patch/orphaned-patch":  # the source removed it: remove it too
        from trueup.files.local_patch import remove_orphan

        for rel in action.targets:
            remove_orphan(ctx, rel)
        return
    for rel in action.targets:
        restore(ctx, rel, "restore-source")


def restore(ctx: FilesContext, rel: str, reason: str) -> None:
    """Rewrite ``rel`` as the ledger records it, from the installed commit; what stood there is saved first."""
    assert ctx.ledger is not None
    commit = ctx.ledger["source"]["commit"]
    wanted = ctx.ledger["files"].get(rel)
    if wanted is None:
        raise TrueupError(f"{ctx.spec.name}: {rel} was not installed from the source; nothing to restore")
    expected = FileFact.from_json(wanted)
    live = ctx.fact(rel)
    ctx.ledger["accepted"].pop(rel, None)
    exact = ctx.spec.exact_modes
    if expected.matches(live, exact):
        return
    mode = write_mode(live, expected.mode, exact) if expected.type == "file" else None
    if live.type == expected.type and live.sha256 == expected.sha256:
        os.chmod(ctx.path(rel), mode)  # only the mode drifted: no content to save
        ctx.notes.append(f"restored mode {mode:04o} of {rel}")
        return
    data = ctx.source.show(commit, rel)
    if data is None:
        raise TrueupError(f"{ctx.spec.name}: {rel} is missing from installed commit {commit[:12]} in {ctx.source.repo}",
                          hint="the source history was rewritten; upgrade instead")
    ctx.backup_local(rel, reason, from_commit=commit)
    ctx.write_verified(rel, data, {**wanted, "mode": f"{mode:04o}"} if mode is not None else wanted)
    ctx.notes.append(f"restored {rel} from {commit[:12]}")
