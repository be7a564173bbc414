"""The config provider: co-owned config files (framework entries beside the user's), one ownership registry each.

observe reads each declared file and its registry; diff lists the entries that drifted; propose offers
upgrade / accept-local / restore-source per group; apply edits the file and records ownership (config/apply.py).
"""

from __future__ import annotations

from typing import Any

from trueup.manifest import ComponentSpec
from trueup.model.ids import action_id
from trueup.model.keys import FactKey
from trueup.model.plan import Action, ActionType, Drift, PlanWarning, TargetKind
from trueup.provider import ApplyContext, ObserveContext, RecheckContext

NAME = "config"


def observe(spec: ComponentSpec, ctx: ObserveContext) -> tuple:
    """(manifest item, ConfigFindings) for each config file of a component; read-only."""
    if not spec.config:
        return ()
    from trueup.config.locate import config_home, live_path
    from trueup.config.assess import assess_config

    basis = ctx.basis
    assert basis is not None
    out = []
    for item in spec.config:
        template = basis.source.show(basis.commit, item["template"])
        found = assess_config(component=spec.name, spec=item, template=template,
                           live_path=live_path(item, ctx.workspace.root), state_dir=ctx.workspace.state_dir,
                           home=config_home(), commit=basis.commit, version=basis.version or basis.commit[:12])
        out.append((item, found))
    return tuple(out)


def diff(spec: ComponentSpec, snapshot: tuple) -> list[Drift]:
    return [d for _, found in snapshot for d in found.drift]


def propose(spec: ComponentSpec, snapshot: tuple, drift: list[Drift]) -> list[Action]:
    actions = []
    for item, found in snapshot:
        for group in found.groups:
            entries = group.get("entries") or ([group["entry"]] if group.get("entry") else [])
            for option in group["options"]:
                kind = ActionType(option["type"])
                actions.append(Action(
                    id=action_id(spec.name, kind, [item["path"], *entries]), type=kind, component=spec.name,
                    target_kind=TargetKind.CONFIG_ENTRY, targets=tuple(entries), group=group["group_key"],
                    recommended=option["recommended"], preconditions=dict(found.preconditions),
                    reason=f"{kind} {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} of {item['path']}",
                    details={"config": item["path"], "changes": option["changes"]},
                ))
    return actions


def facts(snapshot: tuple) -> dict[str, Any]:
    """What a plan's component facts say about its config files: per-entry diffs."""
    if not snapshot:
        return {}
    return {"config": {item["path"]: found.diff for item, found in snapshot}}


def warnings(spec: ComponentSpec, snapshot: tuple) -> list[PlanWarning]:
    """What plan shows and counts but is not drift: registries trueup cannot vouch for, formatting it cannot keep."""
    return [w for _, found in snapshot for w in found.warnings]


def recheck(spec: ComponentSpec, key: FactKey, ctx: RecheckContext) -> Any:
    """Re-observe a config file's fingerprint or its registry's digest."""
    from trueup.config.locate import config_home, config_item, live_path
    from trueup.config.assess import config_preconditions

    assert key.target is not None
    item = config_item(spec, key.target)
    now = config_preconditions(component=spec.name, spec=item, live_path=live_path(item, ctx.workspace.root),
                               state_dir=ctx.workspace.state_dir, home=config_home())
    return now.get(key)


def check_targets(spec: ComponentSpec, action: Action) -> None:
    """Config targets are entries of a file the manifest declares; any other file is refused."""
    from trueup.config.locate import config_item

    config_item(spec, action.details["config"])


def apply(action: Action, ctx: ApplyContext) -> None:
    from trueup.config.change import run

    run(action, ctx)
