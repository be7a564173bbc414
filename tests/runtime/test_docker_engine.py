"""Docker drift on a real engine (tests/runtime/docker_engine.py: a private dockerd, a local registry, images
FROM scratch + busybox): what runs is the container's image id, what is declared is what the declared
reference resolves to now on that engine. The case a hand-written capture hid: a tag moved under a running
container (its Config.Image still says the tag) is image-drift."""

from __future__ import annotations

import json

import pytest
from ruamel.yaml import YAML

from tests.helpers import Project
from tests.runtime.docker_engine import DockerEngine, wait_state
from tests.runtime.sshd_host import running_sshd
from tests.runtime.support import wait_for
from trueup.runtime.drift import diff_runtime
from trueup.runtime.observation import observe_runtime
from trueup.runtime.restart import restart
from trueup.runtime.spec import RuntimeSpec


def spec(block: dict, tmp_path) -> RuntimeSpec:
    return RuntimeSpec.from_manifest({"manager": "docker", **block}, install_path=tmp_path, workspace=tmp_path)


def drift_of(block: dict, tmp_path) -> list:
    s = spec(block, tmp_path)
    return [d for d in diff_runtime(s, observe_runtime(s), None) if d.is_drift]


def test_a_tag_moved_under_a_running_container_is_image_drift(docker: DockerEngine, tmp_path):
    old = docker.build("trueup-test/app:1", "1.0.0")
    docker.run("moved", "trueup-test/app:1")
    new = docker.build("trueup-test/app:1", "1.0.1")  # the tag moves; the container keeps running the old image
    assert old != new
    assert docker.docker("container", "inspect", "-f", "{{.Config.Image}}", "moved").stdout.strip() == "trueup-test/app:1"

    [drift] = drift_of({"service": "moved", "image": "trueup-test/app:1"}, tmp_path)
    assert drift.kind == "image-drift"
    assert drift.expected["id"] == new and drift.actual["id"] == old
    assert drift.actual["summary"] == "1.0.0 running, 1.0.1 declared (trueup-test/app:1)"
    # Declared by the id that runs: clean.
    assert drift_of({"service": "moved", "image": old}, tmp_path) == []


def test_declared_306_live_303_with_both_registry_digests(docker: DockerEngine, tmp_path):
    repo = f"{docker.registry}/acme/honcho-api"
    docker.build(f"{repo}:3.0.3", "3.0.3")
    docker.push(f"{repo}:3.0.3")
    docker.run("honcho-api", f"{repo}:3.0.3")
    docker.build(f"{repo}:3.0.6", "3.0.6")
    docker.push(f"{repo}:3.0.6")
    live_digest = docker.docker("image", "inspect", "-f", "{{index .RepoDigests 0}}", f"{repo}:3.0.3").stdout.strip()
    declared_digest = docker.docker("image", "inspect", "-f", "{{index .RepoDigests 0}}", f"{repo}:3.0.6").stdout.strip()

    [drift] = drift_of({"service": "honcho-api", "image": f"{repo}:3.0.6"}, tmp_path)
    assert drift.kind == "image-drift" and drift.actual["summary"].startswith("3.0.3 running, 3.0.6 declared")
    assert drift.actual["digests"] == [live_digest] and drift.expected["digests"] == [declared_digest]
    assert (drift.actual["version"], drift.expected["version"]) == ("3.0.3", "3.0.6")

    assert drift_of({"service": "honcho-api", "image": f"{repo}:3.0.3"}, tmp_path) == []
    assert drift_of({"service": "honcho-api", "image": live_digest}, tmp_path) == []  # pinned by digest
    [pinned] = drift_of({"service": "honcho-api", "image": declared_digest}, tmp_path)
    assert pinned.kind == "image-drift" and pinned.actual["summary"].startswith("3.0.3 running, 3.0.6 declared")
    [absent] = drift_of({"service": "honcho-api", "image": f"{repo}:9.9.9"}, tmp_path)
    assert absent.kind == "image-drift" and "not on this engine" in absent.actual["summary"]

    # Declared by digest, the digest is the image's provenance: plan's facts and show say whether it runs.
    for digest, running in ((live_digest, True), (declared_digest, False)):
        project = _workspace(tmp_path, [{"name": "honcho", "dir": "honcho", "manager": "docker",
                                         "service": "honcho-api", "image": digest}])
        code, out, err = project.run("plan", "--json")
        [component] = json.loads(out)["components"]
        assert component["facts"]["runtime"]["image_provenance"] == {"pinned": digest, "running": running}, err
        code, out, err = project.run("plan")
        assert f"image pinned by digest {digest}: {'running it' if running else 'NOT running it'}" in out, out + err


def test_missing_stopped_restarting_unhealthy(docker: DockerEngine, tmp_path):
    docker.build("trueup-test/app:1", "1.0.0")
    [missing] = drift_of({"service": "nope"}, tmp_path)
    assert missing.kind == "missing"

    docker.run("stopped", "trueup-test/app:1")
    docker.docker("stop", "-t", "0", "stopped")
    [stopped] = drift_of({"service": "stopped"}, tmp_path)
    assert stopped.kind == "not-running"
    restart(spec({"service": "stopped"}, tmp_path), timeout=20)  # docker restart starts a stopped container
    assert docker.state("stopped") == "running" and drift_of({"service": "stopped"}, tmp_path) == []

    docker.run("looping", "trueup-test/app:1", "--restart", "always", "--entrypoint", "/bin/false")
    looping = wait_for(lambda: [d for d in drift_of({"service": "looping"}, tmp_path) if d.kind == "restarting"],
                       "the container to be caught restarting", timeout=30)
    assert looping[0].actual["restart_count"] >= 1 and "restart loop" in looping[0].actual["summary"]

    docker.run("sick", "trueup-test/app:1", "--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1")
    wait_for(lambda: docker.docker("container", "inspect", "-f", "{{.State.Health.Status}}", "sick").stdout.strip()
             == "unhealthy", "the health check to fail", timeout=30)
    assert [d.kind for d in drift_of({"service": "sick"}, tmp_path)] == ["unhealthy"]


def _workspace(tmp_path, components: list[dict]) -> Project:
    project = Project(tmp_path, name="honcho")
    if not project.repo.exists():
        project.source({"v1": {"README.md": "honcho\n"}})
    with open(tmp_path / "trueup.yaml", "w") as fh:
        YAML().dump({"version": 1, "state_dir": ".trueup-state", "components": [
            {"name": c.pop("name"), "source": {"repo": "src/honcho", "ref": "v1"},
             "install": {"path": f"installed/{c.pop('dir')}"}, "runtime": c} for c in components]}, fh)
    return project


def _install(project: Project) -> int:
    """plan + apply --approve-all: the component's files installed (the container is not trueup's to start)."""
    plan_file = project.root / "plan.json"
    code, out, err = project.run("plan", "-o", str(plan_file))
    assert code in (0, 2, 8), out + err
    return project.run("apply", str(plan_file), "--approve-all")[0]


def test_plan_exit_codes_on_a_real_engine(docker: DockerEngine, tmp_path, monkeypatch):
    docker.build("trueup-test/honcho-api:3.0.3", "3.0.3")
    docker.run("honcho-api", "trueup-test/honcho-api:3.0.3")
    docker.build("trueup-test/honcho-api:3.0.6", "3.0.6")
    declared = {"name": "honcho", "dir": "honcho", "manager": "docker", "service": "honcho-api",
                "image": "trueup-test/honcho-api:3.0.6"}
    project = _workspace(tmp_path, [dict(declared)])
    assert _install(project) == 0
    code, out, err = project.run("plan", "--detailed-exitcode")
    assert code == 2 and "image-drift: 3.0.3 running, 3.0.6 declared" in out, out + err
    assert "— recreate the container on the declared image" in out  # no action: the line says what to do

    # Stopped: the restart action starts it; approve --all + apply + plan → clean.
    docker.docker("stop", "-t", "0", "honcho-api")
    project = _workspace(tmp_path, [{**declared, "image": "trueup-test/honcho-api:3.0.3"}])
    assert project.kinds() == {("runtime", "not-running", None)}
    assert _install(project) == 0 and docker.state("honcho-api") == "running"

    project = _workspace(tmp_path, [{**declared, "image": "trueup-test/honcho-api:3.0.3"}])
    assert project.run("plan", "--detailed-exitcode")[0] == 0

    # Owned by an orchestrator: listed as skipped, never drift, even with the drifted image declared.
    project = _workspace(tmp_path, [{**declared, "orchestrator": "external"}])
    code, out, err = project.run("plan", "--detailed-exitcode")
    assert code == 0 and "skipped: orchestrator external: not observed" in out, out + err

    # One of two hosts unreachable: 8; none: 5.
    both = [{**declared, "image": "trueup-test/honcho-api:3.0.3"},
            {"name": "far", "dir": "far", "manager": "docker", "service": "honcho-api",
             "host": "ssh://127.0.0.1:1", "ssh_options": "-F /dev/null -o ConnectTimeout=2"}]
    project = _workspace(tmp_path, both)
    _install(project)
    assert project.run("plan", "--detailed-exitcode")[0] == 8
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    code, out, err = project.run("plan", "--detailed-exitcode")
    assert code == 5, out + err


def test_docker_on_a_remote_host_over_ssh(docker: DockerEngine, tmp_path, monkeypatch):
    """The engine is reached through a real sshd whose sessions know it (sshd_config ``SetEnv DOCKER_HOST``) while
    this process does not: image drift with both versions, a stopped container started by the restart action over
    ssh, then clean; the host's sshd stopped → 5 (nothing reachable)."""
    docker.build("trueup-test/remote-api:3.0.3", "3.0.3")
    docker.run("remote-api", "trueup-test/remote-api:3.0.3")
    docker.build("trueup-test/remote-api:3.0.6", "3.0.6")
    with running_sshd(tmp_path / "host", f"SetEnv DOCKER_HOST={docker.host}\n") as host:
        monkeypatch.setenv("TRUEUP_SSH_OPTIONS", host.options)
        monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-local-engine.sock")  # only the remote one answers
        remote = {"name": "remote", "dir": "remote", "manager": "docker", "service": "remote-api", "host": host.url}
        project = _workspace(tmp_path, [{**remote, "image": "trueup-test/remote-api:3.0.6"}])
        assert _install(project) == 0
        code, out, err = project.run("plan", "--detailed-exitcode")
        assert code == 2 and "image-drift: 3.0.3 running, 3.0.6 declared" in out, out + err

        docker.docker("stop", "-t", "0", "remote-api")
        project = _workspace(tmp_path, [{**remote, "image": "trueup-test/remote-api:3.0.3"}])
        assert project.kinds() == {("runtime", "not-running", None)}
        assert _install(project) == 0 and docker.state("remote-api") == "running"  # started through ssh
        project = _workspace(tmp_path, [{**remote, "image": "trueup-test/remote-api:3.0.3"}])
        assert project.run("plan", "--detailed-exitcode")[0] == 0
    code, out, err = project.run("plan", "--detailed-exitcode")  # the host's sshd is gone
    assert code == 5 and "remote" in out + err, out + err


COMPOSE = """version: "2.4"
services:
  api:
    image: trueup-test/compose-api:{version}
    network_mode: none
"""


def test_a_compose_service_is_found_by_its_labels_and_recreated_from_its_file(docker: DockerEngine, tmp_path):
    """docker-compose (Debian's 1.29) names the container apps_api_1; trueup finds it by the compose labels. With
    the file declared, the file says which image, and the restart action recreates the service from it (compose up):
    missing → created, image moved on in the file → recreated on it, each time ending clean."""
    docker.build("trueup-test/compose-api:3.0.3", "3.0.3")
    docker.build("trueup-test/compose-api:3.0.6", "3.0.6")
    compose = tmp_path / "compose.yml"
    compose.write_text(COMPOSE.format(version="3.0.3"))
    declared = {"name": "apps", "dir": "apps", "manager": "docker",
                "compose": {"project": "apps", "service": "api", "file": "compose.yml"}}
    try:
        project = _workspace(tmp_path, [dict(declared)])
        assert project.kinds() == {("runtime", "missing", None), ("source", "not-installed", None)}
        assert _install(project) == 0  # the recommended actions: install the files, and compose up the service
        [container] = docker.docker("ps", "-aq", "--filter", "label=com.docker.compose.project=apps").stdout.split()
        assert docker.docker("inspect", "-f", "{{.Name}}", container).stdout.strip() == "/apps_api_1"
        project = _workspace(tmp_path, [dict(declared)])
        assert project.run("plan", "--detailed-exitcode")[0] == 0

        compose.write_text(COMPOSE.format(version="3.0.6"))  # the operator moves the service on, in its file
        project = _workspace(tmp_path, [dict(declared)])
        code, out, err = project.run("plan", "--detailed-exitcode")
        assert code == 2 and "image-drift: 3.0.3 running, 3.0.6 declared" in out, out + err
        assert "restart          compose-up: api" in out and "docker rm -f" not in out  # an action: no operator step
        assert _install(project) == 0
        project = _workspace(tmp_path, [dict(declared)])
        assert project.run("plan", "--detailed-exitcode")[0] == 0
        running = docker.docker("ps", "-q", "--filter", "label=com.docker.compose.service=api").stdout.split()
        assert docker.docker("inspect", "-f", "{{.Config.Image}}", *running).stdout.strip() == \
            "trueup-test/compose-api:3.0.6"

        # Without the file: found by its labels all the same, the image compared, and the step said, not taken.
        project = _workspace(tmp_path, [{**declared, "compose": {"project": "apps", "service": "api"},
                                         "image": "trueup-test/compose-api:3.0.3"}])
        code, out, err = project.run("plan", "--detailed-exitcode")
        assert code == 2 and "3.0.6 running, 3.0.3 declared" in out and "docker compose up -d --no-deps" in out, out
        assert project.run("plan", "-o", str(tmp_path / "p.json"))[0] == 0
        assert '"restart"' not in (tmp_path / "p.json").read_text()
    finally:
        ids = docker.docker("ps", "-aq", "--filter", "label=com.docker.compose.project=apps").stdout.split()
        if ids:
            docker.docker("rm", "-f", *ids, check=False)
