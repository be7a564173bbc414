"""The plan document: the versioned JSON contract that files, renderers and apply all read.

Built from the model here, and decoded back into it here (``load``): nothing else encodes precondition
keys, target kinds or approval flags.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trueup import __version__
from trueup.errors import (
    EXIT_OK, EXIT_PARTIAL, EXIT_UNREACHABLE, PlanFileError, RefusedError, TrueupError, escape, shorten, value,
)
from trueup.model import keys
from trueup.model.ids import digest
from trueup.model.paths import relative_to_root
from trueup.model.plan import (
    APPLY_ORDER, Action, ActionType, ComponentResult, Drift, DriftClass, Plan, PlanWarning, TargetKind,
)
from trueup.planner import plan_limits
from trueup.readfile import read_text
from trueup.schemas.validate import field_path, first_error
from trueup.state.atomic import write_text
from trueup.state.canonical import canonical_json

# 2: actions carry ``target_kind`` (file | config-entry | service).
FORMAT_VERSION = 2
REGENERATE_HINT = "regenerate it with trueup plan -o FILE"
STDIN = "-"  # the plan file name that means: read the plan from standard input (write it to standard output)
# Facts that name paths: recorded relative to the workspace when inside it (config facts hold content, not paths).
PATH_FACTS = ("install_path", "runtime")


def drift_json(item: Drift) -> dict[str, Any]:
    return {"class": str(item.cls), "kind": item.kind, "path": item.path, "expected": item.expected, "actual": item.actual}


def recorded(key: keys.FactKey, value: Any, root: str) -> Any:
    """A precondition's value as a plan records it: what the running service was observed to run (its cwd,
    its command) relative to the workspace root when inside it. apply compares what it observes in this form."""
    return relative_to_root(value, root) if key.provider == keys.RUNTIME else value


def action_json(action: Action, root: str) -> dict[str, Any]:
    out = {
        "id": action.id, "type": str(action.type), "component": action.component,
        "target_kind": str(action.target_kind), "targets": list(action.targets),
        "group": action.group, "recommended": action.recommended, "approved": action.approved,
        "preconditions": {keys.encode(k): recorded(k, v, root) for k, v in action.preconditions.items()},
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


def _portable_drift(item: Drift, root: str) -> dict[str, Any]:
    out = drift_json(item)
    # Runtime items describe paths the service manager runs from; every other class names content or install paths.
    return relative_to_root(out, root) if item.cls == DriftClass.RUNTIME else out


def _component_json(result: ComponentResult, root: str) -> dict[str, Any]:
    facts = {k: relative_to_root(v, root) if k in PATH_FACTS else v for k, v in result.facts.items()}
    return {
        "name": result.name,
        "status": str(result.status),
        "facts": facts,
        "drift": [_portable_drift(d, root) for d in result.drift if d.is_drift],
        "info": [_portable_drift(d, root) for d in result.drift if not d.is_drift],
        "warnings": [warning_json(w) for w in result.warnings],
        "unobserved": result.unobserved,
    }


def warning_json(item: PlanWarning) -> dict[str, Any]:
    out = {"class": str(item.cls), "kind": item.kind, "path": item.path, "message": item.message}
    if item.details:
        out["details"] = item.details
    return out


# Outside the hash: ``meta`` (when, where), the hash itself, and ``lineage``. The lineage differs between two
# checkouts of one state, which must still make one plan (same plan_hash); apply checks it on its own.
UNHASHED = ("meta", "plan_hash", "lineage")
APPROVALS = ("approved", "approved_by")  # an action's approval and the policy rule that gave it


def plan_hash(document: dict[str, Any]) -> str:
    """sha256 of everything but ``UNHASHED`` and the approvals (reviewers may flip those; ``approved_by`` names the
    policy rule that approved an action, trueup/policy)."""
    body = {k: v for k, v in document.items() if k not in UNHASHED}
    body["actions"] = [{k: v for k, v in a.items() if k not in APPROVALS} for a in body.get("actions", [])]
    return digest(body)


def _action_order(action: Action) -> tuple:
    return (action.component, action.group, not action.recommended, APPLY_ORDER.index(action.type))


def build(workspace: Path, lineage: str, results: list[ComponentResult], actions: list[Action]) -> dict[str, Any]:
    """The plan document; paths inside ``workspace`` are recorded relative to it (the workspace itself as '.')."""
    actions = sorted(actions, key=_action_order)
    drift_count = sum(1 for r in results for d in r.drift if d.is_drift)
    root = str(workspace)
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "workspace": relative_to_root(root, root),
        "lineage": lineage,
        "components": [_component_json(r, root) for r in sorted(results, key=lambda r: r.name)],
        "actions": [action_json(a, root) for a in actions],
        "summary": {
            "drift": drift_count,
            "warnings": sum(len(r.warnings) for r in results),
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
    if os.environ.get("TRUEUP_SELF_CHECK") == "1":
        # The test suite (tests/conftest.py) checks every plan trueup builds against its schema. A plan run skips
        # it (~0.35 s at 10,000 drift items, docs/performance.md): show, approve and apply validate every plan
        # they read, so a document this code got wrong is refused at the next step, never acted on.
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
        message, quoted = error.message, repr(error.instance)
        if len(quoted) > 80 and message.startswith(quoted):  # jsonschema's messages start with the value itself
            message = value(error.instance) + message[len(quoted):]
        if len(message) > 120:
            message = f"{value(error.instance, 60)} is not valid here ({error.validator})"
        raise PlanFileError(f"{where}: {shorten(field_path(error), 120)}: {escape(message)}", hint=REGENERATE_HINT)


def is_stdin(path: Path | str) -> bool:
    return str(path) == STDIN


def plan_name(path: Path | str) -> str:
    """How messages name a plan file: its path, or <stdin>."""
    return "<stdin>" if is_stdin(path) else str(path)


def check_destination(path: Path) -> None:
    """A plan is written only into a directory that exists: a mistyped path is no reason to make directories."""
    if not is_stdin(path) and not path.parent.is_dir():
        raise PlanFileError(f"{path}: cannot write the plan: {path.parent} is not a directory",
                            hint="create the directory first, or write the plan elsewhere")


def write(path: Path, document: dict[str, Any]) -> None:
    """Write a plan file atomically (``-``: to standard output)."""
    check_destination(path)
    if is_stdin(path):
        sys.stdout.write(canonical_json(document))
    else:
        write_text(path, canonical_json(document))


def _read_stdin() -> str:
    if sys.stdin is None or sys.stdin.isatty():  # waiting for someone to type a plan helps nobody
        raise PlanFileError("<stdin>: standard input is a terminal, not a plan",
                            hint="pipe one in: trueup plan -o - | trueup show -")
    stream = getattr(sys.stdin, "buffer", None)
    try:
        return stream.read().decode("utf-8") if stream is not None else sys.stdin.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"<stdin>: cannot read the plan: {exc}") from None


def read(path: Path) -> dict[str, Any]:
    """A plan file's document (``-``: from standard input), parsed and validated against the plan schema."""
    if is_stdin(path):
        raw = _read_stdin()
        if not raw.strip():
            raise PlanFileError("<stdin>: no plan was given on standard input",
                                hint="pipe one in: trueup plan -o - | trueup show -")
    else:
        raw = read_text(path, PlanFileError, missing="no such plan file", hint="create one with trueup plan -o FILE")
    plan_limits.check_text(raw, plan_name(path))
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise PlanFileError(f"{plan_name(path)}:{exc.lineno}: not valid JSON: {exc.msg}",
                            hint="fix the edit or " + REGENERATE_HINT) from None
    except RecursionError:
        raise PlanFileError(f"{plan_name(path)}: nested more than {plan_limits.MAX_DEPTH} levels deep",
                            hint=REGENERATE_HINT) from None
    plan_limits.check_document(document, plan_name(path))
    plan_limits.check_surrogates(raw, document, plan_name(path))
    validate(document, plan_name(path))
    plan_limits.check_paths(document, plan_name(path))
    return document


def decode(document: dict[str, Any], where: str) -> Plan:
    return Plan(where=where, document=document, plan_hash=document["plan_hash"], workspace=document["workspace"],
                lineage=document["lineage"], actions=tuple(_decode_action(a, i, where) for i, a in enumerate(document["actions"])))


def _decode_action(raw: dict[str, Any], index: int, where: str) -> Action:
    try:
        return action_from_json(raw)
    except TrueupError as exc:  # an unknown precondition key: name the plan file, the action and the key
        for key in raw["preconditions"]:
            try:
                keys.decode(key)
            except TrueupError:
                raise type(exc)(f"{where}: actions[{index}].preconditions: unknown key {value(key)}",
                                hint=exc.hint) from None
        raise type(exc)(f"{where}: actions[{index}]: {exc.message}", hint=exc.hint) from None


def load(path: Path) -> Plan:
    """A plan file (``-``: standard input), validated and decoded into the model."""
    return decode(read(path), plan_name(path))


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
