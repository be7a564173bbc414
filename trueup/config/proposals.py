"""Findings → drift items, proposal groups with their change ops, and the per-entry structured diff.

Everything produced here goes into plans: values pass through `shown()` so secrets appear only as
`<redacted>`, and change ops name entries rather than carry values apply would trust.
"""

from __future__ import annotations

import json
from typing import Any

from deepdiff import DeepDiff

from trueup.config.entries import ConfigEntry
from trueup.config.reconcile import (
    COLLISION,
    MISSING,
    OBSOLETE,
    OBSOLETE_USER_MODIFIED,
    OUTDATED,
    SHADOWED,
    USER_MODIFIED,
    Finding,
)
from trueup.config.redact import REDACTED, is_secret_path, redact_value
from trueup.model.ids import group_key
from trueup.model.plan import ActionType, Drift, DriftClass
from trueup.model.recommendations import options

# op names in change lists
ADD, UPDATE, REMOVE, ACCEPT, RESTORE = "add", "update", "remove", "accept", "restore"

UPGRADE_OP = {MISSING: ADD, OUTDATED: UPDATE, OBSOLETE: REMOVE}
# The op each option carries out on an entry whose ownership needs a decision; which option is recommended
# is the policy's (trueup.model.recommendations): keeping the operator's value.
OWNERSHIP_OPS = {
    USER_MODIFIED: {ActionType.ACCEPT_LOCAL: ACCEPT, ActionType.RESTORE_SOURCE: RESTORE},
    OBSOLETE_USER_MODIFIED: {ActionType.ACCEPT_LOCAL: ACCEPT, ActionType.RESTORE_SOURCE: REMOVE},
    # A framework entry an unrecorded value hides: keep the user's (recorded, so it is not reported again)
    # or take the framework's.
    SHADOWED: {ActionType.ACCEPT_LOCAL: ACCEPT, ActionType.RESTORE_SOURCE: RESTORE},
}


def ownership_options(kind: str) -> tuple[tuple[ActionType, str, bool], ...]:
    """(option type, op, recommended) for an entry the user changed, in the policy's order."""
    ops = OWNERSHIP_OPS.get(kind)
    if ops is None:
        return ()
    return tuple((option, ops[option], recommended) for option, recommended in options(DriftClass.CONFIG, kind))


def shown(entry: ConfigEntry | None, patterns: tuple[str, ...]) -> Any:
    """An entry's value as it may appear in a plan."""
    if entry is None:
        return None
    if is_secret_path(entry.names, patterns):
        return REDACTED
    return redact_value(entry.value, patterns)


def _target(finding: Finding, op: str) -> ConfigEntry | None:
    if op in (ADD, UPDATE, RESTORE):
        return finding.template
    if op == ACCEPT:
        return finding.live
    return None


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def value_diff(before: Any, after: Any, key: str = "") -> list[str]:
    """The differing keys and values, one line each: ``timeout: 10 → 30``, ``+ env.DEBUG: 1``, ``- retries: 3``.

    Values are as a plan may show them (``shown``): a secret is ``<redacted>`` on both sides, so its line says
    only that it changed.
    """
    label = key or "value"
    if before == after:  # equal as shown: at the top only a redacted secret can hide the difference
        return [f"{label}: changed (secret)"] if not key and REDACTED in json.dumps(before) else []
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for name in list(before) + [k for k in after if k not in before]:
            sub = f"{key}.{name}" if key else str(name)
            if name not in after:
                out.append(f"- {sub}: {_scalar(before[name])}")
            elif name not in before:
                out.append(f"+ {sub}: {_scalar(after[name])}")
            else:
                out += value_diff(before[name], after[name], sub)
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [line for i, (b, a) in enumerate(zip(before, after)) for line in value_diff(b, a, f"{key}[{i}]")]
    if before is None:
        return [f"+ {label}: {_scalar(after)}"]
    if after is None:
        return [f"- {label}: {_scalar(before)}"]
    if REDACTED in (before, after):
        return [f"{label}: changed (secret)"]
    return [f"{label}: {_scalar(before)} → {_scalar(after)}"]


def change(finding: Finding, op: str, patterns: tuple[str, ...]) -> dict[str, Any]:
    before, after = shown(finding.live, patterns), shown(_target(finding, op), patterns)
    # What the op changes, key by key: an accepted entry is shown against the template it departs from.
    was = shown(finding.template, patterns) if op == ACCEPT else before
    return {"op": op, "entry": finding.entry, "before": before, "after": after, "diff": value_diff(was, after)}


def allowed_ops(findings: tuple[Finding, ...], option_type: str) -> set[tuple[str, str]]:
    """The (op, entry) pairs an option of this type may carry out for these findings."""
    allowed = set()
    for finding in findings:
        if option_type == ActionType.UPGRADE and finding.kind in UPGRADE_OP:
            allowed.add((UPGRADE_OP[finding.kind], finding.entry))
        for option, op, _ in ownership_options(finding.kind):
            if option == option_type:
                allowed.add((op, finding.entry))
    return allowed


def groups(component: str, path: str, findings: tuple[Finding, ...], patterns: tuple[str, ...]) -> list[dict]:
    """One upgrade group per kind for the whole file; one group per entry whose ownership needs a decision."""
    out = []
    for kind, op in UPGRADE_OP.items():
        batch = [f for f in findings if f.kind == kind]
        if batch:
            out.append(
                {
                    "group_key": group_key(component, DriftClass.CONFIG, kind, path),
                    "drift_kind": kind,
                    "entry": None,
                    "entries": [f.entry for f in batch],
                    "options": [
                        {
                            "type": str(ActionType.UPGRADE),
                            "recommended": True,
                            "changes": [change(f, op, patterns) for f in batch],
                        }
                    ],
                }
            )
    for finding in findings:
        if finding.kind in OWNERSHIP_OPS:
            out.append(
                {
                    "group_key": group_key(component, DriftClass.CONFIG, finding.kind, path, entry=finding.entry),
                    "drift_kind": finding.kind,
                    "entry": finding.entry,
                    "entries": [finding.entry],
                    "options": [
                        {"type": str(option), "recommended": recommended, "changes": [change(finding, op, patterns)]}
                        for option, op, recommended in ownership_options(finding.kind)
                    ],
                }
            )
    return out


def drift_item(finding: Finding, path: str, patterns: tuple[str, ...]) -> Drift:
    if finding.kind == COLLISION:
        actual = {"entry": finding.entry, "values": [shown(e, patterns) for e in finding.collided]}
        if finding.reason:
            actual["in"] = finding.reason
        expected = {"entry": finding.entry, "value": shown(finding.template, patterns)}
    else:
        expected = {"entry": finding.entry, "value": shown(finding.template, patterns)}
        actual = {"entry": finding.entry, "value": shown(finding.live, patterns)}
        if finding.reason:
            actual["reason"] = finding.reason
    return Drift(cls=DriftClass.CONFIG, kind=finding.kind, path=path, expected=expected, actual=actual)


def _details(before: Any, after: Any) -> Any:
    if not isinstance(before, (dict, list)) or not isinstance(after, (dict, list)):
        return None
    return json.loads(DeepDiff(before, after, verbose_level=2).to_json())


def entry_diff(finding: Finding, patterns: tuple[str, ...]) -> dict[str, Any]:
    """One entry's structured diff: live (before) → what the recommended resolution leaves (after)."""
    target = finding.template if finding.kind in (MISSING, OUTDATED, USER_MODIFIED, SHADOWED) else None
    before, after = shown(finding.live, patterns), shown(target, patterns)
    secret = any(e is not None and e.secret for e in (finding.live, finding.template, *finding.collided))
    if finding.kind == COLLISION:
        changed = None
    elif finding.live is None or target is None:
        changed = True
    else:
        changed = finding.live.norm != target.norm
    return {
        "entry": finding.entry,
        "kind": finding.kind,
        "secret": secret,
        "before": before,
        "after": after,
        "changed": changed,
        "details": None if secret else _details(before, after),
    }
