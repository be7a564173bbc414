"""Policy end to end (issue 15) on real git sources and files: approve --policy with the README's worked policy,
apply --policy once per plan hash, policy explain (golden), and bad policy input as one line."""

from __future__ import annotations

import json
import sqlite3

from ruamel.yaml import YAML

from tests.test_golden import check
from trueup.planner.document import plan_hash

# The README's worked example: regenerate generated files, clean up backups a week old, people decide the rest.
WORKED = {"rules": [
    {"name": "regenerate-generated-files", "match": {"action": "regenerate", "class": "generated"}, "effect": "auto"},
    {"name": "clean-week-old-backups", "match": {"action": "cleanup-backups", "class": "backup"},
     "soak": {"age": "7d"}, "effect": "auto"},
    {"name": "everything-else", "effect": "require-approval"},
]}
WEEK_AGO = "2026-11-20T12:00:00.000000Z"


def with_policy(project, policy) -> None:
    path = project.root / "trueup.yaml"
    yaml = YAML()
    document = yaml.load(path.read_text())
    document.pop("policy", None)
    if policy is not None:
        document["policy"] = policy
    with open(path, "w") as fh:
        yaml.dump(document, fh)


def drifted_a_week_ago(project) -> None:
    """A hand edit to CLAUDE.md (AGENTS.md is then stale) and a backup, first seen by a plan a week ago."""
    (project.install / "CLAUDE.md").write_text("Claude is the boss.\n")
    (project.install / "x.bak").write_text("old\n")
    assert project.run("plan", "-o", str(project.root / "first.json"))[0] == 0
    with sqlite3.connect(project.root / ".trueup-state" / "history.db") as conn:
        conn.execute("UPDATE runs SET at=? WHERE id=(SELECT MAX(id) FROM runs)", (WEEK_AGO,))


def planned(project, name: str = "plan.json"):
    path = project.root / name
    code, _, err = project.run("plan", "-o", str(path))
    assert code == 0, err
    return path


def test_approve_policy_approves_only_regenerate_and_old_backups_naming_the_rule(installed):
    with_policy(installed, WORKED)
    drifted_a_week_ago(installed)
    path = planned(installed)
    before = json.loads(path.read_text())
    code, out, err = installed.run("approve", str(path), "--policy", "-w", str(installed.root))
    assert code == 0, err
    after = json.loads(path.read_text())
    approved = {(a["type"], tuple(a["targets"])): a["approved_by"] for a in after["actions"] if a["approved"]}
    assert approved == {("regenerate", ("AGENTS.md",)): approved[("regenerate", ("AGENTS.md",))],
                        ("cleanup-backups", ("x.bak",)): approved[("cleanup-backups", ("x.bak",))]}
    assert approved[("regenerate", ("AGENTS.md",))]["name"] == "regenerate-generated-files"
    assert approved[("cleanup-backups", ("x.bak",))]["rule"] == 2
    # approvals are outside the hash: the plan is the same plan, and apply takes it
    assert after["plan_hash"] == before["plan_hash"] == plan_hash(after)
    journal = [json.loads(line) for line in (installed.root / ".trueup-state" / "journal.jsonl").read_text().splitlines()]
    [entry] = [e for e in journal if e["event"] == "policy-approved"]
    assert sorted((a["type"], a["rule_name"]) for a in entry["actions"]) == [
        ("cleanup-backups", "clean-week-old-backups"), ("regenerate", "regenerate-generated-files")]
    assert "+ " in out and "rule 1 (regenerate-generated-files)" in out
    code, out, err = installed.run("show", str(path))  # the review shows which rule approved what
    assert code == 0 and "(approved by policy rule 1: regenerate-generated-files)" in out, out + err
    assert "(approved by policy rule 2: clean-week-old-backups)" in out
    code, out, err = installed.run("apply", str(path))
    assert code == 0, out + err
    assert not (installed.install / "x.bak").exists()
    assert installed.kinds() == {("local-patch", "modified", "CLAUDE.md")}  # the hand edit waits for a person


def test_a_fresh_backup_is_not_soaked_and_no_policy_is_an_error(installed):
    with_policy(installed, WORKED)
    (installed.install / "x.bak").write_text("old\n")
    path = planned(installed)
    code, out, err = installed.run("approve", str(path), "--policy", "-w", str(installed.root), "--json")
    assert code == 0 and json.loads(out)["added"] == []
    decision = next(d for d in json.loads(out)["decisions"] if d["type"] == "cleanup-backups")
    assert decision["effect"] == "require-approval" and decision["reason"].startswith("soak: first seen")
    with_policy(installed, None)
    code, out, err = installed.run("approve", str(path), "--policy", "-w", str(installed.root))
    assert code == 1 and err.count("\n") == 1 and "there is no policy: in it" in err


def test_apply_policy_twice_applies_once_and_a_failed_automatic_apply_is_not_retried(installed):
    with_policy(installed, WORKED)
    (installed.install / "CLAUDE.md").write_text("Claude is the boss.\n")
    path = planned(installed)
    code, out, err = installed.run("apply", str(path), "--policy")
    assert code == 0 and "1 action applied (1 regenerate)" in out, out + err
    assert (installed.install / "AGENTS.md").read_text() == "Agent is the boss.\n"
    (installed.install / "AGENTS.md").write_text("edited by hand\n")
    code, out, err = installed.run("apply", str(path), "--policy")
    assert code == 0 and "applied automatically at" in out, out + err
    assert (installed.install / "AGENTS.md").read_text() == "edited by hand\n"  # not applied again
    state = json.loads((installed.root / ".trueup-state" / "policy.json").read_text())
    assert [h["type"] for h in state["heals"]] == ["regenerate"]

    (installed.install / "CLAUDE.md").write_text("Claude is the chief.\n")
    stale = planned(installed, "stale.json")
    (installed.install / "CLAUDE.md").write_text("Claude changed again.\n")  # after planning: the plan is stale
    code, _, err = installed.run("apply", str(stale), "--policy")
    assert code == 3, err
    (installed.install / "CLAUDE.md").write_text("Claude is the chief.\n")  # even with the world back as planned
    code, _, err = installed.run("apply", str(stale), "--policy")
    assert code == 1 and "never retried" in err and err.count("\n") == 1, err


def test_apply_policy_refuses_an_action_the_policy_denies_even_if_approved_by_hand(installed):
    with_policy(installed, {"rules": [{"name": "no-hand-restores", "match": {"action": "restore-source"},
                                       "effect": "deny"}]})
    (installed.install / "server" / "util.js").write_text("hot\n")
    path = planned(installed)
    document = json.loads(path.read_text())
    restore = installed.action(document, "restore-source", "server/util.js")["id"]
    assert installed.run("approve", str(path), restore)[0] == 0
    code, _, err = installed.run("apply", str(path), "--policy")
    assert code == 3 and "policy rule 1 (no-hand-restores) denies it" in err, err
    assert (installed.install / "server" / "util.js").read_text() == "hot\n"


def test_policy_explain_golden(installed, update_golden):
    with_policy(installed, WORKED)
    drifted_a_week_ago(installed)
    (installed.install / "server" / "util.js").write_text("hot\n")
    path = planned(installed)
    args = ("policy", "explain", str(path), "-w", str(installed.root), "--at", "2026-11-29T12:00:00Z")
    code, out, err = installed.run(*args)
    assert code == 0, err
    check("policy-explain.txt", out.replace(str(path), "plan.json"), update_golden)
    code, out, _ = installed.run(*args, "--json")
    decisions = json.loads(out)["decisions"]
    assert code == 0 and sorted(d["type"] for d in decisions if d["approves"]) == ["cleanup-backups", "regenerate"]


def test_bad_policy_is_one_line_with_file_field_and_fix(installed):
    with_policy(installed, {"windows": [{"cron": "0 25 * * *", "duration": "1h"}], "rules": []})
    path = planned(installed)  # a plan does not read the policy
    code, out, err = installed.run("policy", "explain", str(path), "-w", str(installed.root))
    assert code == 1 and err.count("\n") == 1
    assert "trueup.yaml: policy.windows[0].cron: '0 25 * * *' is not a cron expression" in err and "hint:" in err
    code, out, err = installed.run("validate", "-w", str(installed.root))
    assert code == 1 and "policy.windows[0].cron" in out + err  # validate finds it before any run needs the policy
    with_policy(installed, {"rules": [{"effect": "maybe"}]})
    code, out, err = installed.run("plan")
    assert code == 1 and err.count("\n") == 1
    assert "trueup.yaml:" in err and "policy.rules[0].effect: 'maybe' is not one of auto, require-approval, deny" in err


def test_a_file_that_keeps_flipping_is_not_healed_by_rule(installed):
    """Someone (or some tool) keeps rewriting AGENTS.md: history warns it oscillates, and the policy leaves the
    regenerate to a person instead of fighting it."""
    with_policy(installed, {"rules": [{"name": "regen", "match": {"action": "regenerate"}, "effect": "auto"}]})
    generated = (installed.install / "AGENTS.md").read_text()
    for flip in range(5):
        (installed.install / "AGENTS.md").write_text("by hand\n" if flip % 2 == 0 else generated)
        installed.plan()
    path = planned(installed)
    code, out, err = installed.run("apply", str(path), "--policy", "--json")
    assert code == 0 and json.loads(out)["applied"] == [], out + err
    code, out, _ = installed.run("policy", "explain", str(path), "-w", str(installed.root), "--json")
    regen = next(d for d in json.loads(out)["decisions"] if d["type"] == "regenerate")
    assert regen["effect"] == "require-approval" and regen["reason"].startswith("flap guard: history warns")
    assert (installed.install / "AGENTS.md").read_text() == "by hand\n"
