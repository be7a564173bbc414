"""Runtime drift end to end through trueup plan/apply with a real PM2 (and sshd): install → start → upgrade with
the restart it needs in the same plan → approve --all + one apply → clean; an upgrade applied without its restart
→ stale-process and version-mismatch → restart → clean."""

from __future__ import annotations

import json
import time

from tests.helpers import Project
from tests.runtime.support import APP, free_port, http_json, wait_for


def _versions(version: str) -> dict:
    files = {str(p.relative_to(APP)): p.read_text() for p in APP.rglob("*") if p.is_file()}
    files["package.json"] = json.dumps({"name": "recruit", "version": version, "private": True})
    return files


def _project(tmp_path, port: int, host: str | None = None) -> Project:
    project = Project(tmp_path, name="recruit")
    project.source({"v0.2.8": _versions("0.2.8"), "v0.2.9": _versions("0.2.9")})
    runtime = {"manager": "pm2", "service": "recruit", "command": "node server/index.js",
               "health": {"url": f"http://127.0.0.1:{port}/health", "version_field": "version"}}
    if host:
        runtime["host"] = host
    project.runtime = runtime
    project.manifest(ref="v0.2.8", install={"generated": []}, extra={"runtime": runtime})
    return project


def _apply_all(project: Project) -> tuple[int, str, str]:
    plan_file = project.root / "plan.json"
    code, out, err = project.run("plan", "-o", str(plan_file))
    assert code == 0, err
    code, out, err = project.run("apply", str(plan_file), "--approve-all")
    assert code == 0, err
    return code, out, err


def _installed_and_running(pm2, tmp_path) -> tuple[Project, int]:
    """v0.2.8 installed by trueup and started under PM2 from the install directory."""
    port = free_port()
    project = _project(tmp_path, port)
    _apply_all(project)
    pm2.run("start", "server/index.js", "--name", "recruit", cwd=project.install, PORT=str(port))
    wait_for(lambda: http_json(f"http://127.0.0.1:{port}/health"), "recruit to answer")
    return project, port


def test_upgrade_and_its_restart_in_one_plan_and_one_apply(pm2, tmp_path):
    project, port = _installed_and_running(pm2, tmp_path)
    assert project.kinds() == set()

    time.sleep(0.05)  # the upgrade's installed_at must be after the process start, as in real life
    project.manifest(ref="v0.2.9", install={"generated": []}, extra={"runtime": project.runtime})
    doc = project.plan()
    assert project.kinds(doc) == {("source", "outdated", None)}  # the service itself is fine until the upgrade
    upgrade, restart = project.action(doc, "upgrade"), project.action(doc, "restart")
    # The restart the upgrade will need, in the same plan: gated on the upgrade, naming the versions.
    assert restart["gated"] == [upgrade["group"]] and restart["recommended"]
    assert restart["details"]["after_upgrade"]["from"]["version"] == "0.2.8"
    assert restart["details"]["after_upgrade"]["to"]["version"] == "0.2.9"
    assert "to run 0.2.9 after the upgrade from 0.2.8" in restart["reason"]
    assert any(k.startswith("runtime:") for k in restart["preconditions"])
    assert all("uptime" not in k and "memory" not in k for k in restart["preconditions"])

    # Approving the restart alone is refused: it would restart the old code.
    code, out, err = project.apply_ids(doc, restart["id"])
    assert code == 3 and f"restart {restart['id']} of recruit is gated by" in err

    # approve --all + one apply: the upgrade, then the restart; the upgrade running first makes nothing stale.
    plan_file = project.write_plan(doc)
    assert project.run("approve", str(plan_file), "--all")[0] == 0
    code, out, err = project.run("apply", str(plan_file))
    assert code == 0, err
    assert "restarted recruit (pm2, local); health reports 0.2.9" in out and "No drift remains in recruit." in out
    assert http_json(f"http://127.0.0.1:{port}/health")["version"] == "0.2.9"
    assert project.run("plan", "--detailed-exitcode")[0] == 0


def test_upgrade_without_its_restart_says_how_to_restart(pm2, tmp_path):
    project, port = _installed_and_running(pm2, tmp_path)
    time.sleep(0.05)
    project.manifest(ref="v0.2.9", install={"generated": []}, extra={"runtime": project.runtime})
    doc = project.plan()
    restart_id = project.action(doc, "restart")["id"]
    code, out, err = project.apply_ids(doc, project.action(doc, "upgrade")["id"])
    assert code == 0, err
    # This plan is applied (its ids are spent): the message points at a new plan, where the restart stands alone.
    assert ("Runtime drift remains: service of recruit started before this install; make a new plan "
            f"(trueup plan -o plan.json) and approve its restart {restart_id}.") in out
    doc = project.plan()
    kinds = project.kinds(doc)
    assert ("runtime", "stale-process", None) in kinds and ("runtime", "version-mismatch", None) in kinds
    restart = project.action(doc, "restart")
    assert restart["id"] == restart_id and restart["gated"] == []
    assert set(restart["details"]["resolves"]) >= {"stale-process", "version-mismatch"}
    code, out, err = project.apply_ids(doc, restart["id"])
    assert code == 0, err
    assert http_json(f"http://127.0.0.1:{port}/health")["version"] == "0.2.9"
    assert project.kinds() == set()


def test_restart_refused_when_service_restarted_since_plan(pm2, tmp_path):
    project, port = _installed_and_running(pm2, tmp_path)
    pm2.run("stop", "recruit")
    doc = project.plan()
    assert ("runtime", "not-running", None) in project.kinds(doc)
    pm2.run("restart", "recruit")
    code, out, err = project.apply_ids(doc, project.action(doc, "restart")["id"])
    assert code == 3 and "plan is stale: the running service" in err


def test_unreachable_host_exits_5_and_partial_exits_8(pm2, tmp_path, ssh_env):
    closed = free_port()  # nothing listens there
    project = _project(tmp_path / "one", free_port(), host=f"ssh://{ssh_env.user}@127.0.0.1:{closed}")
    code, out, err = project.run("plan", "-o", str(project.root / "plan.json"))
    assert code == 5, err
    doc = json.loads((project.root / "plan.json").read_text())
    assert doc["components"][0]["status"] == "unreachable" and doc["summary"]["unobserved"] == ["recruit"]
    assert project.run("plan", "--detailed-exitcode")[0] == 5

    # Two components, one reachable over the real sshd and one not → partial.
    from ruamel.yaml import YAML

    manifest = YAML().load((project.root / "trueup.yaml").read_text())
    reachable = json.loads(json.dumps(manifest["components"][0]))
    reachable["name"] = "recruit-ok"
    reachable["install"]["path"] = "installed/recruit-ok"
    reachable["runtime"]["host"] = ssh_env.url
    manifest["components"].append(reachable)
    with open(project.root / "trueup.yaml", "w") as fh:
        YAML().dump(manifest, fh)
    code, out, err = project.run("plan", "--json")
    assert code == 8, err
    doc = json.loads(out)
    assert doc["summary"]["unobserved"] == ["recruit"]
    assert {c["name"]: c["status"] for c in doc["components"]}["recruit-ok"] == "not-installed"
