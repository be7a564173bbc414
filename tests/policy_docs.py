"""Plan documents for the policy tests, built from (type, class, kind, path) rows: only the fields policy reads."""

from __future__ import annotations

from typing import Any

from trueup.model.ids import action_id, group_key


def act(type_: str, cls: str, kind: str, path: str | None, *, component: str = "app", recommended: bool = True,
        approved: bool = False, gated: tuple[str, ...] = (), targets: tuple[str, ...] | None = None) -> dict[str, Any]:
    targets = targets if targets is not None else ((path,) if path else ())
    return {"id": action_id(component, type_, targets), "type": type_, "component": component,
            "group": group_key(component, cls, kind, path), "targets": list(targets), "recommended": recommended,
            "approved": approved, "gated": list(gated), "_drift": {"class": cls, "kind": kind, "path": path}}


def doc(*actions: dict[str, Any], host: str = "web1", run: int | None = None,
        since: dict[str, dict[str, Any]] | None = None, info: dict[str, list] | None = None,
        warnings: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """``since``: {component: {"class:kind:path": {"run", "at"}}} as meta.history records it."""
    components: dict[str, dict[str, Any]] = {}
    out_actions = []
    for action in actions:
        action = dict(action)
        drift = action.pop("_drift")
        component = components.setdefault(action["component"], {
            "name": action["component"], "drift": [], "info": list((info or {}).get(action["component"], ())),
            "facts": {"installed": {"commit": "0" * 40}}})
        item = {**drift, "expected": None, "actual": None}
        if item not in component["drift"]:
            component["drift"].append(item)
        out_actions.append(action)
    meta: dict[str, Any] = {"host": host, "created_at": "2026-11-29T10:00:00Z", "trueup_version": "0"}
    if run is not None:
        meta["history"] = {"run": run, "since": since or {}, "warnings": list(warnings)}
    return {"components": list(components.values()), "actions": out_actions, "meta": meta, "plan_hash": "0" * 64}
