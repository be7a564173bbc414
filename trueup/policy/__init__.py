"""Policy: which actions may be approved by rule, and why (README, "Policy").

The face other parts (the CLI, ``trueup watch``) call; signatures here stay stable:

- ``load_policy(workspace) -> Policy | None``: trueup.yaml's ``policy:`` parsed (None: no policy, nothing automatic)
- ``decide(plan_document, policy, now, state=None) -> list[Decision]``: pure; one Decision per action, file order
- ``approve_by_policy(plan_path, workspace, now) -> PolicyApproval``: approve --policy on a plan file
- ``approve_document(document, workspace, now) -> PolicyApproval``: the same on a document in memory (no write)
- ``claim_auto_apply(workspace, plan_hash) -> dict | None`` (None: yours to apply; else the earlier record),
  ``already_auto_applied(workspace, plan_hash)``, ``record_auto_apply(workspace, plan_hash, applied=, error=)``:
  a plan hash is applied automatically at most once; a failure is recorded and reported, never retried
- ``trueup.policy.auto_apply.apply_by_policy(workspace, plan, now, write_to=, notify=) -> AutoApply``: all of the
  above and the apply (apply --policy; imported from there: it sits above trueup.actions)
"""

from __future__ import annotations

from trueup.policy.approve import (
    PolicyApproval, already_auto_applied, approve_by_policy, approve_document, claim_auto_apply, journal_approvals,
    record_auto_apply, refuse_denied,
)
from trueup.policy.decide import Decision, decide
from trueup.policy.load import load_policy, require_policy
from trueup.policy.rules import Policy, PolicyError, Rule
from trueup.policy.state import PolicyState
from trueup.policy.state import load as load_state

__all__ = [
    "Decision", "Policy", "PolicyApproval", "PolicyError", "PolicyState", "Rule", "already_auto_applied",
    "approve_by_policy", "approve_document", "claim_auto_apply", "decide", "journal_approvals", "load_policy", "load_state",
    "record_auto_apply", "refuse_denied", "require_policy",
]
