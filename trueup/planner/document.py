"""The plan document: the versioned JSON contract that files, renderers and apply all read.

Built from the model here, and decoded back into it here (``load``): nothing else encodes precondition
keys, target kinds or approval flags.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trueup import __version__
from trueup.errors import EXIT_OK, EXIT_PARTIAL, EXIT_UNREACHABLE, PlanFileError, RefusedError
from trueup.model import keys
from trueup.model.ids import digest
from trueup.model.plan import APPLY_ORDER, Action, ActionType, ComponentResult, Drift, Plan, TargetKind
from trueup.readfile import read_text
from trueup.schemas.validate import field_path, first_error

# 2: actions carry ``target_kind`` (file | config-entry | service).
FORMAT_VERSION = 2
REGENERATE_HINT = "regenerate it with trueup plan -o FILE"


def drift_json(item: Drift) -> dict[str, Any]:
    return {"class": str(item.cls), "kind": item.kind, "path": item.path, "expected": item.expected, "actual": item.actual}


def action_json(action: Action) -> dict[str, Any]:
    out = {
        "id": action.id, "type": str(action.type), "component": action.component,
        "target_kind": str(action.target_kind), "targets": list(action.targets),
        "group": action.group, "recommended": action.recommended, "approved": action.approved,
        "preconditions": {keys.encode(k): v for k, v in action.preconditions.items()},
        "reason": action.reason, "gated": list(action.gated),
    }
    if action.details:
        out["details"] = action.details
    return out


def action_from_json(raw: dict[str, Any]) -> Action:
    return Action(
        id=raw["id"], type=ActionType(raw["type"]), component=raw["component"],
        target_kind=TargetKind(raw["target_kind"]), targets=raw["targets"], group=raw["group"],
        recommended=raw["recommended"], approved=raw["approved"],
        preconditions={keys.decode(k): v for k, v in raw["preconditions"].items()},
        reason=raw["reason"], gated=raw["gated"], details=raw.get("details") or {},
    )


def _component_json(result: ComponentResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "status": str(result.status),
        "facts": result.facts,
        "drift": [drift_json(d) for d in result.drift if d.is_drift],
        "info": [drift_json(d) for d in result.drift if not d.is_drift],
        "unobserved": result.unobserved,
    }


def plan_hash(document: dict[str, Any]) -> str:
    """sha256 of everything but ``meta``, ``plan_hash`` and the approval flags (reviewers may flip those)."""
    body = {k: v for k, v in document.items() if k not in ("meta", "plan_hash")}
    body["actions"] = [{k: v for k, v in a.items() if k != "approved"} for a in body.get("actions", [])]
    return digest(body)


def _action_order(action: Action) -> tuple:
    return (action.component, action.group, not action.recommended, APPLY_ORDER.index(action.type))


def build(workspace: Path, results: list[ComponentResult], actions: list[Action]) -> dict[str, Any]:
    actions = sorted(actions, key=_action_order)
    drift_count = sum(1 for r in results for d in r.drift if d.is_drift)
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "workspace": str(workspace),
        "components": [_component_json(r) for r in sorted(results, key=lambda r: r.name)],
        "actions": [action_json(a) for a in actions],
        "summary": {
            "drift": drift_count,
            "actions": len(actions),
            "groups": len({a.group for a in actions}),
            "by_type": dict(sorted(Counter(str(a.type) for a in actions).items())),
            "unobserved": sorted(r.name for r in results if r.unobserved),
        },
    }
    document["plan_hash"] = plan_hash(document)
    document["meta"] = {
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": _hostname(),
        "trueup_version": __version__,
    }
    validate(document, "plan")
    return document


def _hostname() -> str:
    import socket  # imported here: a start-up cost for one call

    return socket.gethostname()


def validate(document: Any, where: str) -> None:
    if isinstance(document, dict) and document.get("format_version") not in (None, FORMAT_VERSION):
        raise PlanFileError(f"{where}: format_version {document['format_version']!r} is not {FORMAT_VERSION}, "
                            "the plan format this trueup reads", hint=REGENERATE_HINT)
    error = first_error("plan", document)
    if error is not None:
        raise PlanFileError(f"{where}: {field_path(error)}: {error.message}", hint=REGENERATE_HINT)


def read(path: Path) -> dict[str, Any]:
    """A plan file's document, parsed and validated against the plan schema."""
    raw = read_text(path, PlanFileError, missing="no such plan file", hint="create one with trueup plan -o FILE")
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise PlanFileError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}",
                            hint="fix the edit or " + REGENERATE_HINT) from None
    validate(document, str(path))
    return document


def decode(document: dict[str, Any], where: str) -> Plan:
    return Plan(where=where, document=document, plan_hash=document["plan_hash"], workspace=document["workspace"],
                      actions=tuple(action_from_json(a) for a in document["actions"]))


def load(path: Path) -> Plan:
    """A plan file, validated and decoded into the model."""
    return decode(read(path), str(path))


def verify_hash(document: dict[str, Any], where: str) -> None:
    if plan_hash(document) != document["plan_hash"]:
        raise RefusedError(f"{where}: plan was altered after it was made (plan_hash does not match its content)",
                           hint="only approval flags may be edited; run trueup plan again")


def exit_for(document: dict[str, Any]) -> int:
    """5 when nothing could be observed because a runtime host or manager was unreachable, 8 when only some."""
    unobserved = document["summary"].get("unobserved") or []
    if not unobserved:
        return EXIT_OK
    return EXIT_UNREACHABLE if len(unobserved) == len(document["components"]) else EXIT_PARTIAL
