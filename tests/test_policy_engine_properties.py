"""Policy property (issue 15): for random plans and random policies, nothing outside what the rules allow is ever
approved automatically — and the risky types only by a rule that names them."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.policy_docs import act, doc
from trueup.model.recommendations import RECOMMENDATIONS
from trueup.policy import decide
from trueup.policy.matching import matches
from trueup.policy.rules import parse
from trueup.policy.subjects import subjects

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
OFFERS = sorted({(str(o if isinstance(o, str) else o[0]), str(c), k)
                 for (c, k), (rec, alts) in RECOMMENDATIONS.items() for o in (rec, *alts)})
TYPES = sorted({t for t, _, _ in OFFERS})
PATHS = ["a.js", "docs/x.md", "x.bak", "AGENTS.md", None]


def risky(action: dict, provenance_drift: bool) -> bool:
    """The oracle, written apart from trueup/policy: what only a rule naming the type may approve."""
    kind = (action["_drift"]["class"], action["_drift"]["kind"])
    return (provenance_drift or action["type"] in ("upgrade", "import")
            or (action["type"] == "restore-source" and kind not in {("file", "missing"), ("file", "mode-changed")})
            or (action["type"] == "cleanup-backups" and kind != ("file", "leftover")))


actions = st.builds(lambda offer, path, component: act(offer[0], offer[1], offer[2], path, component=component),
                    st.sampled_from(OFFERS), st.sampled_from(PATHS), st.sampled_from(["app", "web-api", "db"]))
few = lambda values: st.one_of(st.just([]), st.lists(st.sampled_from(values), min_size=1, max_size=3))  # noqa: E731
matches_ = st.fixed_dictionaries({}, optional={
    "action": few([*TYPES, "*"]), "class": few(["generated", "backup", "local-patch", "file", "source", "*"]),
    "component": few(["app", "web-*", "*"]), "path": few(["docs/**", "*.bak", "*"]),
    "provenance": few(["verified", "unverified", "*"])})
rules = st.lists(st.fixed_dictionaries({"effect": st.sampled_from(["auto", "auto", "require-approval", "deny"]),
                                        "match": matches_},
                                       optional={"enforcement": st.sampled_from(["enforce", "warn", "dry-run"])}),
                 max_size=5)


def _clean(rule: dict) -> dict:
    return {**rule, "match": {k: v for k, v in rule["match"].items() if v}}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, max_size=8, unique_by=lambda a: a["id"]), rules, st.booleans())
def test_no_action_outside_what_the_rules_allow_is_ever_approved(plan_actions, raw_rules, unverified):
    plan = doc(*plan_actions)
    if unverified:
        for component in plan["components"]:
            component["drift"].append({"class": "provenance", "kind": "unverified", "path": None})
    policy = parse({"rules": [_clean(r) for r in raw_rules]})
    decisions = decide(plan, policy, NOW)
    assert [d.action_id for d in decisions] == [a["id"] for a in plan["actions"]]
    assert not any(d.approves for d in decide(plan, None, NOW))
    by_id = {s.id: s for s in subjects(plan)}
    originals = {a["id"]: a for a in plan_actions}
    groups = set()
    for decision in decisions:
        if not decision.approves:
            continue
        rule = policy.rules[decision.rule_index - 1]
        subject = by_id[decision.action_id]
        # approved only by the first rule that matches, an auto rule that is enforced
        assert rule.effect == "auto" and rule.enforcement == "enforce" and matches(rule.match, subject)
        assert not any(matches(r.match, subject, deny=r.effect == "deny") for r in policy.rules[:rule.index - 1])
        if risky(originals[decision.action_id], unverified and bool(plan["components"])):
            assert decision.type in rule.match.action, (decision, rule)
        assert subject.group not in groups  # one action per drift
        groups.add(subject.group)
