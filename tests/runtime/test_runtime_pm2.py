"""Runtime drift and restart against a real PM2 running the fixture node app."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.runtime.support import App, Pm2, free_port, install_app, set_version
from trueup.runtime.restart import restart
from trueup.errors import TrueupError
from trueup.model.plan import DriftClass
from trueup.model.keys import runtime_key
from trueup.runtime.drift import diff_runtime, restart_preconditions
from trueup.runtime.observation import observe_runtime
from trueup.runtime.times import parse_iso

COUNTERS = ("uptime", "memory", "cpu", "restart_time", "restarts", "unstable_restarts", "monit", "pm_uptime")


def kinds(drifts) -> list[str]:
    return [d.kind for d in drifts if d.is_drift]


def ledger_after(started_at: str, version: str) -> dict:
    """A ledger whose install happened (whole seconds, as ledgers write) after ``started_at``."""
    moment = parse_iso(started_at).replace(microsecond=0) + timedelta(seconds=1)
    # A restart must land after installed_at for the plan to come back clean.
    while datetime.now(UTC) <= moment:
        time.sleep(0.05)
    return {"installed_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "version": version}


def all_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


def test_running_service_in_sync_has_no_drift_and_stable_facts(app: App):
    spec = app.spec()
    first = observe_runtime(spec)
    facts = first.facts
    assert first.reachable and not first.skipped and first.where == "local"
    assert facts["status"] == "running" and facts["cwd"] == str(app.path)
    assert facts["pid"] == json.loads(os.popen(f"curl -s {app.health_url}").read())["pid"]
    assert facts["health"] == {"error": None, "url": app.health_url, "version": "0.2.9"}
    assert facts["command"][-1] == str(app.path / "server/index.js")
    assert diff_runtime(spec, first, {"installed_at": "2020-01-01T00:00:00Z", "version": "v0.2.9"}) == []
    # Same state, same bytes: no counters, no environment (PM2 keeps the operator's env per process).
    assert json.dumps(observe_runtime(spec).facts) == json.dumps(facts)
    assert not all_keys(facts) & set(COUNTERS)
    assert "env" not in all_keys(facts) and "PATH" not in json.dumps(facts)


def test_upgrade_leaves_stale_process_and_version_mismatch_until_restart(app: App, pm2: Pm2):
    spec = app.spec()
    started = observe_runtime(spec).facts["started_at"]
    set_version(app.path, "0.3.0")  # the upgrade rewrote the files; the process still runs 0.2.9
    ledger = ledger_after(started, "0.3.0")

    drifts = diff_runtime(spec, observe_runtime(spec), ledger)
    assert kinds(drifts) == ["stale-process", "version-mismatch"]
    mismatch = next(d for d in drifts if d.kind == "version-mismatch")
    assert (mismatch.cls, mismatch.expected, mismatch.actual) == (DriftClass.RUNTIME, "0.3.0", "0.2.9")

    result = restart(spec, timeout=15)
    assert result.before[runtime_key("pid")] != result.after[runtime_key("pid")]
    assert result.health_version == "0.3.0"
    after = observe_runtime(spec)
    assert diff_runtime(spec, after, ledger) == []
    assert diff_runtime(spec, after, {**ledger, "version": "v0.3.0"}) == []  # compared without a leading v


def test_process_started_from_an_old_path_is_cwd_mismatch_only(pm2: Pm2, tmp_path: Path):
    old = install_app(tmp_path / "old" / "recruit")
    new = install_app(tmp_path / "installed" / "recruit")
    port = free_port()
    pm2.start_app(old, "recruit", port)
    spec = App(path=new, name="recruit", port=port).spec()
    drifts = diff_runtime(spec, observe_runtime(spec), None)
    assert kinds(drifts) == ["cwd-mismatch"]  # the script moved with the cwd: not also a command mismatch
    assert (drifts[0].expected, drifts[0].actual) == (str(new), str(old))


def test_a_different_script_is_command_mismatch(app: App):
    spec = app.spec(command="node server/main.js")
    drifts = diff_runtime(spec, observe_runtime(spec), None)
    assert kinds(drifts) == ["command-mismatch"]
    assert drifts[0].actual == f"node {app.path / 'server/index.js'}"


def test_a_copy_running_from_an_old_directory_is_an_orphan(app: App, pm2: Pm2, tmp_path: Path):
    old = install_app(tmp_path / "old" / "recruit")
    pm2.start_app(old, "recruit-old", free_port())
    unrelated = install_app(tmp_path / "tools" / "other")  # same script name, another component
    pm2.start_app(unrelated, "other", free_port())
    drifts = diff_runtime(app.spec(), observe_runtime(app.spec()), None)
    assert kinds(drifts) == ["orphan"]
    assert [(o["name"], o["cwd"]) for o in drifts[0].actual] == [("recruit-old", str(old))]


def test_stopped_service_is_not_running_and_restart_brings_it_back(app: App, pm2: Pm2):
    spec = app.spec()
    pm2.run("stop", app.name)
    stopped = observe_runtime(spec)
    assert stopped.facts["pid"] is None and "health" not in stopped.facts
    ledger = {"installed_at": "2999-01-01T00:00:00Z", "version": "9.9.9"}  # age checks need a running process
    drifts = diff_runtime(spec, stopped, ledger)
    assert kinds(drifts) == ["not-running"] and drifts[0].actual == "stopped"
    restart(spec, timeout=15)
    assert observe_runtime(spec).facts["status"] == "running"


def test_service_unknown_to_pm2_is_not_running_and_cannot_be_restarted(pm2: Pm2, tmp_path: Path):
    pm2.run("ping")
    spec = App(path=install_app(tmp_path / "recruit"), name="recruit", port=free_port()).spec()
    assert kinds(diff_runtime(spec, observe_runtime(spec), None)) == ["not-running"]
    with pytest.raises(TrueupError, match="pm2 has no such service"):
        restart(spec, timeout=5)


def test_saved_list_drift_and_restart_saving(app: App, pm2: Pm2, tmp_path: Path):
    spec = app.spec()
    assert observe_runtime(spec).facts["saved"] == "none"  # never saved: nothing for a reboot to bring back
    pm2.run("save")
    assert observe_runtime(spec).facts["saved"] == "in-sync"

    # In sync before → restart saves again, so the dump keeps matching what runs.
    dump = pm2.home / "dump.pm2"
    os.utime(dump, (0, 0))
    assert restart(spec, timeout=15).saved and dump.stat().st_mtime > 0

    # Replaced by hand from another directory and not saved: a reboot would resurrect the old definition.
    pm2.run("delete", app.name)
    elsewhere = install_app(tmp_path / "hotfix" / "recruit")
    pm2.start_app(elsewhere, app.name, app.port)
    drifts = diff_runtime(spec, observe_runtime(spec), None)
    assert "unsaved" in kinds(drifts) and next(d for d in drifts if d.kind == "unsaved").actual == "differs"
    assert not restart(spec, timeout=15).saved  # out of sync before: never saves on its own
    assert restart(spec, timeout=15, save=True).saved
    assert "unsaved" not in kinds(diff_runtime(spec, observe_runtime(spec), None))


def test_new_process_missing_from_the_saved_list_is_unsaved(pm2: Pm2, tmp_path: Path):
    pm2.run("save")  # saves an empty list
    running = App(path=install_app(tmp_path / "recruit"), name="recruit", port=free_port())
    pm2.start_app(running.path, running.name, running.port)
    obs = observe_runtime(running.spec())
    assert obs.facts["saved"] == "not-saved"
    assert kinds(diff_runtime(running.spec(), obs, None)) == ["unsaved"]


def test_env_file_changed_after_start_is_env_stale(app: App):
    env_file = app.path / ".env"
    env_file.write_text("TOKEN=secret-value\n")
    spec = app.spec(env_file=".env")
    started = parse_iso(observe_runtime(spec).facts["started_at"]).timestamp()
    os.utime(env_file, (started + 0.5, started + 0.5))
    time.sleep(max(0.0, started + 0.6 - time.time()))
    obs = observe_runtime(spec)
    drifts = diff_runtime(spec, obs, None)
    assert kinds(drifts) == ["env-stale"]
    assert list(drifts[0].actual) == [str(env_file)]
    assert "secret-value" not in json.dumps(obs.facts)
    restart(spec, timeout=15)
    assert diff_runtime(spec, observe_runtime(spec), None) == []


def test_preconditions_change_when_the_service_restarts_out_of_band(app: App, pm2: Pm2):
    spec = app.spec()
    planned = restart_preconditions(observe_runtime(spec))
    assert {k.encode() for k in planned} == {"runtime:command", "runtime:cwd", "runtime:image_id", "runtime:pid", "runtime:started_at"}
    assert restart_preconditions(observe_runtime(spec)) == planned  # nothing happened: still valid
    pm2.run("restart", app.name)
    now = restart_preconditions(observe_runtime(spec))
    assert now != planned and now[runtime_key("pid")] != planned[runtime_key("pid")]


def test_failing_health_is_errored_and_restart_reports_it(app: App):
    spec = app.spec(health={"url": f"http://127.0.0.1:{free_port()}/health"})
    drifts = diff_runtime(spec, observe_runtime(spec), None)
    assert kinds(drifts) == ["errored"] and "connection refused" in drifts[0].actual
    with pytest.raises(TrueupError, match=r"not back within 1s \(health .*connection refused\)"):
        restart(spec, timeout=1)


def test_observation_without_a_daemon_starts_none(pm2_binary: str, tmp_path: Path, monkeypatch):
    home = tmp_path / "pm2-unused"
    home.mkdir()
    monkeypatch.setenv("TRUEUP_PM2", pm2_binary)
    monkeypatch.setenv("PM2_HOME", str(home))
    spec = App(path=tmp_path, name="recruit", port=1).spec()
    obs = observe_runtime(spec)
    assert obs.reachable and obs.facts == {"daemon": "not-running", "present": False, "status": "absent"}
    assert list(home.iterdir()) == []  # `pm2 jlist` would have spawned a daemon here


def test_missing_pm2_binary_is_unreachable(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TRUEUP_PM2", str(tmp_path / "no-pm2"))
    spec = App(path=tmp_path, name="recruit", port=1).spec()
    obs = observe_runtime(spec)
    assert not obs.reachable and "not found" in obs.unreachable_reason
    [drift] = diff_runtime(spec, obs, None)
    assert (drift.kind, drift.is_drift) == ("unreachable", False)
