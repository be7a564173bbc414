"""Approving by policy: write the approvals the policy gives into a plan (with the rule that gave each, outside the
plan hash) and into the journal; remember the plan hashes applied automatically, so each is applied at most once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from attrs import evolve, frozen

from trueup.errors import RefusedError, TrueupError
from trueup.manifest import Workspace
from trueup.policy import state as states
from trueup.policy.decide import Decision, decide
from trueup.policy.load import require_policy
from trueup.policy.state import Heal


@frozen
class PolicyApproval:
    """What approve --policy did: every decision (file order), the ones it newly approved, and the plan's hash."""

    plan_hash: str
    decisions: tuple[Decision, ...]
    added: tuple[Decision, ...]
    total: int  # actions approved in the plan now, by hand or by rule

    @property
    def approved(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.approves)


def approve_document(document: dict[str, Any], workspace: Workspace, now: datetime) -> PolicyApproval:
    """Mark in ``document`` the actions the workspace's policy approves (``approved_by`` names the rule); no I/O but
    reading the policy state."""
    policy = require_policy(workspace)
    decisions = decide(document, policy, now, states.load(workspace.state_dir))
    by_id = {d.action_id: d for d in decisions}
    added = []
    for action in document["actions"]:
        decision = by_id[action["id"]]
        if decision.approves and not action["approved"]:
            action["approved"] = True
            action["approved_by"] = {"rule": decision.rule_index, "name": decision.rule_name, "at": _stamp(now)}
            added.append(decision)
    total = sum(1 for a in document["actions"] if a["approved"])
    return PolicyApproval(plan_hash=document["plan_hash"], decisions=tuple(decisions), added=tuple(added), total=total)


def journal_approvals(workspace: Workspace, document: dict[str, Any], approval: PolicyApproval) -> None:
    from trueup.state import journal

    if approval.added:
        journal.record(workspace.state_dir, {
            "event": "policy-approved", "plan_hash": approval.plan_hash, "lineage": document.get("lineage"),
            "actions": [{"id": d.action_id, "type": d.type, "component": d.component, "rule": d.rule_index,
                         "rule_name": d.rule_name} for d in approval.added]})


def approve_by_policy(plan_path: Path, workspace: Workspace, now: datetime) -> PolicyApproval:
    """approve --policy: the plan file gets the approvals the policy gives, atomically; the journal says which rule."""
    from trueup.planner import document as plans
    from trueup.state.atomic import write_text
    from trueup.state.canonical import canonical_json

    if plans.is_stdin(plan_path):
        raise TrueupError("approve writes the approvals back into the plan file, and standard input is no file",
                          hint="save the plan first (trueup plan -o plan.json), or: trueup apply - --policy")
    plan = plans.load(plan_path)
    plans.verify_hash(plan.document, str(plan_path))
    approval = approve_document(plan.document, workspace, now)
    if approval.added:
        write_text(plan_path, canonical_json(plan.document))
        journal_approvals(workspace, plan.document, approval)
    return approval


def refuse_denied(approval: PolicyApproval, document: dict[str, Any]) -> None:
    """apply --policy: an action the policy denies (enforce) is not run, even when approved by hand."""
    approved = {a["id"] for a in document["actions"] if a["approved"]}
    for decision in approval.decisions:
        if decision.blocks and decision.action_id in approved:
            raise RefusedError(f"{decision.type} {decision.action_id} of {decision.component} is approved, but "
                               f"policy {decision.rule} denies it",
                               hint="unapprove it in the plan, or change the rule in trueup.yaml's policy:")


def already_auto_applied(workspace: Workspace, plan_hash: str) -> dict[str, Any] | None:
    """The record of this plan hash's automatic apply ({at, ok, error?, actions}; ok None: started, never finished),
    or None: each plan hash is applied automatically at most once."""
    return states.load(workspace.state_dir).applied.get(plan_hash)


def claim_auto_apply(workspace: Workspace, plan_hash: str, now: datetime | None = None) -> dict[str, Any] | None:
    """Claim ``plan_hash`` for one automatic apply: None when this caller may apply it (recorded as started, so a
    second caller racing it, or any later one, gets the record instead), else the earlier record."""
    now = now or datetime.now(UTC)
    earlier: list[dict[str, Any]] = []

    def claim(current: PolicyState) -> PolicyState | None:
        if plan_hash in current.applied:
            earlier.append(current.applied[plan_hash])
            return None
        started = {"at": _stamp(now), "ok": None, "actions": []}
        return evolve(current, applied={**current.applied, plan_hash: started})

    states.update(workspace.state_dir, claim, now)
    return earlier[0] if earlier else None


def record_auto_apply(workspace: Workspace, plan_hash: str, *, applied: tuple[Decision, ...] | list[Decision] = (),
                      error: str | None = None, now: datetime | None = None) -> None:
    """Remember that ``plan_hash`` was applied automatically (``error``: and failed — reported, never retried), and
    the heals it made (``applied``: the decisions of the actions that ran), for limits, cooldown and the flap guard.
    A success already recorded is never overwritten by a later failure (a racing second caller's)."""
    now = now or datetime.now(UTC)
    entry: dict[str, Any] = {"at": _stamp(now), "ok": error is None, "actions": [d.action_id for d in applied]}
    if error is not None:
        entry["error"] = error[:300]
    heals = tuple(Heal(at=now, component=d.component, group=d.group, type=d.type, id=d.action_id, rule=d.rule_name)
                  for d in applied)

    def record(current: PolicyState) -> PolicyState:
        kept = current.applied.get(plan_hash)
        outcome = kept if kept and kept.get("ok") and error is not None else entry
        return evolve(current, heals=current.heals + heals, applied={**current.applied, plan_hash: outcome})

    states.update(workspace.state_dir, record, now)


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
