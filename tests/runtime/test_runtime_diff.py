"""diff_runtime and its helpers as pure functions: edge cases a live manager cannot easily show."""

from __future__ import annotations

from pathlib import Path

import pytest

from trueup.errors import ManifestError
from trueup.model.versions import version_key
from trueup.model.keys import runtime_key
from trueup.runtime.drift import RESTART_RESOLVES, command_matches, diff_runtime, restart_preconditions
from trueup.runtime.observation import RuntimeObservation
from trueup.runtime.spec import RuntimeSpec
from trueup.runtime.times import is_before, normalize_iso


def pm2_spec(**block) -> RuntimeSpec:
    return RuntimeSpec.from_manifest(
        {"manager": "pm2", "service": "recruit", "command": "node server/index.js", **block},
        install_path=Path("installed/recruit"),
        workspace=Path("/ws"),
    )


def running(**facts) -> RuntimeObservation:
    base = {
        "command": ["node", "/ws/installed/recruit/server/index.js"],
        "cwd": "/ws/installed/recruit",
        "pid": 10,
        "present": True,
        "started_at": "2026-11-22T01:50:00.000Z",
        "status": "running",
    }
    return RuntimeObservation(manager="pm2", service="recruit", where="local", reachable=True, facts={**base, **facts})


def test_spec_paths_resolve_against_workspace_install_path_and_home(monkeypatch):
    monkeypatch.setenv("HOME", "/home/op")
    spec = pm2_spec(env_file=".env")
    assert (spec.cwd, spec.env_file) == ("/ws/installed/recruit", "/ws/installed/recruit/.env")
    assert pm2_spec(cwd="other/../apps/x").cwd == "/ws/apps/x"
    launchd = RuntimeSpec.from_manifest(
        {"manager": "launchd", "service": "com.x", "definition": "~/Library/LaunchAgents/com.x.plist"},
        install_path=Path("/opt/x"),
        workspace=Path("/ws"),
    )
    assert (launchd.definition, launchd.cwd) == ("/home/op/Library/LaunchAgents/com.x.plist", "/opt/x")
    with pytest.raises(ManifestError, match="runtime.service: required"):
        RuntimeSpec.from_manifest({"manager": "systemd"}, install_path=Path("x"), workspace=Path("/ws"))


def test_command_matching_rules():
    cwd = "/srv/recruit"
    assert command_matches(("node", "server/index.js"), ["/usr/bin/node", "/srv/recruit/server/index.js"], cwd)
    assert command_matches(("server/index.js",), ["node", "/srv/recruit/server/index.js"], cwd)  # interpreter implied
    assert not command_matches(("node", "server/main.js"), ["node", "/srv/recruit/server/index.js"], cwd)
    assert not command_matches(("bun", "server/index.js"), ["node", "/srv/recruit/server/index.js"], cwd)
    assert not command_matches(("node", "server/index.js", "--port", "1"), ["node", "/srv/recruit/server/index.js"], cwd)
    assert not command_matches(("/opt/node", "server/index.js"), ["/usr/bin/node", "/srv/recruit/server/index.js"], cwd)


def test_unknowns_never_become_drift():
    assert is_before(None, "2026-11-22T01:52:24Z") is None
    assert is_before("2026-11-22T01:52:23.999Z", "2026-11-22T01:52:24Z") is True
    assert normalize_iso("2026-11-21T22:14:05.482913771Z") == "2026-11-21T22:14:05.482Z"
    assert diff_runtime(pm2_spec(), running(started_at=None), {"installed_at": "2026-11-22T01:52:24Z"}) == []
    assert diff_runtime(pm2_spec(), running(), None) == []
    assert diff_runtime(pm2_spec(), running(), {"installed_at": "not a time", "version": "1"}) == []


def test_stale_and_version_compare_with_the_ledger():
    ledger = {"installed_at": "2026-11-22T01:52:24Z", "version": "v0.3.0"}
    obs = running(health={"error": None, "url": "http://h/health", "version": "0.2.9"})
    drifts = diff_runtime(pm2_spec(), obs, ledger)
    assert [(d.kind, d.expected, d.actual) for d in drifts] == [
        ("stale-process", "started after 2026-11-22T01:52:24Z", "2026-11-22T01:50:00.000Z"),
        ("version-mismatch", "v0.3.0", "0.2.9"),
    ]
    fresh = running(started_at="2026-11-22T01:53:00.000Z", health={"error": None, "url": "u", "version": "V0.3.0"})
    assert diff_runtime(pm2_spec(), fresh, ledger) == []
    assert version_key("v1.2") == "1.2" == version_key("V1.2.0") and version_key("") == ""


def test_stopped_processes_are_not_judged_by_age_or_health():
    obs = running(status="stopped", state="stopped", pid=None, health={"error": "connection refused", "url": "u", "version": None})
    drifts = diff_runtime(pm2_spec(), obs, {"installed_at": "2999-01-01T00:00:00Z", "version": "9"})
    assert [d.kind for d in drifts] == ["not-running"]


def test_drifts_are_sorted_and_restart_resolves_only_what_a_restart_fixes():
    obs = running(cwd="/old/recruit", command=["node", "/old/recruit/server/main.js"], orphans=[{"cwd": "/x", "name": "n", "pid": 1, "pm_id": 3, "script": "/x/s.js"}], saved="differs")
    drifts = diff_runtime(pm2_spec(), obs, None)
    assert [d.kind for d in drifts] == ["command-mismatch", "cwd-mismatch", "orphan", "unsaved"]
    assert {"cwd-mismatch", "command-mismatch", "orphan", "image-drift", "definition-target-missing"}.isdisjoint(RESTART_RESOLVES)
    assert {"stale-process", "version-mismatch", "env-stale", "not-running"} <= RESTART_RESOLVES


def test_preconditions_are_the_stable_facts_only():
    pre = restart_preconditions(running(health={"error": None, "url": "u", "version": "1"}))
    assert {k.encode(): v for k, v in pre.items()} == {
        "runtime:command": ["node", "/ws/installed/recruit/server/index.js"],
        "runtime:cwd": "/ws/installed/recruit",
        "runtime:image_id": None,
        "runtime:pid": 10,
        "runtime:started_at": "2026-11-22T01:50:00.000Z",
    }
    unreachable = RuntimeObservation(manager="pm2", service="r", where="ssh://h", reachable=False, unreachable_reason="x")
    assert restart_preconditions(unreachable) == {runtime_key("reachable"): False}
