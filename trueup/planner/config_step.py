"""Co-owned config files inside plan: observe each declared file, and turn its groups into actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup.manifest import ComponentSpec, resolve_user_path
from trueup.planner.ids import action_id
from trueup.planner.model import Action, ActionType


def config_home() -> Path:
    """The runtime home that `~` and $HOME in config paths and path-valued entries expand to."""
    return Path.home()


def live_path(item: dict[str, Any], workspace: Path) -> Path:
    return resolve_user_path(item["path"], workspace)


def observe_configs(spec: ComponentSpec, *, workspace: Path, state_dir: Path, source, commit: str,
                    version: str | None) -> tuple:
    """(manifest item, ConfigPlan) for each config file of a component; read-only."""
    if not spec.config:
        return ()
    from trueup.planner.config import plan_config

    out = []
    for item in spec.config:
        template = source.show(commit, item["template"])
        plan = plan_config(component=spec.name, spec=item, template=template, live_path=live_path(item, workspace),
                           state_dir=state_dir, home=config_home(), commit=commit, version=version or commit[:12])
        out.append((item, plan))
    return tuple(out)


def config_actions(component: str, configs: tuple, base_preconditions: dict[str, Any]) -> list[Action]:
    actions = []
    for item, plan in configs:
        for group in plan.groups:
            entries = group.get("entries") or ([group["entry"]] if group.get("entry") else [])
            for option in group["options"]:
                kind = ActionType(option["type"])
                actions.append(Action(
                    id=action_id(component, kind, [item["path"], *entries]), type=kind, component=component,
                    targets=tuple(entries), group=group["group_key"], recommended=option["recommended"],
                    preconditions={**base_preconditions, **plan.preconditions},
                    reason=f"{kind} {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} of {item['path']}",
                    details={"config": item["path"], "changes": option["changes"]},
                ))
    return actions


def config_facts(configs: tuple) -> dict[str, Any]:
    return {item["path"]: plan.diff for item, plan in configs}


def config_warnings(configs: tuple) -> list[str]:
    return [w for _, plan in configs for w in plan.warnings]


def config_item(spec: ComponentSpec, path: str) -> dict[str, Any]:
    from trueup.errors import UnsafePathError

    for item in spec.config:
        if item["path"] == path:
            return item
    raise UnsafePathError(f"{spec.name}: {path!r} is not a config file declared in {spec.origin}",
                          hint="a plan's config targets come from trueup.yaml; run trueup plan again")


def observe_config_fact(spec: ComponentSpec, key: str, workspace: Path, state_dir: Path) -> Any:
    """Re-observe a `config:<path>:<fact>` precondition."""
    from trueup.planner.config import config_preconditions

    path = key[len("config:"):].rsplit(":", 1)[0]
    item = config_item(spec, path)
    facts = config_preconditions(component=spec.name, spec=item, live_path=live_path(item, workspace),
                                 state_dir=state_dir, home=config_home())
    return facts.get(key)
