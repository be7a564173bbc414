"""The files provider's proposals: drift → actions with ids, groups, one recommendation each, preconditions. Pure."""

from __future__ import annotations

from typing import Any

from trueup.files import conflicts, import_install, leftovers, upgrade
from trueup.files.snapshot import FilesSnapshot
from trueup.manifest import ComponentSpec
from trueup.model.facts import ABSENT
from trueup.model.ids import action_id
from trueup.model.keys import file_key
from trueup.model.plan import Action, ActionType, Drift, TargetKind
from trueup.model.recommendations import GATING, offers

A = ActionType
REASONS = {
    A.ACCEPT_LOCAL: "keep {path} as it is and record it as accepted",
    A.RESTORE_SOURCE: "restore {path} from the installed commit (local content saved as a backup first)",
    A.REGENERATE: "run the generator for {path} (an edited output is saved as a backup first)",
    A.CLEANUP_BACKUPS: "delete the backup file {path}",
}
# A locally edited file the source removed: keep it as the operator's, or remove it as the source did.
ORPHAN_REASONS = {
    A.ACCEPT_LOCAL: "keep {path} (removed from the source, edited locally) as an operator file",
    A.RESTORE_SOURCE: "delete {path} as the source did (the local content saved as a backup first)",
}


DIR_REASONS = {
    (A.ACCEPT_LOCAL, "file"): "keep the untracked directory {path} ({size}) and record it as accepted: nothing below it "
                              "is reported again",
    (A.CLEANUP_BACKUPS, "file"): "delete the untracked directory {path} ({size}) as the plan saw it",
    (A.ACCEPT_LOCAL, "backup"): "acknowledge the backup set {path} ({size})",
    (A.CLEANUP_BACKUPS, "backup"): "delete the backup set {path} ({size}) as the plan saw it",
}


def _dir_action(spec: ComponentSpec, drift: Drift, kind: ActionType, recommended: bool) -> Action:
    """An action on a directory as one item (an untracked directory, a backup set): its precondition is the summary."""
    from trueup.files.dirs import describe

    path = drift.path
    assert path is not None
    reason = DIR_REASONS[(kind, "backup" if drift.cls == "backup" else "file")].format(
        path=path, size=describe(drift.actual))
    return Action(id=action_id(spec.name, kind, (path,)), type=kind, component=spec.name, target_kind=TargetKind.FILE,
                  targets=(path,), group=drift.group_key(spec.name), recommended=recommended,
                  preconditions={file_key(path): drift.actual}, reason=reason,
                  details={"drift": f"{drift.cls}/{drift.kind}"})


def _offers(item: Drift):
    offered = offers(item.cls, item.kind)
    if item.kind == "untracked" and item.path is not None and item.path.endswith("/"):
        # A whole untracked directory (node_modules/ forgotten in ignore) may also be deleted, as the plan saw it.
        offered = (*offered, (A.CLEANUP_BACKUPS, False, None))
    return offered


def _file_action(spec: ComponentSpec, snap: FilesSnapshot, drift: Drift, kind: ActionType, recommended: bool) -> Action:
    path = drift.path
    assert path is not None
    if path.endswith("/"):
        return _dir_action(spec, drift, kind, recommended)
    pre = {file_key(path): snap.live.get(path, ABSENT).to_json()}
    details: dict[str, Any] = {"drift": f"{drift.cls}/{drift.kind}"}
    if kind == A.RESTORE_SOURCE:
        details["restore"] = drift.expected
    if kind == A.REGENERATE:
        gen = next(g for g in spec.generated if g.path == path)
        pre[file_key(gen.template)] = snap.live.get(gen.template, ABSENT).to_json()
        details.update(template=gen.template, command=gen.command)
    reason = (ORPHAN_REASONS if drift.kind == "orphaned-patch" else REASONS)[kind].format(path=path)
    return Action(id=action_id(spec.name, kind, (path,)), type=kind, component=spec.name, target_kind=TargetKind.FILE,
                  targets=(path,), group=drift.group_key(spec.name), recommended=recommended, preconditions=pre,
                  reason=reason, details=details)


def propose(spec: ComponentSpec, snap: FilesSnapshot, drift: list[Drift]) -> list[Action]:
    gating = [d.group_key(spec.name) for d in drift if d.is_drift and (d.cls, d.kind) in GATING]
    actions: list[Action] = []
    for item in drift:
        if not item.is_drift:
            continue
        for kind, recommended, resolution in _offers(item):
            if item.kind == leftovers.KIND and item.cls == "file":
                actions.append(leftovers.propose(spec, item))
            elif resolution is not None:
                actions.append(conflicts.propose(spec, snap, item, kind, recommended, resolution))
            elif kind == A.UPGRADE:
                actions.append(upgrade.propose(spec, snap, item, gating))
            elif kind == A.IMPORT:
                actions.append(import_install.propose(spec, snap, item))
            else:
                actions.append(_file_action(spec, snap, item, kind, recommended))
    return actions
