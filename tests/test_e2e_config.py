"""Co-owned config end to end through trueup plan/apply: Claude Code's settings.json as platforms write it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import V1, V2

MONITOR = "node ~/zylos/.claude/skills/activity-monitor/scripts"


def settings(*, startup_timeout=20000, pre_timeout=5, compact=False, retire_startup=False) -> str:
    session = [] if retire_startup else [{"matcher": "startup", "hooks": [
        {"type": "command", "command": f"{MONITOR}/session-start.js --shard identity", "timeout": startup_timeout}]}]
    if compact:
        session.append({"matcher": "compact", "hooks": [{"type": "command", "command": f"{MONITOR}/session-start.js --shard identity"}]})
    return json.dumps({
        "hooks": {
            "SessionStart": session,
            "PreToolUse": [{"matcher": "", "hooks": [{"type": "command", "command": f"{MONITOR}/hook-activity.js",
                                                      "async": True, "timeout": pre_timeout}]}],
        },
        "permissions": {"allow": ["Bash(git status)"]},
        "auth": {"api_token": "TEMPLATE-PLACEHOLDER"},
    }, indent=2) + "\n"


CONFIG = [{
    "path": "~/zylos/.claude/settings.json",
    "format": "json",
    "template": "templates/settings.json",
    "lists": {"hooks.*": {"key": ["matcher"]},
              "hooks.*[].hooks": {"key": ["command"], "paths": ["command"]},
              "permissions.allow": {"key": ".", "paths": ["."]}},
    "runtime_keys": ["auth.api_token"],
}]


def _setup(project):
    v1 = {**V1, "templates/settings.json": settings()}
    v2 = {**V1, "package.json": V2["package.json"], "templates/settings.json": settings(pre_timeout=10, compact=True, retire_startup=True)}
    project.source({"v1": v1, "v2": v2})
    project.manifest(ref="v1", extra={"config": CONFIG})


def _apply_all(project):
    plan_file = project.root / "plan.json"
    assert project.run("plan", "-o", str(plan_file))[0] == 0
    code, out, err = project.run("apply", str(plan_file), "--approve-all")
    assert code == 0, err
    return out


def test_settings_json_upgrade_keeps_user_hooks(project):
    _setup(project)
    live = Path.home() / "zylos/.claude/settings.json"
    live.parent.mkdir(parents=True)
    live.write_text(json.dumps({"model": "opus"}, indent=2) + "\n")
    doc = project.plan()
    assert {d["kind"] for c in doc["components"] for d in c["drift"] if d["class"] == "config"} == {"missing"}
    _apply_all(project)
    data = json.loads(live.read_text())
    assert data["model"] == "opus" and data["hooks"]["SessionStart"][0]["matcher"] == "startup"
    assert project.kinds() == set()

    # The user adds a Bash group and an entry of their own inside a framework group; the framework's
    # hook is spelled with an absolute path (legacy form); the service rewrites its token.
    home = str(Path.home())
    data["hooks"]["PreToolUse"].append({"matcher": "Bash", "hooks": [{"type": "command", "command": "node /home/u/my-hooks/guard.js"}]})
    data["hooks"]["PreToolUse"][0]["hooks"].append({"type": "command", "command": "node ~/mine/audit.js"})
    data["hooks"]["PreToolUse"][0]["hooks"][0]["command"] = f'node "{home}/zylos/.claude/skills/activity-monitor/scripts/hook-activity.js"'
    data["auth"]["api_token"] = "sk-live-rotated-by-service"
    live.write_text(json.dumps(data, indent=2) + "\n")
    assert project.kinds() == set(), "path variants and runtime keys are not drift"

    project.manifest(ref="v2", extra={"config": CONFIG})
    doc = project.plan()
    rendered = project.run("plan")[1] + json.dumps(doc)
    assert "sk-live-rotated-by-service" not in rendered
    _apply_all(project)
    data = json.loads(live.read_text())
    groups = {g["matcher"]: g for g in data["hooks"]["PreToolUse"]}
    assert groups["Bash"]["hooks"] == [{"type": "command", "command": "node /home/u/my-hooks/guard.js"}]
    commands = [h["command"] for h in groups[""]["hooks"]]
    assert "node ~/mine/audit.js" in commands
    assert groups[""]["hooks"][0]["timeout"] == 10  # the framework's change arrived
    assert [g["matcher"] for g in data["hooks"]["SessionStart"]] == ["compact"]  # startup retired, compact added
    assert data["auth"]["api_token"] == "sk-live-rotated-by-service"
    assert data["model"] == "opus"
    assert project.kinds() == set()
    # Idempotent: nothing left to do, and a plan changes nothing.
    before = live.read_bytes()
    assert project.plan()["actions"] == []
    assert live.read_bytes() == before


def test_config_edit_after_plan_makes_it_stale(project):
    _setup(project)
    doc = project.plan()
    live = Path.home() / "zylos/.claude/settings.json"
    live.parent.mkdir(parents=True)
    live.write_text("{}\n")
    upgrade = [a for a in doc["actions"] if a.get("details", {}).get("config")][0]
    code, out, err = project.apply_ids(doc, upgrade["id"])
    assert code == 3 and "plan is stale: config file ~/zylos/.claude/settings.json" in err
    assert live.read_text() == "{}\n"


def test_unparseable_config_reported_never_written(project):
    _setup(project)
    live = Path.home() / "zylos/.claude/settings.json"
    live.parent.mkdir(parents=True)
    live.write_text("{ not json\n")
    code, out, err = project.run("plan", "--detailed-exitcode")
    assert code == 2 and "does not parse" in out
    doc = project.plan()
    assert not [a for a in doc["actions"] if a.get("details", {}).get("config")]
    assert live.read_text() == "{ not json\n"
