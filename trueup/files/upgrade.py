"""upgrade: install a component, or move it to the desired commit without losing a local byte.

Unmodified files are replaced; files the source added or removed are added or removed; operator files
are never touched; a locally edited file the source removed is kept and recorded; edited files are
merged three-way (base = installed commit, ours = live, theirs = new) and a conflict leaves the live
file in place with the new version beside it as ``<path>.trueup-new``.
"""

from __future__ import annotations

import os
from typing import Any

from trueup.errors import TrueupError
from trueup.files.context import FilesContext
from trueup.files.generated import generate
from trueup.files.probe import sha256_bytes
from trueup.files.snapshot import FilesSnapshot
from trueup.manifest import ComponentSpec
from trueup.model.facts import ABSENT, FileFact
from trueup.model.ids import action_id
from trueup.model.keys import INSTALL_DIR, file_key
from trueup.model.plan import Action, ActionType, Drift, TargetKind
from trueup.state import atomic
from trueup.state import ledger as ledgers


def upgrade_plan(snap: FilesSnapshot) -> dict[str, dict[str, Any]]:
    """What an upgrade will do to each path: add, replace, merge, keep-beside, remove, keep, forget."""
    ledger_files = snap.ledger["files"] if snap.ledger else {}
    ops: dict[str, dict[str, Any]] = {}
    for path, wanted in snap.desired.items():
        live = snap.live.get(path, ABSENT)
        if snap.ledger is None or live.type == "absent":
            op = "add"
        elif path in ledger_files:
            op = "replace" if FileFact.from_json(ledger_files[path]).matches(live) else "merge"
        else:
            op = "keep-beside"  # an operator file stands where the source now adds one: never touched
        ops[path] = {"op": op, **wanted.fact().to_json()}
    for path in snap.removed:
        live = snap.live.get(path, ABSENT)
        if live.type == "absent":
            op = "forget"
        elif FileFact.from_json(ledger_files[path]).matches(live):
            op = "remove"
        else:
            op = "keep"  # edited locally and dropped upstream: kept and recorded, never deleted
        ops[path] = {"op": op}
    return ops


def _label(version_or_commit: dict[str, Any]) -> str:
    return version_or_commit["version"] or version_or_commit["commit"][:12]


def propose(spec: ComponentSpec, snap: FilesSnapshot, drift: Drift, gating: list[str]) -> Action:
    """Install the component, or move it to the desired commit; gated by drift it must not bury."""
    ops = upgrade_plan(snap)
    targets = tuple(sorted(ops))
    if snap.ledger is None:
        pre = {INSTALL_DIR: "absent-or-empty"}
        regenerate = sorted(g.path for g in spec.generated)
        reason = f"install {spec.name} {_label(drift.expected)}"
    else:
        pre = {file_key(p): snap.live.get(p, ABSENT).to_json() for p in targets}
        templates = {g.template: g.path for g in spec.generated}
        regenerate = sorted(templates[t] for t in targets if t in templates)
        reason = f"upgrade {spec.name} from {_label(drift.actual)} to {_label(drift.expected)}"
    return Action(
        id=action_id(spec.name, ActionType.UPGRADE, targets), type=ActionType.UPGRADE, component=spec.name,
        target_kind=TargetKind.FILE, targets=targets, group=drift.group_key(spec.name), recommended=True,
        preconditions=pre, reason=reason, gated=tuple(sorted(gating)),
        details={"from": drift.actual, "to": drift.expected, "files": ops, "regenerate": regenerate},
    )


def _accept(ctx: FilesContext, rel: str, note: str) -> None:
    assert ctx.ledger is not None
    ctx.ledger["accepted"][rel] = {"fact": ctx.fact(rel).to_json(), "accepted_at": ledgers.now_iso(), "note": note}


def _beside(ctx: FilesContext, rel: str, data: bytes, wanted: dict[str, Any], reason: str, old: str | None, new: str) -> None:
    """Write the new source version next to a live file that must stay, as an unacknowledged backup."""
    beside = f"{rel}.trueup-new"
    ctx.write_verified(beside, data, {**wanted, "type": "file"})
    assert ctx.ledger is not None
    ledgers.record_backup(ctx.ledger, path=beside, original=rel, reason=reason, sha256=wanted["sha256"],
                          acknowledged=False, from_commit=old, to_commit=new)
    ctx.notes.append(f"kept local {rel}; new version written beside it as {beside} ({reason})")


def _merge(ctx: FilesContext, rel: str, old: str, new: str, data: bytes, wanted: dict[str, Any]) -> None:
    live = ctx.fact(rel)
    base = ctx.source.show(old, rel)
    if live.type != "file" or base is None or wanted.get("type") != "file":
        _beside(ctx, rel, data, wanted, "merge-conflict", old, new)
        _accept(ctx, rel, f"kept over the source at {new[:12]}")
        return
    if sha256_bytes(data) != wanted["sha256"]:
        raise TrueupError(f"{ctx.spec.name}: source content of {rel} does not match the plan", hint="run trueup plan again")
    merged, clean = ctx.source.merge_file(ctx.path(rel).read_bytes(), base, data, ctx.scratch / "merge")
    if not clean:
        _beside(ctx, rel, data, wanted, "merge-conflict", old, new)
        _accept(ctx, rel, f"merge with {new[:12]} conflicted; resolve with {rel}.trueup-new")
        return
    ctx.backup_local(rel, "upgrade-merge", from_commit=old, to_commit=new)
    atomic.write_bytes(ctx.path(rel), merged, int(wanted.get("mode") or live.mode, 8))
    if sha256_bytes(merged) != wanted["sha256"]:
        _accept(ctx, rel, f"local patch merged onto {new[:12]}")
    else:
        ctx.ledger["accepted"].pop(rel, None)
    ctx.notes.append(f"merged local changes of {rel} with {new[:12]}")


def run(action: Action, ctx: FilesContext) -> None:
    spec = ctx.spec
    details = action.details
    new = details["to"]["commit"]
    installing = ctx.ledger is None
    if installing:
        spec.install_path.mkdir(parents=True, exist_ok=True)
        ctx.ledger = ledgers.new(name=spec.name, version=details["to"]["version"], repo=spec.repo, ref=spec.ref, commit=new)
    ledger = ctx.ledger
    old = None if installing else ledger["source"]["commit"]
    files: dict[str, dict[str, Any]] = details["files"]
    tree = ctx.source.tree(new)
    writes = [p for p, f in files.items() if "sha256" in f]
    contents = dict(ctx.source.blobs([tree[p].blob for p in writes])) if writes else {}

    for rel, op in sorted(files.items()):
        wanted = {k: v for k, v in op.items() if k != "op"}
        data = contents.get(tree[rel].blob) if rel in tree else None
        live = ctx.fact(rel)
        recorded = FileFact.from_json(ledger["files"][rel]) if rel in ledger["files"] else None
        if rel not in tree:  # the source dropped it
            if live.type != "absent" and recorded is not None and not recorded.matches(live):
                _accept(ctx, rel, f"edited locally, removed from the source at {new[:12]}; kept")
                ctx.notes.append(f"kept {rel}: edited locally and removed from the source")
            elif live.type != "absent":
                ctx.remove_file(rel)
            ledger["files"].pop(rel, None)
            continue
        assert data is not None
        if live.type == "absent" or (recorded is not None and recorded.matches(live)):
            if live.type == "file" and live.sha256 == wanted["sha256"] and wanted.get("type") == "file":
                os.chmod(ctx.path(rel), int(wanted["mode"], 8))
            else:
                ctx.write_verified(rel, data, wanted)
            ctx.ledger["accepted"].pop(rel, None)
        elif recorded is None:
            # An operator file stands where the source now adds one: never touched.
            _beside(ctx, rel, data, wanted, "source-added-over-local", old, new)
            _accept(ctx, rel, f"operator file kept where {new[:12]} adds one")
        else:
            _merge(ctx, rel, old, new, data, wanted)
        ledger["files"][rel] = wanted

    ledger.update(version=details["to"]["version"], installed_at=ledgers.now_iso(), installer=ledgers.INSTALLER)
    ledger["source"] = {"repo": spec.repo, "ref": spec.ref, "commit": new}
    if ledger["provenance"]["status"] == "verified" or installing:
        ledger["provenance"] = {"status": "verified", "repo": spec.repo, "commit": new, "verified_by": "installed-by-trueup"}
    else:
        ledger["provenance"]["commit"] = new
    by_path = {g.path: g for g in spec.generated}
    for rel in details.get("regenerate", []):
        generate(ctx, by_path[rel])
    ctx.notes.append(("installed" if installing else "upgraded") + f" {spec.name} at {new[:12]}")
