"""The decision for every action of a plan: a pure function of (plan document, policy, clock, policy state).

Ordered rules, the first whose match covers an action decides; no rule, no automatic approval. An ``auto`` rule
then still has to clear, in this order: the explicit naming upgrades and other risky types need, the windows,
soak, the flap guard, cooldown, the per-day and per-run limits, one action per drift, and the gates of the action.
Anything that stops it makes the decision ``require-approval``, with the reason.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import evolve, frozen

from trueup.policy import windows as windows_
from trueup.policy.matching import matches
from trueup.policy.rules import Limits, Policy, Rule
from trueup.policy.state import PolicyState
from trueup.policy.subjects import Subject, parse_at, subjects

DAY = timedelta(days=1)


@frozen
class Decision:
    action_id: str
    effect: str  # auto | require-approval | deny: what the policy decided, after every check
    enforcement: str  # enforce | warn | dry-run: whether it is acted on
    rule_index: int | None  # 1-based index in policy.rules; None: no rule matched
    rule_name: str | None
    reason: str
    component: str = ""
    type: str = ""
    group: str = ""

    @property
    def approves(self) -> bool:
        """approve --policy approves this action."""
        return self.effect == "auto" and self.enforcement == "enforce"

    @property
    def blocks(self) -> bool:
        """apply --policy refuses to run this action even if someone approved it by hand."""
        return self.effect == "deny" and self.enforcement == "enforce"

    @property
    def rule(self) -> str:
        return f"rule {self.rule_index} ({self.rule_name})" if self.rule_index else "no rule"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.action_id, "type": self.type, "component": self.component, "effect": self.effect,
                "enforcement": self.enforcement, "rule": self.rule_index, "rule_name": self.rule_name,
                "reason": self.reason, "approves": self.approves}


def _first_rule(policy: Policy, subject: Subject) -> Rule | None:
    for rule in policy.rules:
        if matches(rule.match, subject, deny=rule.effect == "deny"):
            return rule
    return None


def _soak(rule: Rule, subject: Subject, now: datetime) -> str | None:
    if rule.soak is None:
        return None
    if not subject.first_seen or any(s is None for s in subject.first_seen) or subject.history_run is None:
        return "soak: no history of this drift in the plan (history off, or not seen before)"
    if rule.soak.runs is not None:
        runs = min(subject.history_run - s["run"] + 1 for s in subject.first_seen)
        if runs < rule.soak.runs:
            return f"soak: seen in {runs} run{'s' if runs != 1 else ''}, the rule wants {rule.soak.runs}"
    if rule.soak.age is not None:
        age = min(now - parse_at(s["at"]) for s in subject.first_seen)
        if age < rule.soak.age:
            return f"soak: first seen {_span(age)} ago, the rule wants {_span(rule.soak.age)}"
    return None


def _span(length: timedelta) -> str:
    seconds = max(int(length.total_seconds()), 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class _Past:
    """The policy state read once per decide (a plan may hold thousands of actions): heals per unit within the
    flap guard's span, and each component's last heal."""

    def __init__(self, policy: Policy | None, state: PolicyState, now: datetime) -> None:
        guard = policy.flap_guard if policy is not None else None
        self.heals = Counter(h.group for h in state.heals if guard is not None and now - h.at <= guard.within)
        self.last: dict[str, datetime] = {}
        for heal in state.heals:
            if heal.component not in self.last or heal.at > self.last[heal.component]:
                self.last[heal.component] = heal.at


def _flapping(policy: Policy, subject: Subject, past: _Past) -> str | None:
    if subject.oscillating:
        return "flap guard: history warns this unit oscillates (or restarts in a loop); escalated to a person"
    guard = policy.flap_guard
    if guard is None:
        return None
    heals = past.heals[subject.group]
    if heals >= guard.heals:
        return f"flap guard: healed {heals} times within {_span(guard.within)}; escalated to a person"
    return None


def _cooldown(limits: Limits, subject: Subject, past: _Past, now: datetime) -> str | None:
    if limits.cooldown is None:
        return None
    last = past.last.get(subject.component)
    if last is not None and now - last < limits.cooldown:
        return f"cooldown: {subject.component} was healed {_span(now - last)} ago, the cooldown is {_span(limits.cooldown)}"
    return None


class _Counts:
    """What this run has approved so far, for the per-run and per-day limits."""

    def __init__(self, state: PolicyState, now: datetime) -> None:
        self.day = Counter(h.component for h in state.heals if now - h.at <= DAY)
        self.run = 0
        self.by_rule: Counter = Counter()
        self.groups: dict[str, str] = {}

    def over(self, limits: Limits, rule: Rule, subject: Subject, scope: str) -> str | None:
        run = self.by_rule[rule.index] if scope == "rule" else self.run
        if limits.max_actions_per_run is not None and run >= limits.max_actions_per_run:
            return f"limit: {scope} max_actions_per_run {limits.max_actions_per_run} reached"
        if limits.per_component_per_day is not None and self.day[subject.component] >= limits.per_component_per_day:
            return (f"limit: {scope} per_component_per_day {limits.per_component_per_day} reached for "
                    f"{subject.component}")
        return None

    def take(self, rule: Rule, subject: Subject) -> None:
        self.run += 1
        self.by_rule[rule.index] += 1
        self.day[subject.component] += 1
        self.groups[subject.group] = subject.id


def _auto(policy: Policy, rule: Rule, subject: Subject, now: datetime, past: _Past, counts: _Counts,
          approved_groups: dict[str, str], closed: dict[int, str | None]) -> str | None:
    """None when an ``auto`` rule's action may be approved now, else why not."""
    if subject.needs_explicit_rule and not rule.match.names(subject.type):
        what = "provenance drift" if subject.provenance_drift or subject.cls == "provenance" else subject.type
        return f"{what} is approved automatically only by a rule whose match names action: {subject.type}"
    if rule.index not in closed:  # the same for every action of the rule: cron is worked out once per rule
        closed[rule.index] = windows_.verdict((*policy.windows, *rule.windows), now)
    if closed[rule.index]:
        return closed[rule.index]
    for check in (_soak(rule, subject, now), _flapping(policy, subject, past),
                  _cooldown(policy.limits, subject, past, now), _cooldown(rule.limits, subject, past, now)):
        if check:
            return check
    enforced = rule.enforcement == "enforce"
    if enforced:
        for limits, scope in ((policy.limits, "policy"), (rule.limits, "rule")):
            over = counts.over(limits, rule, subject, scope)
            if over:
                return over
    other = approved_groups.get(subject.group) or counts.groups.get(subject.group)
    if other and other != subject.id:
        return f"another action of this drift ({other}) is approved already"
    return None


def decide(document: dict[str, Any], policy: Policy | None, now: datetime,
           state: PolicyState | None = None) -> list[Decision]:
    """The decision for every action of ``document`` (file order); a naive ``now`` is taken as UTC."""
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    state = state or PolicyState()
    found = subjects(document)
    approved_groups = {s.group: s.id for s in found if s.approved}
    counts = _Counts(state, now)
    past = _Past(policy, state, now)
    closed: dict[int, str | None] = {}
    decisions: list[Decision] = []
    for subject in found:
        rule = _first_rule(policy, subject) if policy is not None else None
        base = dict(action_id=subject.id, component=subject.component, type=subject.type, group=subject.group)
        if rule is None:
            decisions.append(Decision(effect="require-approval", enforcement="enforce", rule_index=None, rule_name=None,
                                      reason="no rule matches; nothing is approved automatically without one", **base))
            continue
        head = dict(enforcement=rule.enforcement, rule_index=rule.index, rule_name=rule.name, **base)
        if rule.effect != "auto":
            reason = "denied by this rule" if rule.effect == "deny" else "this rule leaves it to a person"
            decisions.append(Decision(effect=rule.effect, reason=reason, **head))
            continue
        stopped = _auto(policy, rule, subject, now, past, counts, approved_groups, closed)
        if stopped:
            decisions.append(Decision(effect="require-approval", reason=stopped, **head))
            continue
        if rule.enforcement == "enforce":
            counts.take(rule, subject)
        decisions.append(Decision(effect="auto", reason=_approved_reason(rule), **head))
    return _close_gates(decisions, found)


def _approved_reason(rule: Rule) -> str:
    if rule.enforcement == "enforce":
        return "approved by this rule"
    return "would be approved by this rule (" + rule.enforcement + ": not acted on)"


def _close_gates(decisions: list[Decision], found: list[Subject]) -> list[Decision]:
    """An auto-approved action gated by drift nobody approved an action for (an upgrade over a local change) is
    left to a person: approving it would be a plan apply refuses. Repeated until nothing changes (a downgraded
    action may have been another's gate)."""
    by_id = {s.id: s for s in found}
    by_hand = {s.group for s in found if s.approved}
    changed = True
    while changed:
        changed = False
        covered = {by_id[d.action_id].group for d in decisions if d.approves} | by_hand
        for index, decision in enumerate(decisions):
            gates = [g for g in by_id[decision.action_id].gated if g not in covered] if decision.approves else []
            if gates:
                decisions[index] = evolve(decision, effect="require-approval",
                                          reason=f"gated by {len(gates)} drift nobody approved an action for ({gates[0]})")
                if by_id[decision.action_id].group not in by_hand:  # approved by hand, it stays approved
                    covered.discard(by_id[decision.action_id].group)
                changed = True
    return decisions
