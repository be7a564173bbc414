"""apply --policy (and the watcher's automatic apply): approve by policy, then apply — each plan hash at most once,
and a failed attempt is remembered and reported, never retried with the same plan (as Argo CD's auto-sync)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from attrs import frozen

from trueup.actions.apply import ApplyReport, apply_plan
from trueup.errors import TrueupError
from trueup.manifest import Workspace
from trueup.model.plan import Plan
from trueup.policy.approve import (
    PolicyApproval, already_auto_applied, approve_document, claim_auto_apply, journal_approvals, record_auto_apply,
    refuse_denied,
)


@frozen
class AutoApply:
    """What one automatic apply did: ``earlier`` (this plan hash was applied or tried before: nothing done), else the
    approvals, and ``report`` (None: the policy approved nothing, so nothing ran)."""

    approval: PolicyApproval | None = None
    report: ApplyReport | None = None
    earlier: dict[str, Any] | None = None


def earlier_problem(earlier: dict[str, Any], where: str) -> TrueupError | None:
    """The error to report for a plan hash whose automatic apply failed or never finished; None if it succeeded."""
    if earlier.get("ok") is None:
        return TrueupError(f"{where}: its automatic apply started at {earlier.get('at')} and did not finish; a plan "
                           "is applied automatically once, never retried",
                           hint="make a new plan (trueup plan -o plan.json) and review what it shows")
    if not earlier.get("ok"):
        return TrueupError(f"{where}: its automatic apply failed at {earlier.get('at')}: {earlier.get('error', '?')}; "
                           "a plan is applied automatically once, never retried",
                           hint="make a new plan (trueup plan -o plan.json) once the cause is fixed")
    return None


def apply_by_policy(workspace: Workspace, plan: Plan, now: datetime, *, write_to: Path | None = None,
                    notify=lambda message: None) -> AutoApply:
    """Approve ``plan`` by policy (into ``write_to`` too, when it is the plan's file) and apply what is approved.
    An apply that fails is recorded as failed, then its error raised: the caller reports it."""
    from trueup.planner import document as plans
    from trueup.state.atomic import write_text
    from trueup.state.canonical import canonical_json

    plans.verify_hash(plan.document, plan.where)
    before = already_auto_applied(workspace, plan.plan_hash)
    if before is not None:
        return AutoApply(earlier=before)
    approval = approve_document(plan.document, workspace, now)
    refuse_denied(approval, plan.document)
    if approval.added and write_to is not None:
        write_text(write_to, canonical_json(plan.document))
    journal_approvals(workspace, plan.document, approval)
    approved = plans.decode(plan.document, plan.where)
    if not any(a.approved for a in approved.actions):
        return AutoApply(approval=approval)
    earlier = claim_auto_apply(workspace, plan.plan_hash, now)  # another apply --policy (a watcher) may race this one
    if earlier is not None:
        return AutoApply(approval=approval, earlier=earlier)
    try:
        report = apply_plan(workspace, approved, approve=[], approve_all=False, notify=notify)
    except Exception as exc:
        record_auto_apply(workspace, plan.plan_hash, now=now,
                          error=exc.message if isinstance(exc, TrueupError) else f"{type(exc).__name__}: {exc}")
        raise
    ran = {a.id for a in report.applied}
    record_auto_apply(workspace, plan.plan_hash, now=now,
                      applied=[d for d in approval.decisions if d.approves and d.action_id in ran])
    return AutoApply(approval=approval, report=report)
