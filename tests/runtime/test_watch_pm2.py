"""trueup watch with a real PM2: a stopped service is alerted from the runtime poll; with a policy that restarts
stopped services it is healed (each plan hash once), until the flap guard sees it oscillate and escalates to an
alert instead. And the shipped PM2 ecosystem file runs trueup watch as a PM2 app that alerts on an edit."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from tests.runtime.support import REPO, http_json, wait_for
from tests.runtime.test_e2e_runtime import _installed_and_running

POLICY = {"rules": [{"name": "restart-stopped", "match": {"action": "restart", "kind": "not-running"},
                     "effect": "auto"}],
          "flap_guard": {"heals": 2, "within": "1h"}}


def _once(project, alert_file) -> tuple[int, list[dict]]:
    code, out, err = project.run("watch", "--once", "--json", "-w", str(project.root), "--alert-file", str(alert_file))
    assert code in (0, 2), err
    return code, [json.loads(x) for x in out.splitlines()]


def test_stopped_service_is_alerted_without_a_policy(pm2, tmp_path):
    project, port = _installed_and_running(pm2, tmp_path)
    alerts = tmp_path / "alerts.jsonl"
    assert _once(project, alerts) == (0, [])
    pm2.run("stop", "recruit")
    code, lines = _once(project, alerts)
    assert code == 2
    assert [(x["event"], x["class"], x["kind"]) for x in lines] == [("drift", "runtime", "not-running")]
    assert lines[0]["actions"][0]["type"] == "restart"
    assert http_json(f"http://127.0.0.1:{port}/health") is None  # alerted, not healed: no policy
    assert _once(project, alerts) == (2, [])  # reported already


def test_oscillating_unit_is_healed_twice_then_escalated(pm2, tmp_path):
    project, port = _installed_and_running(pm2, tmp_path)
    project.manifest(ref="v0.2.8", install={"generated": []}, extra={"runtime": project.runtime}, policy=POLICY)
    alerts = tmp_path / "alerts.jsonl"
    for heal in (1, 2):
        pm2.run("stop", "recruit")
        code, lines = _once(project, alerts)
        assert [(x["event"], x["type"]) for x in lines] == [("healed", "restart")], lines
        assert lines[0]["rule"] == "restart-stopped"
        wait_for(lambda: http_json(f"http://127.0.0.1:{port}/health"), f"recruit restarted by heal {heal}")
    pm2.run("stop", "recruit")  # the third stop within the hour: the flap guard escalates to a person
    code, lines = _once(project, alerts)
    assert code == 2
    assert [(x["event"], x["kind"]) for x in lines] == [("drift", "not-running")], lines
    time.sleep(1)
    assert http_json(f"http://127.0.0.1:{port}/health") is None  # not healed
    assert _once(project, alerts) == (2, [])  # said once


def test_the_pm2_ecosystem_example_runs_watch_and_alerts(pm2, tmp_path):
    project, _ = _installed_and_running(pm2, tmp_path)
    alerts = tmp_path / "alerts.jsonl"
    example = REPO / "examples" / "watch" / "ecosystem.config.js"
    shutil.copy(example, tmp_path / "ecosystem.config.js")
    trueup = Path(sys.executable).with_name("trueup")  # the console script of the Python running the tests
    env = {"TRUEUP_WORKSPACE": str(project.root), "TRUEUP_WATCH_ALERTS": str(alerts), "TRUEUP_BIN": str(trueup)}
    pm2.run("start", str(tmp_path / "ecosystem.config.js"), cwd=tmp_path, **env)
    try:
        apps = {p["name"]: p for p in pm2.jlist()}
        assert apps["trueup-watch"]["pm2_env"]["status"] == "online"
        time.sleep(2)  # its first cycle
        (project.install / "server" / "index.js").write_text("patched under PM2\n")
        lines = wait_for(lambda: alerts.exists() and alerts.read_text().splitlines(), "an alert from the PM2 app", 20)
        alert = json.loads(lines[0])
        assert (alert["event"], alert["path"]) == ("drift", "server/index.js")
    finally:
        pm2.run("delete", "trueup-watch")
    assert not os.path.exists(alerts) or "Traceback" not in alerts.read_text()
