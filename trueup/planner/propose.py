"""Drift → proposed actions: ids, groups, one recommendation per group, preconditions. Pure."""

from __future__ import annotations

from typing import Any

from trueup.planner.config_step import config_actions
from trueup.planner.diff import equal
from trueup.planner.facts import ABSENT, FileFact
from trueup.planner.ids import action_id, digest
from trueup.planner.model import Action, ActionType, Drift, DriftClass
from trueup.planner.observe import Observation
from trueup.planner.runtime_step import restart_action

A = ActionType
# (drift class, kind) → (recommended, alternatives). Conservative: never recommend discarding an edit.
RECOMMENDATIONS: dict[tuple[DriftClass, str], tuple[ActionType, tuple[ActionType, ...]]] = {
    (DriftClass.LOCAL_PATCH, "modified"): (A.ACCEPT_LOCAL, (A.RESTORE_SOURCE,)),
    (DriftClass.FILE, "missing"): (A.RESTORE_SOURCE, (A.ACCEPT_LOCAL,)),
    (DriftClass.FILE, "mode-changed"): (A.RESTORE_SOURCE, (A.ACCEPT_LOCAL,)),
    (DriftClass.FILE, "type-changed"): (A.ACCEPT_LOCAL, (A.RESTORE_SOURCE,)),
    (DriftClass.FILE, "untracked"): (A.ACCEPT_LOCAL, ()),
    (DriftClass.GENERATED, "stale"): (A.REGENERATE, ()),
    (DriftClass.GENERATED, "missing"): (A.REGENERATE, ()),
    (DriftClass.GENERATED, "unrecorded"): (A.REGENERATE, (A.ACCEPT_LOCAL,)),
    (DriftClass.GENERATED, "edited"): (A.ACCEPT_LOCAL, (A.REGENERATE,)),
    (DriftClass.BACKUP, "unacknowledged"): (A.ACCEPT_LOCAL, (A.CLEANUP_BACKUPS,)),
    (DriftClass.SOURCE, "not-installed"): (A.UPGRADE, ()),
    (DriftClass.SOURCE, "outdated"): (A.UPGRADE, ()),
    (DriftClass.SOURCE, "unmanaged"): (A.IMPORT, ()),
}

REASONS = {
    A.ACCEPT_LOCAL: "keep {path} as it is and record it as accepted",
    A.RESTORE_SOURCE: "restore {path} from the installed commit (local content saved as a backup first)",
    A.REGENERATE: "run the generator for {path} (an edited output is saved as a backup first)",
    A.CLEANUP_BACKUPS: "delete the backup file {path}",
    A.IMPORT: "adopt the existing directory: write a ledger, recording differences from the source as accepted",
}


def _fact(obs: Observation, path: str) -> dict[str, Any]:
    return obs.live.get(path, ABSENT).to_json()


def _base_preconditions(obs: Observation) -> dict[str, Any]:
    return {"manifest": obs.spec.digest, "ledger": obs.ledger_digest, "source:commit": obs.source_facts.commit}


def upgrade_plan(obs: Observation) -> dict[str, dict[str, Any]]:
    """What an upgrade will do to each path: add, replace, merge, keep-beside, remove, keep, forget."""
    ledger_files = obs.ledger["files"] if obs.ledger else {}
    ops: dict[str, dict[str, Any]] = {}
    for path, wanted in obs.desired.items():
        live = obs.live.get(path, ABSENT)
        if obs.ledger is None or live.type == "absent":
            op = "add"
        elif path in ledger_files:
            op = "replace" if equal(FileFact.from_json(ledger_files[path]), live) else "merge"
        else:
            op = "keep-beside"  # an operator file stands where the source now adds one: never touched
        ops[path] = {"op": op, **wanted.fact().to_json()}
    for path in obs.removed:
        live = obs.live.get(path, ABSENT)
        if live.type == "absent":
            op = "forget"
        elif equal(FileFact.from_json(ledger_files[path]), live):
            op = "remove"
        else:
            op = "keep"  # edited locally and dropped upstream: kept and recorded, never deleted
        ops[path] = {"op": op}
    return ops


def _upgrade(obs: Observation, drift: Drift, gating: list[str]) -> Action:
    component = obs.spec.name
    ops = upgrade_plan(obs)
    targets = tuple(sorted(ops))
    pre = _base_preconditions(obs)
    if obs.ledger is None:
        pre["install:dir"] = "absent-or-empty"
    else:
        pre.update({f"file:{p}": _fact(obs, p) for p in targets})
    templates = {g.template: g.path for g in obs.spec.generated}
    regenerate = sorted(templates[t] for t in targets if t in templates)
    if obs.ledger is None:
        regenerate = sorted(g.path for g in obs.spec.generated)
    expected = drift.expected
    frm = drift.actual
    reason = (f"install {component} {expected['version'] or expected['commit'][:12]}" if obs.ledger is None else
              f"upgrade {component} from {frm['version'] or frm['commit'][:12]} to {expected['version'] or expected['commit'][:12]}")
    return Action(
        id=action_id(component, A.UPGRADE, targets), type=A.UPGRADE, component=component, targets=targets,
        group=drift.group_key(component), recommended=True, preconditions=pre, reason=reason,
        gated=tuple(sorted(gating)),
        details={"from": frm, "to": expected, "files": ops, "regenerate": regenerate},
    )


def _import(obs: Observation, drift: Drift) -> Action:
    component = obs.spec.name
    pre = _base_preconditions(obs)
    pre["tree"] = digest({p: f.to_json() for p, f in obs.live.items()})
    return Action(id=action_id(component, A.IMPORT, ()), type=A.IMPORT, component=component, targets=(),
                  group=drift.group_key(component), recommended=True, preconditions=pre, reason=REASONS[A.IMPORT])


def _file_action(obs: Observation, drift: Drift, kind: ActionType, recommended: bool) -> Action:
    component, path = obs.spec.name, drift.path
    pre = _base_preconditions(obs)
    pre[f"file:{path}"] = _fact(obs, path)
    details: dict[str, Any] = {"drift": f"{drift.cls}/{drift.kind}"}
    if kind == A.RESTORE_SOURCE:
        details["restore"] = drift.expected
    if kind == A.REGENERATE:
        gen = next(g for g in obs.spec.generated if g.path == path)
        pre[f"file:{gen.template}"] = _fact(obs, gen.template)
        details.update(template=gen.template, command=gen.command)
    return Action(id=action_id(component, kind, (path,)), type=kind, component=component, targets=(path,),
                  group=drift.group_key(component), recommended=recommended, preconditions=pre,
                  reason=REASONS[kind].format(path=path), details=details)


def propose(obs: Observation, drift: list[Drift]) -> list[Action]:
    component = obs.spec.name
    gating = [d.group_key(component) for d in drift
              if d.is_drift and (d.cls == DriftClass.LOCAL_PATCH or (d.cls == DriftClass.BACKUP and d.kind == "unacknowledged"))]
    actions: list[Action] = []
    for item in drift:
        if not item.is_drift or item.cls in (DriftClass.CONFIG, DriftClass.RUNTIME) or (item.cls, item.kind) not in RECOMMENDATIONS:
            continue
        recommended, alternatives = RECOMMENDATIONS[(item.cls, item.kind)]
        if recommended == A.UPGRADE:
            actions.append(_upgrade(obs, item, gating))
        elif recommended == A.IMPORT:
            actions.append(_import(obs, item))
        else:
            actions.append(_file_action(obs, item, recommended, True))
            actions.extend(_file_action(obs, item, alt, False) for alt in alternatives)
    return (actions + config_actions(component, obs.configs, _base_preconditions(obs))
            + restart_action(component, obs.runtime, drift, _base_preconditions(obs)))
