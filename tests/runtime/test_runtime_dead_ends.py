"""Runtime dead ends, tried as a new user would with a real PM2: every runtime drift either has an action that
resolves it (approve --all + apply + plan --detailed-exitcode → 0) or says in one line what the operator must do."""

from __future__ import annotations

from tests.runtime.support import free_port, http_json, install_app, wait_for
from tests.runtime.test_e2e_runtime import _apply_all, _installed_and_running, _project


def test_a_stopped_service_is_started_by_its_restart(pm2, tmp_path):
    project, port = _installed_and_running(pm2, tmp_path)
    pm2.run("stop", "recruit")
    doc = project.plan()
    assert project.kinds(doc) == {("runtime", "not-running", None)}
    restart = project.action(doc, "restart")
    assert restart["recommended"] and restart["details"]["resolves"] == ["not-running"]
    project.plan_and_apply_all()
    assert wait_for(lambda: http_json(f"http://127.0.0.1:{port}/health"), "recruit to answer again")
    assert project.run("plan", "--detailed-exitcode")[0] == 0


def test_unsaved_is_fixed_by_pm2_save_without_restarting_the_healthy_process(pm2, tmp_path):
    port = free_port()
    project = _project(tmp_path, port)
    _apply_all(project)
    pm2.run("save")  # an empty saved list: what a reboot would bring back is nothing
    pm2.run("start", "server/index.js", "--name", "recruit", cwd=project.install, PORT=str(port))
    wait_for(lambda: http_json(f"http://127.0.0.1:{port}/health"), "recruit to answer")
    pid = next(p["pid"] for p in pm2.jlist() if p["name"] == "recruit")

    doc = project.plan()
    assert project.kinds(doc) == {("runtime", "unsaved", None)}
    [action] = doc["actions"]
    assert action["recommended"] and action["details"]["resolution"] == "save"
    assert "pm2 save; no restart" in action["reason"]
    code, out, err = project.run("plan")
    assert "save: recruit" in out, out

    out = project.plan_and_apply_all()
    assert "saved the process list with recruit" in out and "restarted" not in out
    assert next(p["pid"] for p in pm2.jlist() if p["name"] == "recruit") == pid  # the same process, not restarted
    assert project.run("plan", "--detailed-exitcode")[0] == 0


def test_runtime_drift_without_an_action_says_what_to_do(pm2, tmp_path):
    port = free_port()
    project = _project(tmp_path, port)
    _apply_all(project)
    code, out, err = project.run("plan", "--detailed-exitcode")  # PM2 does not know the service at all
    assert code == 2 and not project.plan()["actions"]
    assert "not-running: expected running, now absent — the manager does not know this service: start it once" in out

    pm2.start_app(install_app(tmp_path / "elsewhere" / "recruit"), "recruit", port)  # the right app, another cwd
    code, out, err = project.run("plan", "--detailed-exitcode")
    line = next(li for li in out.splitlines() if "cwd-mismatch" in li)
    assert "— redefine the service in the declared directory" in line
