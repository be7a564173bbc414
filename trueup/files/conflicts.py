"""`local-patch/merge-conflict`: an upgrade's three-way merge conflicted, so the live file was kept and the new
version written beside it as ``<path>.trueup-new`` (files/upgrade.py).

One drift item per conflict, on the live file, with the three ways out the recommendation table names:
keep-local (accept-local: the live file stays; the new version is already recorded as installed, so the
next upgrade merges from it), take-new (restore-source: the new version is installed, the live file saved
as a recorded backup first) and resolved-by-hand (accept-local: the live file, edited by the operator, is the
merge result). Each removes ``<path>.trueup-new``; when the operator edited that file too it is saved as a
recorded backup first, so no byte is lost.
"""

from __future__ import annotations

from typing import Any

from trueup.errors import UnsafePathError
from trueup.files.accepted import accepted_fact
from trueup.files.context import FilesContext
from trueup.files.live import LiveTree
from trueup.files.snapshot import FilesSnapshot
from trueup.manifest import ComponentSpec
from trueup.model.ids import action_id
from trueup.model.keys import file_key
from trueup.model.plan import Action, ActionType, Drift, DriftClass, TargetKind
from trueup.state import ledger as ledgers

BESIDE = ".trueup-new"
REASON = "merge-conflict"  # the reason upgrade records on the backup it writes beside a conflicted file
KIND = "merge-conflict"

REASONS = {
    "keep-local": "keep {path} as it is; the new version stays recorded as installed, so the next upgrade merges "
                  "from it; remove {beside}",
    "take-new": "install the new version of {path} (the local file saved as a backup first); remove {beside}",
    "resolved-by-hand": "accept {path} as merged by hand with the new version; remove {beside}",
}


def open_conflicts(ledger: dict[str, Any], live: LiveTree) -> dict[str, dict[str, Any]]:
    """Live path → the ledger's record of its ``<path>.trueup-new``, for every conflict nobody resolved yet.

    Resolved means: the beside file is gone, or the operator acknowledged it as a backup (older trueups
    offered only that), which leaves the live file accepted as it is.
    """
    out = {}
    for record in ledger["backups"]:
        original = record.get("original")
        if (record.get("reason") == REASON and not record["acknowledged"] and original
                and record["path"] == original + BESIDE and live.get(record["path"]).type != "absent"):
            out[original] = record
    return out


def diff_conflicts(ledger: dict[str, Any], live: LiveTree) -> list[Drift]:
    items = []
    for path, record in sorted(open_conflicts(ledger, live).items()):
        fact = live.get(path)
        kept = accepted_fact(ledger, path)
        beside = live.get(record["path"])
        items.append(Drift(
            DriftClass.LOCAL_PATCH, KIND, path,
            {"beside": record["path"], "sha256": record.get("sha256"), "from_commit": record.get("from_commit"),
             "to_commit": record.get("to_commit")},
            {**fact.to_json(), "edited": kept is None or not kept.matches(fact),
             "beside_edited": beside.sha256 != record.get("sha256")},
        ))
    return items


def without_conflicted(items: list[Drift], conflicts: list[Drift]) -> list[Drift]:
    """The other drift of a conflicted file (edited again, missing) and its beside file (an unreviewed backup)
    is the conflict itself: one item, one group, whose actions resolve all of it."""
    paths = {c.path for c in conflicts}
    besides = {c.expected["beside"] for c in conflicts}
    return [d for d in items
            if not ((d.cls in (DriftClass.LOCAL_PATCH, DriftClass.FILE) and d.path in paths)
                    or (d.cls == DriftClass.BACKUP and d.path in besides))]


def propose(spec: ComponentSpec, snap: FilesSnapshot, drift: Drift, kind: ActionType, recommended: bool,
            resolution: str) -> Action:
    path = drift.path
    assert path is not None
    beside = drift.expected["beside"]
    targets = (path, beside)
    details: dict[str, Any] = {"drift": f"{drift.cls}/{drift.kind}", "resolution": resolution, "beside": beside,
                               "regenerate": sorted(g.path for g in spec.generated if g.template == path)}
    return Action(id=action_id(spec.name, kind, targets, resolution), type=kind, component=spec.name,
                  target_kind=TargetKind.FILE, targets=targets, group=drift.group_key(spec.name),
                  recommended=recommended, preconditions={file_key(p): snap.live.get(p).to_json() for p in targets},
                  reason=REASONS[resolution].format(path=path, beside=beside), details=details)


def run(action: Action, ctx: FilesContext) -> None:
    """Resolve one merge conflict the way ``details.resolution`` names, then remove ``<path>.trueup-new``."""
    from trueup.files.generated import generate
    from trueup.files.restore_source import restore

    assert ctx.ledger is not None
    resolution, beside = action.details["resolution"], action.details["beside"]
    path = beside[: -len(BESIDE)] if beside.endswith(BESIDE) else None
    if path is None or sorted(action.targets) != sorted((path, beside)) or resolution not in REASONS:
        raise UnsafePathError(f"{ctx.spec.name}: {list(action.targets)} is not a merge conflict and its "
                              f"{BESIDE} file; refused", hint="run trueup plan again")
    record = next((b for b in ctx.ledger["backups"] if b["path"] == beside), None)
    to_commit = (record or {}).get("to_commit") or ctx.ledger["source"]["commit"]
    if resolution == "take-new":
        restore(ctx, path, "merge-conflict-take-new")
    else:
        note = (f"kept over the source at {to_commit[:12]} (merge conflict)" if resolution == "keep-local"
                else f"merged by hand with the source at {to_commit[:12]}")
        ctx.ledger["accepted"][path] = {"fact": ctx.fact(path).to_json(), "accepted_at": ledgers.now_iso(),
                                        "note": note}
        ctx.notes.append(("kept local " if resolution == "keep-local" else "accepted hand-merged ") + path)
    _remove_beside(ctx, beside, record)
    by_path = {g.path: g for g in ctx.spec.generated}
    for output in action.details.get("regenerate", []):
        if output in by_path:
            generate(ctx, by_path[output])


def _remove_beside(ctx: FilesContext, beside: str, record: dict[str, Any] | None) -> None:
    """Remove ``<path>.trueup-new``: as it was written it is the source's version (kept in git); edited, it is
    the operator's, saved as a recorded backup first."""
    assert ctx.ledger is not None
    fact = ctx.fact(beside)
    if fact.type != "absent":
        if not (fact.type == "file" and record is not None and fact.sha256 == record.get("sha256")):
            ctx.backup_local(beside, "merge-conflict-edited", from_commit=(record or {}).get("from_commit"),
                             to_commit=(record or {}).get("to_commit"))
        if ctx.fact(beside).type != "absent":  # a link or directory was moved away whole already
            ctx.remove_file(beside)
        ctx.notes.append(f"removed {beside}")
    ctx.ledger["backups"] = [b for b in ctx.ledger["backups"] if b["path"] != beside]
