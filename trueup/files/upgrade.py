"""upgrade: install a component, or move it to the desired commit without losing a local byte.

Unmodified files are replaced; files the source added or removed are added or removed; operator files
are never touched; edited files are merged three-way (base = installed commit, ours = live, theirs = new) and a
conflict leaves the live file in place with the new version beside it as ``<path>.trueup-new``. An edited file
the source renamed is merged onto its new path (rename-merge); one the source removed is kept and recorded as
an orphaned patch (drift until the operator decides, see local_patch.py). Writes keep a file's permission bits
unless the executable bit changes (model/facts.write_mode); no backup is written of bytes a source version has.
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
from trueup.model.facts import ABSENT, FileFact, modes_equal, write_mode
from trueup.model.ids import action_id
from trueup.model.keys import INSTALL_DIR, file_key
from trueup.model.plan import Action, ActionType, Drift, TargetKind
from trueup.state import atomic
from trueup.state import ledger as ledgers


def upgrade_plan(snap: FilesSnapshot, exact: bool = False) -> dict[str, dict[str, Any]]:
    """What an upgrade will do to each path: add, replace, merge, keep-beside, remove, keep, forget — and for a
    locally edited file the source renamed, rename-merge (on the new path, ``from`` the old) and renamed."""
    ledger_files = snap.ledger["files"] if snap.ledger else {}
    carried = _carried_renames(snap, ledger_files, exact)
    ops: dict[str, dict[str, Any]] = {}
    for path, wanted in snap.desired.items():
        live = snap.live.get(path, ABSENT)
        if path in carried:
            op = {"op": "rename-merge", "from": carried[path]}
        elif snap.ledger is None or live.type == "absent":
            op = {"op": "add"}
        elif path in ledger_files:
            op = {"op": "replace" if FileFact.from_json(ledger_files[path]).matches(live, exact) else "merge"}
        elif live.type == "file" and wanted.entry.type == "file" and live.sha256 == wanted.sha256:
            # Already the source's content (a killed upgrade wrote it): recorded, not rewritten (the executable bit
            # set as the source has it), and neither backed up nor written beside.
            op = {"op": "add"}
        elif path in snap.ignored:
            # An ignored path the source starts tracking, which the running service (or someone) already wrote: the
            # source's version replaces it, the live bytes saved first as a recorded backup.
            op = {"op": "replace", "backup": "live"}
        else:
            op = {"op": "keep-beside"}  # an operator file stands where the source now adds one: never touched
        ops[path] = {**op, **wanted.fact().to_json()}
    moved = {old: new for new, old in carried.items()}
    for path in snap.removed:
        live = snap.live.get(path, ABSENT)
        if path in moved:
            ops[path] = {"op": "renamed", "to": moved[path]}
        elif live.type == "absent":
            ops[path] = {"op": "forget"}
        elif FileFact.from_json(ledger_files[path]).matches(live, exact):
            ops[path] = {"op": "remove"}
        else:
            # Edited locally and dropped upstream: kept, and shown as an orphaned patch until the operator decides.
            ops[path] = {"op": "keep", **({"renamed_to": snap.renames[path]} if path in snap.renames else {})}
    return ops


def _carried_renames(snap: FilesSnapshot, ledger_files: dict[str, Any], exact: bool) -> dict[str, str]:
    """New path → old path of each rename whose old file carries a local patch that can follow it: the old path
    is an edited regular file, and nothing stands at the new path yet."""
    out = {}
    for old, new in snap.renames.items():
        live = snap.live.get(old, ABSENT)
        wanted = snap.desired.get(new)
        if (live.type == "file" and old in ledger_files and wanted is not None and wanted.entry.type == "file"
                and not FileFact.from_json(ledger_files[old]).matches(live, exact)
                and snap.live.get(new, ABSENT).type == "absent" and new not in ledger_files):
            out[new] = old
    return out


def _label(version_or_commit: dict[str, Any]) -> str:
    return version_or_commit["version"] or version_or_commit["commit"][:12]


def propose(spec: ComponentSpec, snap: FilesSnapshot, drift: Drift, gating: list[str]) -> Action:
    """Install the component, or move it to the desired commit; gated by drift it must not bury."""
    ops = upgrade_plan(snap, spec.exact_modes)
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


def _backup_edit(ctx: FilesContext, rel: str, reason: str, source_shas: set[str | None], old: str | None,
                 new: str) -> None:
    """Save the live file as a recorded backup before an upgrade rewrites or removes it — unless its bytes are
    a source version (installed or target): git has those, and a backup of them is noise to review."""
    live = ctx.fact(rel)
    if live.type == "file" and live.sha256 in source_shas:
        return
    ctx.backup_local(rel, reason, from_commit=old, to_commit=new)


def _merged_mode(live: FileFact, recorded: FileFact | None, wanted_mode: str | None, exact: bool) -> int:
    """The mode a merge leaves: three-way, like the content. The operator changed the mode (the executable bit;
    every bit with ``install.modes: exact``) and the source did not → the operator's mode stays. Otherwise as any
    write over a live file (write_mode): the source's executable bit where the source changed it. Both sides
    changing one bit leaves them agreeing on its new value: nothing to conflict over."""
    if (live.type == "file" and live.mode is not None and recorded is not None and recorded.type == "file"
            and not modes_equal(recorded.mode, live.mode, exact) and modes_equal(recorded.mode, wanted_mode, exact)):
        return int(live.mode, 8)
    return write_mode(live, wanted_mode, exact)


def _settle_accepted(ctx: FilesContext, rel: str, wanted: dict[str, Any], new: str) -> None:
    """After writing the source's content at ``rel``: nothing left to accept — unless the operator's own mode was
    kept (_merged_mode) and they had accepted it before, which stays accepted (the new content, their mode)."""
    assert ctx.ledger is not None
    live = ctx.fact(rel)
    if rel in ctx.ledger["accepted"] and not modes_equal(live.mode, wanted.get("mode"), ctx.spec.exact_modes):
        _accept(ctx, rel, f"local mode {live.mode} kept over the source at {new[:12]}")
    else:
        ctx.ledger["accepted"].pop(rel, None)


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
    _backup_edit(ctx, rel, "upgrade-merge", {sha256_bytes(base), wanted["sha256"]}, old, new)
    assert ctx.ledger is not None
    recorded = FileFact.from_json(ctx.ledger["files"][rel]) if rel in ctx.ledger["files"] else None
    atomic.write_bytes(ctx.path(rel), merged, _merged_mode(live, recorded, wanted.get("mode"), ctx.spec.exact_modes))
    if sha256_bytes(merged) != wanted["sha256"]:
        _accept(ctx, rel, f"local patch merged onto {new[:12]}")
    else:
        _settle_accepted(ctx, rel, wanted, new)
    ctx.notes.append(f"merged local changes of {rel} with {new[:12]}")


def _rename_merge(ctx: FilesContext, rel: str, was: str, old: str, new: str, data: bytes,
                  wanted: dict[str, Any]) -> None:
    """The source renamed ``was`` to ``rel`` and ``was`` carries a local patch: merge it three-way onto the new
    path (base: ``was`` at the installed commit; ours: the live ``was``; theirs: ``rel`` at the new commit),
    then remove ``was`` (saved as a recorded backup first). On a conflict the local file moves to the new path
    and the new version is written beside it as ``<rel>.trueup-new``, as for any other conflict."""
    assert ctx.ledger is not None
    live = ctx.fact(was)
    base = ctx.source.show(old, was)
    if sha256_bytes(data) != wanted["sha256"]:
        raise TrueupError(f"{ctx.spec.name}: source content of {rel} does not match the plan", hint="run trueup plan again")
    ours = ctx.path(was).read_bytes()
    mode = write_mode(live, wanted.get("mode"), ctx.spec.exact_modes)
    merged, clean = ctx.source.merge_file(ours, base, data, ctx.scratch / "merge") if base is not None else (b"", False)
    _backup_edit(ctx, was, "upgrade-rename", {sha256_bytes(base) if base is not None else None, wanted["sha256"]},
                 old, new)
    if clean:
        atomic.write_bytes(ctx.path(rel), merged, mode)
        if sha256_bytes(merged) != wanted["sha256"]:
            _accept(ctx, rel, f"local patch of {was} carried over its rename at {new[:12]}")
        ctx.notes.append(f"merged local changes of {was} onto {rel} (renamed at {new[:12]})")
    else:
        atomic.write_bytes(ctx.path(rel), ours, mode)
        _beside(ctx, rel, data, wanted, "merge-conflict", old, new)
        _accept(ctx, rel, f"local {was} moved to its new name; merge with {new[:12]} conflicted; "
                          f"resolve with {rel}.trueup-new")
    if ctx.fact(was).type != "absent":
        ctx.remove_file(was)
    ctx.ledger["files"].pop(was, None)
    ctx.ledger["accepted"].pop(was, None)


def _orphan(ctx: FilesContext, rel: str, op: dict[str, Any], old: str | None, new: str) -> None:
    """Keep a locally edited file the source removed, recorded as an orphaned patch (drift until decided)."""
    assert ctx.ledger is not None
    record: dict[str, Any] = {"from_commit": old or new, "to_commit": new}
    if op.get("renamed_to"):
        record["renamed_to"] = op["renamed_to"]
    ctx.ledger["accepted"][rel] = {"fact": ctx.fact(rel).to_json(), "accepted_at": ledgers.now_iso(),
                                   "note": f"edited locally, removed from the source at {new[:12]}; kept",
                                   "orphaned": record}
    ctx.notes.append(f"kept {rel}: edited locally and removed from the source (an orphaned patch: accept it "
                     f"as an operator file or delete it)")


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
    # Only what is written is read from git, by path, through one process (no listing of the whole tree).
    writes = sorted(p for p, f in files.items() if "sha256" in f)
    contents = ctx.source.files_at(new, writes) if writes else {}
    plain: list[tuple[str, bytes, int]] = []  # source files written where nothing local stands: written at once
    with atomic.batch_dir_syncs():  # each file atomic and fsynced; each directory fsynced once, before the ledger
        for rel, op in sorted(files.items()):
            _apply_one(ctx, rel, op, files, contents.get(rel), old, new, plain)
        _write_plain(ctx, plain, files)

    ledger.update(version=details["to"]["version"], installed_at=ledgers.now_iso(), installer=ledgers.INSTALLER)
    ledger["source"] = {"repo": spec.repo, "ref": spec.ref, "commit": new}
    # The ref's signature as it is now (offline, git alone); the bytes are the commit's: each was checked as written,
    # so an import's local/unverified status ends here (its accepted differences stay accepted, and listed).
    from trueup.provenance.check import record

    ledger["provenance"] = record(spec, ctx.workspace.root, ctx.source.repo, spec.ref, new, imported=False,
                                  verified_by="installed-by-trueup")
    by_path = {g.path: g for g in spec.generated}
    for rel in details.get("regenerate", []):
        generate(ctx, by_path[rel])
    ctx.notes.append(("installed" if installing else "upgraded") + f" {spec.name} at {new[:12]}")


def _write_plain(ctx: FilesContext, plain: list[tuple[str, bytes, int]], files: dict[str, dict[str, Any]]) -> None:
    """Write source files over unmodified (or absent) ones, each checked against the hash the plan recorded
    before any is written, then all atomically at once (atomic.write_files)."""
    for rel, data, _ in plain:
        actual = sha256_bytes(data)
        if actual != files[rel]["sha256"]:
            raise TrueupError(f"{ctx.spec.name}: source content of {rel} is {actual[:12]}, the plan recorded "
                              f"{files[rel]['sha256'][:12]}; nothing more was written",
                              hint="the source repository changed under the same commit id; run trueup plan again")
    atomic.write_files([(ctx.path(rel), data, mode) for rel, data, mode in plain])


def _apply_one(ctx: FilesContext, rel: str, op: dict[str, Any], files: dict[str, dict[str, Any]],
               data: bytes | None, old: str | None, new: str, plain: list[tuple[str, bytes, int]]) -> None:
    """Carry out one path's op of the upgrade (the live state was re-checked against the plan before)."""
    ledger = ctx.ledger
    assert ledger is not None
    exact = ctx.spec.exact_modes
    wanted = {k: v for k, v in op.items() if k not in ("op", "from", "to", "renamed_to", "diff", "backup")}
    if op["op"] == "renamed" and op.get("to") in files:
        return  # its local patch moves with the rename-merge of its new path
    live = ctx.fact(rel)
    recorded = FileFact.from_json(ledger["files"][rel]) if rel in ledger["files"] else None
    if "sha256" not in op:  # the source dropped it
        if live.type != "absent" and recorded is not None and not recorded.matches(live, exact):
            _orphan(ctx, rel, op, old, new)
        elif live.type != "absent" and recorded is not None:  # never a path the ledger does not record as ours
            ctx.remove_file(rel)
        ledger["files"].pop(rel, None)
        return
    if data is None:
        raise TrueupError(f"{ctx.spec.name}: {rel} is not a file at {new[:12]} in {ctx.source.repo}",
                          hint="the source history was rewritten; run trueup plan again")
    if op["op"] == "rename-merge" and old is not None and op.get("from") in ledger["files"]:
        _rename_merge(ctx, rel, op["from"], old, new, data, wanted)
    elif live.type == "file" and wanted.get("type") == "file" and live.sha256 == wanted["sha256"]:
        # Already the new content (a killed upgrade wrote it, or the operator did): nothing to write or back up;
        # only the executable bit is settled, as a merge would (_merged_mode).
        mode = _merged_mode(live, recorded, wanted.get("mode"), exact)
        if int(live.mode or "0", 8) != mode:
            os.chmod(ctx.path(rel), mode)
        _settle_accepted(ctx, rel, wanted, new)
    elif op.get("backup") == "live" and recorded is None and live.type != "absent":
        # An ignored path the source now tracks (upgrade_plan): the service's bytes saved, then replaced.
        ctx.backup_local(rel, "upgrade-replaced-ignored", acknowledged=False, from_commit=old, to_commit=new)
        ctx.write_verified(rel, data, wanted)
        ctx.ledger["accepted"].pop(rel, None)
    elif live.type == "absent" or (recorded is not None and recorded.matches(live, exact)):
        mode = write_mode(live, wanted.get("mode"), exact)
        if live.type == "file" and live.sha256 == wanted["sha256"] and wanted.get("type") == "file":
            if int(live.mode, 8) != mode:
                os.chmod(ctx.path(rel), mode)
        else:
            if wanted.get("type") == "file":
                plain.append((rel, data, mode))
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
