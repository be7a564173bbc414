"""The files provider's proposals: drift → actions with ids, groups, one recommendation each, preconditions. Pure."""

from __future__ import annotations

from typing import Any

from trueup.files import conflicts, import_install, upgrade
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


def _file_action(spec: ComponentSpec, snap: FilesSnapshot, drift: Drift, kind: ActionType, recommended: bool) -> Action:
    path = drift.path
    assert path is not None
    pre = {file_key(path): snap.live.get(path, ABSENT).to_json()}
    details: dict[str, Any] = {"drift": f"{drift.cls}/{drift.kind}"}
    if kind == A.RESTORE_SOURCE:
        details["restore"] = drift.expected
    if kind == A.REGENERATE:
        gen = next(g for g in spec.generated if g.path == path)
        pre[file_key(gen.template)] = snap.live.get(gen.template, ABSENT).to_json()
        details.update(template=gen.template, command=gen.command)
    return Action(id=action_id(spec.name, kind, (path,)), type=kind, component=spec.name, target_kind=TargetKind.FILE,
                  targets=(path,), group=drift.group_key(spec.name), recommended=recommended, preconditions=pre,
                  reason=REASONS[kind].format(path=path), details=details)


def propose(spec: ComponentSpec, snap: FilesSnapshot, drift: list[Drift]) -> list[Action]:
    gating = [d.group_key(spec.name) for d in drift if d.is_drift and (d.cls, d.kind) in GATING]
    actions: list[Action] = []
    for item in drift:
        if not item.is_drift:
            continue
        for kind, recommended, resolution in offers(item.cls, item.kind):
            if resolution is not None:
                actions.append(conflicts.propose(spec, snap, item, kind, recommended, resolution))
            elif kind == A.UPGRADE:
                actions.append(upgrade.propose(spec, snap, item, gating))
            elif kind == A.IMPORT:
                actions.append(import_install.propose(spec, snap, item))
            else:
                actions.append(_file_action(spec, snap, item, kind, recommended))
    return actions
