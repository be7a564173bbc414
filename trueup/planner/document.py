"""The plan document: the versioned JSON contract that files, renderers and apply all read."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trueup import __version__
from trueup.errors import PlanFileError, RefusedError
from trueup.planner.ids import digest
from trueup.readfile import read_text
from trueup.planner.model import APPLY_ORDER, Action, ComponentResult, Drift
from trueup.schemas.validate import field_path, first_error

FORMAT_VERSION = 1


def drift_json(item: Drift) -> dict[str, Any]:
    return {"class": str(item.cls), "kind": item.kind, "path": item.path, "expected": item.expected, "actual": item.actual}


def action_json(action: Action) -> dict[str, Any]:
    out = {
        "id": action.id, "type": str(action.type), "component": action.component, "targets": list(action.targets),
        "group": action.group, "recommended": action.recommended, "approved": action.approved,
        "preconditions": action.preconditions, "reason": action.reason, "gated": list(action.gated),
    }
    if action.details:
        out["details"] = action.details
    return out


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
    import socket  # ~3 ms to import, for one call

    return socket.gethostname()


def validate(document: Any, where: str) -> None:
    error = first_error("plan", document)
    if error is not None:
        raise PlanFileError(f"{where}: {field_path(error)}: {error.message}",
                            hint="regenerate it with trueup plan -o FILE")


def load(path: Path) -> dict[str, Any]:
    raw = read_text(path, PlanFileError, missing="no such plan file", hint="create one with trueup plan -o FILE")
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise PlanFileError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}",
                            hint="fix the edit or regenerate it with trueup plan -o FILE") from None
    validate(document, str(path))
    return document


def verify_hash(document: dict[str, Any], where: str) -> None:
    if plan_hash(document) != document["plan_hash"]:
        raise RefusedError(f"{where}: plan was altered after it was made (plan_hash does not match its content)",
                           hint="only approval flags may be edited; run trueup plan again")


def with_approvals(document: dict[str, Any], approved: set[str]) -> dict[str, Any]:
    out = copy.deepcopy(document)
    for action in out["actions"]:
        action["approved"] = action["id"] in approved
    return out


def exit_for(document: dict[str, Any]) -> int:
    """5 when nothing could be observed because a runtime host or manager was unreachable, 8 when only some."""
    from trueup.errors import EXIT_OK, EXIT_PARTIAL, EXIT_UNREACHABLE

    unobserved = document["summary"].get("unobserved") or []
    if not unobserved:
        return EXIT_OK
    return EXIT_UNREACHABLE if len(unobserved) == len(document["components"]) else EXIT_PARTIAL
