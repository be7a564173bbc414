"""What trueup watch applies by itself: exactly what the workspace's policy allows, each plan hash at most once.

Without a policy (no `policy:` in trueup.yaml, or trueup.policy not installed) watch only alerts. The policy
engine decides (trueup.policy: rules, windows, limits, flap guard); here only the order of the steps: approve
in memory, apply through the same orchestrator as `trueup apply` (hash, lineage, lock, preconditions), record
the attempt — a failure is reported once and never retried (Argo CD's auto-sync does the same per commit).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trueup.errors import TrueupError
from trueup.manifest import Workspace


def _policy_engine():
    try:
        import trueup.policy as engine
    except ImportError:
        return None
    needed = ("load_policy", "approve_document", "already_auto_applied", "record_auto_apply")
    return engine if all(hasattr(engine, n) for n in needed) else None


def soak_by_runs(workspace: Workspace) -> list[str]:
    """What watch says when it starts about rules whose soak counts runs: every cycle of watch is a plan (a run), so
    N runs pass in N cycles — seconds, where the rule's author thought of daily plans; an age waits as meant."""
    engine = _policy_engine()
    try:
        policy = engine.load_policy(workspace) if engine is not None else None
    except TrueupError:
        return []  # the first cycle says what is wrong with it
    return [f"{rule.label} soaks by runs ({rule.soak.runs}), and every watch cycle is a run: that is seconds here; "
            f"soak: {{age: 1h}} waits as meant" for rule in (policy.rules if policy else ())
            if rule.soak is not None and rule.soak.runs]


def heal(workspace: Workspace, document: dict[str, Any], now: datetime) -> tuple[list[dict[str, Any]], frozenset[str]]:
    """(lines to emit, ids of the actions applied) after applying what the policy approves in ``document``."""
    engine = _policy_engine()
    if engine is None or not document["actions"]:
        return [], frozenset()
    policy = engine.load_policy(workspace)
    if policy is None:
        return [], frozenset()
    plan_hash = document["plan_hash"]
    if engine.already_auto_applied(workspace, plan_hash) is not None:
        return [], frozenset()  # tried once already: a failure was reported then
    approval = engine.approve_document(document, workspace, now)
    chosen = list(approval.added)
    if not chosen:
        return [], frozenset()
    at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    from trueup.actions.apply import apply_plan
    from trueup.planner import document as plans

    # Recorded before it runs: a watcher killed mid-apply (or a bug) must not try this plan again on restart.
    engine.record_auto_apply(workspace, plan_hash, error="interrupted: this automatic apply did not finish", now=now)
    try:
        plan = plans.decode(document, "trueup watch's plan")
        apply_plan(workspace, plan, approve=[], approve_all=False)
    except TrueupError as exc:
        engine.record_auto_apply(workspace, plan_hash, error=exc.message, now=now)
        return [{"event": "heal-failed", "at": at, "plan_hash": plan_hash, "error": exc.message,
                 "actions": [d.action_id for d in chosen]}], frozenset()
    engine.journal_approvals(workspace, document, approval)
    engine.record_auto_apply(workspace, plan_hash, applied=chosen, now=now)
    lines = [{"event": "healed", "at": at, "plan_hash": plan_hash, "component": d.component, "id": d.action_id,
              "type": d.type, "group": d.group, "rule": d.rule_name} for d in chosen]
    return lines, frozenset(d.action_id for d in chosen)
