"""Policy (issue 15): rule matching and ordering, the explicit naming risky actions need, windows, soak, limits,
cooldown and the flap guard — all with a fixed clock, on plan documents built in tests/policy_docs.py."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from tests.policy_docs import act, doc
from trueup.errors import ManifestError
from trueup.policy import PolicyState, decide
from trueup.policy.rules import PolicyError, parse
from trueup.policy.state import Heal

NOW = datetime(2026, 11, 29, 1, 30, tzinfo=UTC)  # 02:30 in Berlin (CET)

ORDERED = parse({"rules": [
    {"name": "no-prod-upgrades", "match": {"action": "upgrade", "host": "prod-*"}, "effect": "deny"},
    {"name": "upgrades", "match": {"action": ["upgrade"]}, "effect": "auto"},
    {"name": "docs-regen", "match": {"action": "regenerate", "path": "docs/**"}, "effect": "auto"},
    {"name": "keep-config", "match": {"class": "config"}, "effect": "require-approval"},
    {"name": "restart-web", "match": {"action": "restart", "component": "web-*"}, "effect": "auto"},
    {"name": "anything", "match": {}, "effect": "auto"},
]})

# (action, host) → (effect, deciding rule index): first match wins; a wildcard never covers the risky types.
MATCHING = [
    (act("upgrade", "source", "outdated", None), "prod-3", "deny", 1),
    (act("upgrade", "source", "outdated", None), "web1", "auto", 2),
    (act("regenerate", "generated", "stale", "docs/AGENTS.md"), "web1", "auto", 3),
    (act("regenerate", "generated", "stale", "AGENTS.md"), "web1", "auto", 6),
    (act("upgrade", "config", "outdated", "settings.json"), "web1", "auto", 2),  # rule 2 comes before rule 4
    (act("accept-local", "config", "user-modified", "settings.json"), "web1", "require-approval", 4),
    (act("restart", "runtime", "stale-process", None, component="web-api"), "web1", "auto", 5),
    (act("restart", "runtime", "stale-process", None, component="worker"), "web1", "auto", 6),
    (act("restore-source", "local-patch", "modified", "server/index.js"), "web1", "require-approval", 6),
    (act("restore-source", "file", "missing", "server/index.js"), "web1", "auto", 6),
    (act("restore-source", "file", "type-changed", "bin/run"), "web1", "require-approval", 6),
    (act("cleanup-backups", "backup", "unacknowledged", "x.bak"), "web1", "require-approval", 6),
    (act("cleanup-backups", "file", "untracked", "cache/"), "web1", "require-approval", 6),
    (act("cleanup-backups", "file", "leftover", ".x.trueup-tmp-1"), "web1", "auto", 6),
    (act("import", "source", "unmanaged", None), "web1", "require-approval", 6),
    (act("accept-local", "local-patch", "modified", "server/index.js"), "web1", "auto", 6),
]


@pytest.mark.parametrize("action,host,effect,rule", MATCHING,
                         ids=[f"{a['type']}-{a['_drift']['kind']}-{h}" for a, h, _, _ in MATCHING])
def test_table_first_matching_rule_decides(action, host, effect, rule):
    [decision] = decide(doc(action, host=host), ORDERED, NOW)
    assert (decision.effect, decision.rule_index) == (effect, rule), decision.reason
    assert decision.approves == (effect == "auto")


def test_no_policy_or_no_matching_rule_approves_nothing():
    plan = doc(act("regenerate", "generated", "stale", "AGENTS.md"), act("upgrade", "source", "outdated", None))
    for policy in (None, parse({"rules": [{"match": {"component": "other"}, "effect": "auto"}]}), parse({})):
        decisions = decide(plan, policy, NOW)
        assert [d.effect for d in decisions] == ["require-approval"] * 2
        assert all(d.rule_index is None and "no rule matches" in d.reason for d in decisions)


def test_risky_types_need_a_rule_naming_them_and_provenance_drift_too():
    wildcard = parse({"rules": [{"match": {"action": "*"}, "effect": "auto"}]})
    plan = doc(act("upgrade", "source", "outdated", None))
    [decision] = decide(plan, wildcard, NOW)
    assert decision.effect == "require-approval" and "names action: upgrade" in decision.reason
    # An install whose provenance is in doubt: even accept-local needs a rule that names it.
    unverified = doc(act("accept-local", "local-patch", "modified", "a.js"),
                     info={"app": [{"class": "provenance", "kind": "unverified", "path": None}]})
    unverified["components"][0]["drift"].append({"class": "provenance", "kind": "unverified", "path": None})
    [decision] = decide(unverified, wildcard, NOW)
    assert decision.effect == "require-approval" and "provenance" in decision.reason
    named = parse({"rules": [{"match": {"action": "accept-local", "provenance": "unverified"}, "effect": "auto"}]})
    assert decide(unverified, named, NOW)[0].approves


def test_paths_every_target_for_auto_any_target_for_deny():
    both = act("accept-local", "file", "untracked", "docs/", targets=("docs/a.md", "secrets/key"))
    auto = parse({"rules": [{"match": {"path": "docs/**"}, "effect": "auto"}]})
    assert decide(doc(both), auto, NOW)[0].effect == "require-approval"  # one target is outside the glob
    deny = parse({"rules": [{"match": {"path": "secrets/**"}, "effect": "deny"}, {"effect": "auto"}]})
    assert (decide(doc(both), deny, NOW)[0].effect, decide(doc(both), deny, NOW)[0].rule_index) == ("deny", 1)


BERLIN = {"windows": [{"cron": "0 2 * * *", "duration": "4h", "mode": "allow", "timezone": "Europe/Berlin"},
                      {"cron": "0 3 * * *", "duration": "30m", "mode": "deny", "timezone": "Europe/Berlin"}],
          "rules": [{"match": {"action": "regenerate"}, "effect": "auto"}]}


@pytest.mark.parametrize("utc,approved", [
    ("2026-11-29T00:59:00", False),  # 01:59 in Berlin: before the allow window
    ("2026-11-29T01:00:00", True),  # 02:00: the window opens
    ("2026-11-29T01:30:00", True),
    ("2026-11-29T02:10:00", False),  # 03:10: inside the deny window (deny wins)
    ("2026-11-29T02:31:00", True),  # 03:31: the deny window has closed
    ("2026-11-29T04:59:00", True),
    ("2026-11-29T05:00:00", False),  # 06:00: the allow window has closed
    ("2026-07-01T00:30:00", True),  # 02:30 in summer (CEST, UTC+2)
    ("2026-07-01T01:10:00", False),  # 03:10 CEST: deny window
])
def test_table_windows_with_a_fixed_clock(utc, approved):
    now = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    [decision] = decide(doc(act("regenerate", "generated", "stale", "AGENTS.md")), parse(BERLIN), now)
    assert decision.approves == approved, decision.reason
    if not approved:
        assert "window" in decision.reason


def test_a_rules_own_windows_apply_to_it_alone():
    policy = parse({"rules": [
        {"match": {"action": "restart"}, "effect": "auto",
         "windows": [{"cron": "0 12 * * 6", "duration": "2h"}]},  # Saturdays 12:00-14:00 UTC
        {"match": {"action": "regenerate"}, "effect": "auto"}]})
    plan = doc(act("restart", "runtime", "stale-process", None), act("regenerate", "generated", "stale", "A.md"))
    sunday = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
    assert [d.approves for d in decide(plan, policy, sunday)] == [False, True]
    saturday = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
    assert [d.approves for d in decide(plan, policy, saturday)] == [True, True]


def _regens(n: int, component: str = "app") -> list[dict]:
    return [act("regenerate", "generated", "stale", f"G{i}.md", component=component) for i in range(n)]


def test_limits_per_run_per_rule_and_per_component_per_day():
    policy = parse({"limits": {"max_actions_per_run": 2}, "rules": [{"match": {"action": "regenerate"}, "effect": "auto"}]})
    decisions = decide(doc(*_regens(3)), policy, NOW)
    assert [d.approves for d in decisions] == [True, True, False]
    assert "max_actions_per_run 2" in decisions[2].reason
    rule_limit = parse({"rules": [{"match": {"action": "regenerate"}, "effect": "auto", "limits": {"max_actions_per_run": 1}},
                                  {"match": {"action": "accept-local"}, "effect": "auto"}]})
    plan = doc(*_regens(2), act("accept-local", "local-patch", "modified", "a.js"))
    assert [d.approves for d in decide(plan, rule_limit, NOW)] == [True, False, True]
    daily = parse({"limits": {"per_component_per_day": 3}, "rules": [{"match": {"action": "regenerate"}, "effect": "auto"}]})
    past = PolicyState(heals=(Heal(NOW - timedelta(hours=2), "app", "g", "regenerate", "1"),
                              Heal(NOW - timedelta(hours=23), "app", "g", "regenerate", "2"),
                              Heal(NOW - timedelta(hours=25), "app", "g", "regenerate", "3"),  # over a day ago
                              Heal(NOW - timedelta(hours=1), "other", "g", "regenerate", "4")))
    decisions = decide(doc(*_regens(3)), daily, NOW, past)
    assert [d.approves for d in decisions] == [True, False, False]
    assert "per_component_per_day 3 reached for app" in decisions[1].reason


def test_cooldown_after_an_automatic_heal_of_the_component():
    policy = parse({"limits": {"cooldown": "1h"}, "rules": [{"match": {"action": "regenerate"}, "effect": "auto"}]})
    plan = doc(*_regens(1))
    recent = PolicyState(heals=(Heal(NOW - timedelta(minutes=30), "app", "g", "regenerate", "1"),))
    [decision] = decide(plan, policy, NOW, recent)
    assert not decision.approves and decision.reason.startswith("cooldown: app was healed 30m ago")
    older = PolicyState(heals=(Heal(NOW - timedelta(minutes=61), "app", "g", "regenerate", "1"),))
    assert decide(plan, policy, NOW, older)[0].approves


def test_flap_guard_escalates_a_unit_healed_too_often_and_history_oscillation():
    policy = parse({"flap_guard": {"heals": 3, "within": "1h"},
                    "rules": [{"match": {"action": "regenerate"}, "effect": "auto"}]})
    flapping, steady = _regens(2)
    past = PolicyState(heals=tuple(Heal(NOW - timedelta(minutes=m), "app", flapping["group"], "regenerate", flapping["id"])
                                   for m in (10, 20, 59, 200)))
    decisions = decide(doc(flapping, steady), policy, NOW, past)
    assert [d.approves for d in decisions] == [False, True]
    assert decisions[0].reason.startswith("flap guard: healed 3 times within 1h")
    two = PolicyState(heals=past.heals[:2])
    assert decide(doc(flapping, steady), policy, NOW, two)[0].approves
    # history's own oscillation warning about a target: not healed automatically, with or without a guard
    wobbly = doc(steady, run=9, warnings=[{"component": "app", "class": "file", "kind": "oscillating", "path": "G1.md",
                                           "message": "m"}])
    assert not decide(wobbly, parse({"rules": [{"effect": "auto"}]}), NOW)[0].approves


def test_soak_runs_and_age_from_the_plans_history():
    item = act("cleanup-backups", "backup", "unacknowledged", "x.bak")
    policy = parse({"rules": [{"match": {"action": "cleanup-backups"}, "soak": {"runs": 3, "age": "7d"}, "effect": "auto"}]})

    def seen(run: int, first_run: int, days: float) -> dict:
        at = (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return doc(item, run=run, since={"app": {"backup:unacknowledged:x.bak": {"run": first_run, "at": at}}})

    assert decide(seen(7, 5, 8), policy, NOW)[0].approves  # 3 runs, 8 days
    assert "seen in 2 runs" in decide(seen(6, 5, 8), policy, NOW)[0].reason
    assert "first seen 6d ago, the rule wants 7d" in decide(seen(7, 5, 6), policy, NOW)[0].reason
    assert "no history" in decide(doc(item), policy, NOW)[0].reason  # history off: never soaked


def test_one_action_per_drift_and_gates_stay_closed():
    backup = [act("accept-local", "backup", "unacknowledged", "x.bak"),
              act("cleanup-backups", "backup", "unacknowledged", "x.bak", recommended=False)]
    both = parse({"rules": [{"match": {"action": ["accept-local", "cleanup-backups"]}, "effect": "auto"}]})
    decisions = decide(doc(*backup), both, NOW)
    assert [d.approves for d in decisions] == [True, False]
    assert "another action of this drift" in decisions[1].reason
    patch = act("accept-local", "local-patch", "modified", "a.js")
    upgrade = act("upgrade", "source", "outdated", None, gated=(patch["group"],))
    only_upgrades = parse({"rules": [{"match": {"action": "upgrade"}, "effect": "auto"}]})
    decisions = decide(doc(patch, upgrade), only_upgrades, NOW)
    assert [d.approves for d in decisions] == [False, False] and "gated by 1 drift" in decisions[1].reason
    with_gate = parse({"rules": [{"match": {"action": ["upgrade", "accept-local"]}, "effect": "auto"}]})
    assert [d.approves for d in decide(doc(patch, upgrade), with_gate, NOW)] == [True, True]
    by_hand = doc(dict(patch, approved=True), upgrade)
    assert [d.approves for d in decide(by_hand, only_upgrades, NOW)] == [False, True]


def test_enforcement_warn_and_dry_run_report_without_approving_and_deny_blocks():
    plan = doc(*_regens(1), act("upgrade", "source", "outdated", None))
    policy = parse({"rules": [{"match": {"action": "regenerate"}, "effect": "auto", "enforcement": "warn"},
                              {"match": {"action": "upgrade"}, "effect": "deny", "enforcement": "dry-run"}]})
    regen, upgrade = decide(plan, policy, NOW)
    assert (regen.effect, regen.approves, regen.enforcement) == ("auto", False, "warn")
    assert (upgrade.effect, upgrade.blocks) == ("deny", False)
    enforced = parse({"rules": [{"match": {"action": "upgrade"}, "effect": "deny"}]})
    assert decide(plan, enforced, NOW)[1].blocks


def test_decide_is_pure_same_inputs_same_decisions_document_untouched():
    plan = doc(*_regens(3), act("upgrade", "source", "outdated", None), run=4)
    before = copy.deepcopy(plan)
    policy = parse({"limits": {"max_actions_per_run": 2}, "rules": [{"effect": "auto", "match": {"action": "*"}}]})
    assert decide(plan, policy, NOW) == decide(plan, policy, NOW)
    assert plan == before


@pytest.mark.parametrize("raw,field,fix", [
    ({"rules": [{"effect": "auto", "windows": [{"cron": "61 * * * *", "duration": "1h"}]}]},
     "policy.rules[0].windows[0].cron", "five fields"),
    ({"windows": [{"cron": "0 2 * * * *", "duration": "1h"}]}, "policy.windows[0].cron", "five fields"),
    ({"windows": [{"cron": "0 2 * * *", "duration": "1h", "timezone": "Mars/Olympus"}]}, "policy.windows[0].timezone", "IANA"),
    ({"rules": [{"effect": "auto", "match": {"action": "reboot"}}]}, "policy.rules[0].match.action", "one of: accept-local"),
    ({"rules": [{"effect": "auto", "match": {"class": "files"}}]}, "policy.rules[0].match.class", "one of: source"),
])
def test_table_bad_policy_is_one_line_naming_file_field_and_fix(raw, field, fix):
    with pytest.raises(PolicyError) as caught:
        parse(raw, "trueup.yaml")
    assert caught.value.message.startswith(f"trueup.yaml: {field}: ") and fix in caught.value.hint
    assert isinstance(caught.value, ManifestError)


def test_a_plan_hash_is_claimed_once_and_a_success_is_never_overwritten(tmp_path):
    from trueup.manifest import Workspace
    from trueup.policy import already_auto_applied, claim_auto_apply, load_state, record_auto_apply

    ws = Workspace(root=tmp_path, manifest_path=tmp_path / "trueup.yaml", state_dir=tmp_path / "state",
                   require_verified=False, components=())
    assert claim_auto_apply(ws, "h1", NOW) is None
    assert claim_auto_apply(ws, "h1", NOW) == {"at": "2026-11-29T01:30:00Z", "ok": None, "actions": []}
    [regen] = decide(doc(*_regens(1)), parse({"rules": [{"match": {"action": "regenerate"}, "effect": "auto"}]}), NOW)
    record_auto_apply(ws, "h1", applied=[regen], now=NOW)
    record_auto_apply(ws, "h1", error="lock held by a racing apply", now=NOW)  # the loser of a race
    assert already_auto_applied(ws, "h1")["ok"] is True
    record_auto_apply(ws, "h2", error="stale plan", now=NOW)
    assert already_auto_applied(ws, "h2") == {"at": "2026-11-29T01:30:00Z", "ok": False, "actions": [],
                                              "error": "stale plan"}
    [heal] = load_state(ws.state_dir).heals
    assert (heal.component, heal.group, heal.type, heal.rule) == ("app", regen.group, "regenerate", "rule-1")
    (ws.state_dir / "policy.json").write_text("{not json")
    with pytest.raises(Exception) as caught:
        claim_auto_apply(ws, "h3", NOW)
    assert "cannot read the policy state" in str(caught.value) and "move" in caught.value.hint


def test_the_readmes_policy_examples_are_valid_policies():
    import re
    from pathlib import Path

    from ruamel.yaml import YAML

    from trueup.schemas.validate import first_error

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("\n## Policy\n", 1)[1].split("\n## ", 1)[0]
    rules, extras = re.findall(r"```yaml\n(.*?)```", section, re.S)[:2]
    policy = YAML(typ="safe").load(rules)["policy"]
    policy.update(YAML(typ="safe").load("policy:\n" + extras)["policy"])
    assert first_error("workspace", {"version": 1, "policy": policy}) is None
    parsed = parse(policy)
    assert [r.name for r in parsed.rules] == ["regenerate-generated-files", "clean-week-old-backups", "everything-else"]
    assert parsed.flap_guard is not None and len(parsed.windows) == 2


def test_decide_is_linear_in_the_plan():
    """A plan with thousands of actions (a 100k-file tree's untracked files) decides in well under a second on a quiet
    machine; each component's drift is indexed once, not scanned per action (that took minutes at 10,000)."""
    import time

    plan = doc(*[act("regenerate", "generated", "stale", f"d{i % 50}/g{i}.md") for i in range(3000)],
               *[act("accept-local", "local-patch", "modified", f"src/f{i}.js") for i in range(3000)], run=5)
    policy = parse({"flap_guard": {"heals": 3, "within": "1h"}, "windows": [{"cron": "0 2 * * *", "duration": "1h",
                                                                             "mode": "deny"}],
                    "rules": [{"match": {"action": "regenerate", "path": "d1*/**"}, "effect": "auto"},
                              {"effect": "require-approval"}]})
    started = time.perf_counter()
    decisions = decide(plan, policy, NOW)
    assert time.perf_counter() - started < 10  # ~0.2 s here; the per-action scan it guards against took ~60 s
    assert sum(d.approves for d in decisions) == 660


@pytest.mark.parametrize("warning,escalated", [
    ({"class": "file", "kind": "oscillating", "path": "G0.md"}, {"regenerate G0.md"}),
    ({"class": "file", "kind": "oscillating", "path": None}, {"regenerate G0.md", "regenerate G1.md"}),  # the set
    ({"class": "runtime", "kind": "restart-loop", "path": None}, {"restart"}),
    ({"class": "runtime", "kind": "oscillating", "path": None}, {"restart"}),
    ({"class": "file", "kind": "silent-rewrite", "path": "G0.md"}, set()),  # not flapping
])
def test_table_history_flapping_escalates_the_unit_it_names(warning, escalated):
    plan = doc(*_regens(2), act("restart", "runtime", "stale-process", None), run=3,
               warnings=[{"component": "app", "message": "m", **warning}])
    decisions = decide(plan, parse({"rules": [{"match": {"action": ["regenerate", "restart"]}, "effect": "auto"}]}), NOW)
    names = {f"{d.type} {d.group.rsplit('/', 1)[-1]}" if d.type != "restart" else "restart": d for d in decisions}
    assert {n for n, d in names.items() if not d.approves} == escalated
    assert all(names[n].reason.startswith("flap guard") for n in escalated)
