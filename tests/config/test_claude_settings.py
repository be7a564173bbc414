"""The real Claude Code settings.json shape: framework hook groups co-owned with the user's own hooks."""

from __future__ import annotations

import copy
import json

import pytest

from trueup.model.keys import config_key

from tests.config.harness import Harness, kinds, plan_dump

SPEC = {
    "path": "~/zylos/.claude/settings.json",
    "format": "json",
    "template": "templates/settings.json",
    "lists": {
        "hooks.*": {"key": ["matcher"]},
        "hooks.*[].hooks": {"key": ["command"], "paths": ["command"]},
        "permissions.allow": {"key": ".", "paths": ["."]},
    },
    "runtime_keys": ["auth.api_token"],
}

START = "node ~/zylos/.claude/skills/activity-monitor/scripts/session-start.js --shard identity"
ACTIVITY = "node ~/zylos/.claude/skills/activity-monitor/scripts/hook-activity.js"
GUARD = "node /home/u/my-hooks/guard.js"


def framework_v1() -> dict:
    return {
        "model": "opus",
        "hooks": {
            "SessionStart": [{"matcher": "startup", "hooks": [{"type": "command", "command": START, "timeout": 20000}]}],
            "PreToolUse": [
                {"matcher": "", "hooks": [{"type": "command", "command": ACTIVITY, "async": True, "timeout": 5}]}
            ],
        },
        "permissions": {"allow": ["Bash(node ~/zylos/bin/status.js)"]},
        "auth": {"api_token": "initial-placeholder"},
    }


def framework_v2() -> dict:
    """Adds a hook (and a group), changes one, retires one."""
    return {
        "model": "opus",
        "hooks": {
            "SessionStart": [
                {"matcher": "startup", "hooks": [{"type": "command", "command": START, "timeout": 30000}]},
                {"matcher": "compact", "hooks": [{"type": "command", "command": START}]},
            ],
            "PreToolUse": [{"matcher": "", "hooks": []}],
            "Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "node ~/zylos/stop.js"}]}],
        },
        "permissions": {"allow": ["Bash(node ~/zylos/bin/status.js)", "Read(~/zylos/**)"]},
        "auth": {"api_token": "initial-placeholder"},
    }


@pytest.fixture
def h(tmp_path, monkeypatch):
    harness = Harness(tmp_path, SPEC)
    monkeypatch.setenv("HOME", str(harness.home))
    return harness


def user_customizes(h: Harness) -> None:
    live = h.live_json()
    pre = live["hooks"]["PreToolUse"]
    pre[0]["hooks"].append({"type": "command", "command": "node ~/mine/audit.js"})  # inside a framework group
    pre.append({"matcher": "Bash", "hooks": [{"type": "command", "command": GUARD}]})  # the user's own group
    live["auth"]["api_token"] = "sk-live-rotated-by-the-service-0123456789"  # rewritten by the running service
    h.write_live(live)


def test_upgrade_keeps_user_group_and_user_hook_inside_framework_group(h):
    h.upgrade(framework_v1(), "1.0")
    user_customizes(h)
    assert h.plan(framework_v1(), "1.0").drift == ()  # the user's additions and the runtime key are no drift

    plan = h.upgrade(framework_v2(), "2.0")
    found = kinds(plan)
    assert set(found) == {"missing", "outdated", "obsolete"}
    assert any("Stop" in k for k in found["missing"]) and any("compact" in k for k in found["missing"])
    assert found["outdated"] == [
        'item:hooks.SessionStart[matcher="startup"].hooks[command="node '
        '~/zylos/.claude/skills/activity-monitor/scripts/session-start.js --shard identity"]'
    ]
    assert found["obsolete"] == [
        'item:hooks.PreToolUse[matcher=""].hooks[command="node '
        '~/zylos/.claude/skills/activity-monitor/scripts/hook-activity.js"]'
    ]

    live = h.live_json()
    pre = live["hooks"]["PreToolUse"]
    assert pre[0] == {"matcher": "", "hooks": [{"type": "command", "command": "node ~/mine/audit.js"}]}
    assert pre[1] == {"matcher": "Bash", "hooks": [{"type": "command", "command": GUARD}]}
    assert live["hooks"]["SessionStart"][0]["hooks"][0]["timeout"] == 30000
    assert [g["matcher"] for g in live["hooks"]["SessionStart"]] == ["startup", "compact"]
    assert live["permissions"]["allow"] == ["Bash(node ~/zylos/bin/status.js)", "Read(~/zylos/**)"]
    assert live["auth"]["api_token"] == "sk-live-rotated-by-the-service-0123456789"
    assert h.plan(framework_v2(), "2.0").drift == ()


def test_legacy_tilde_and_absolute_forms_are_one_entry(h):
    h.upgrade(framework_v1(), "1.0")
    # an older installer (or the user) spelled the same command with the absolute home path, quoted
    text = h.live_bytes().decode().replace("node ~/zylos/", f'node \\"{h.home}/zylos/')
    text = text.replace("session-start.js --shard", 'session-start.js\\" --shard')
    h.write_live(text)
    assert str(h.home) in h.live_bytes().decode()
    assert h.plan(framework_v1(), "1.0").drift == ()

    h.upgrade(framework_v2(), "2.0")
    starts = h.live_json()["hooks"]["SessionStart"][0]["hooks"]
    assert len(starts) == 1, "the absolute form must be updated in place, not joined by a ~ duplicate"
    assert starts[0]["timeout"] == 30000
    assert starts[0]["command"].startswith(f'node "{h.home}/zylos/')  # the live spelling is kept
    assert h.plan(framework_v2(), "2.0").drift == ()


def test_secret_values_never_appear_in_the_plan(h):
    secret = "sk-live-rotated-by-the-service-0123456789"
    v1 = framework_v1()
    v1["telemetry"] = {"password": "hunter2", "endpoint": "https://t.example"}
    h.upgrade(v1, "1.0")
    live = h.live_json()
    live["auth"]["api_token"] = secret
    live["telemetry"]["password"] = "hunter3"
    h.write_live(live)
    v2 = copy.deepcopy(v1)
    v2["telemetry"]["password"] = "hunter4"
    v2["auth"]["api_token"] = "placeholder-2"
    plan = h.plan(v2, "2.0")
    assert kinds(plan) == {"user-modified": ["setting:telemetry.password"]}
    dumped = plan_dump(plan)
    import hashlib

    for value in (secret, "hunter2", "hunter3", "hunter4", "placeholder-2"):
        assert value not in dumped
        for form in (value, json.dumps(value), json.dumps(value, separators=(",", ":"))):
            assert hashlib.sha256(form.encode()).hexdigest() not in dumped
    assert "<redacted>" in dumped
    entry = next(e for e in plan.diff["entries"] if e["entry"] == "setting:telemetry.password")
    assert entry["secret"] and entry["changed"] is True and entry["before"] == "<redacted>"
    # the file holds secrets, so its fingerprint is keyed, never a plain sha256 of the bytes
    assert plan.preconditions[config_key("~/zylos/.claude/settings.json", "sha256")].startswith("hmac-sha256:")
    assert hashlib.sha256(h.live_bytes()).hexdigest() not in dumped
    # and the registry keeps only keyed hashes of secret-like values
    assert h.registry()["setting:telemetry.password"]["hash"].startswith("hmac-sha256:")
    assert oct((h.state_dir / "registry.key").stat().st_mode & 0o777) == "0o600"


def test_plan_writes_nothing_not_even_the_key(h):
    plan = h.plan(framework_v1(), "1.0")
    assert plan.drift and not h.state_dir.exists() and not h.live_path.exists()
    h.write_live({"auth": {"api_token": "abc"}})
    plan = h.plan(framework_v1(), "1.0")
    assert not h.state_dir.exists()
    assert plan.preconditions[config_key("~/zylos/.claude/settings.json", "sha256")].startswith("masked-sha256:")
