"""podman behind a ``docker`` name, as hosts that alias docker=podman run it: real podman (Debian 4.3) with a
private --root/--runroot, images FROM scratch + busybox, containers with ``--network none``.

Its differences from Docker that trueup must absorb: bare hex image ids (Docker writes ``sha256:<hex>``), exit 125
and "no such container" for a missing container (Docker: 1), and ``Health: {"Status": ""}`` for a container
without a health check. Only the containers this test started are removed; podman runs no daemon.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.runtime.docker_engine import DOCKERFILE
from tests.runtime.support import REPO
from trueup.runtime.drift import diff_runtime
from trueup.runtime.observation import observe_runtime
from trueup.runtime.restart import restart
from trueup.runtime.spec import RuntimeSpec


@pytest.fixture
def podman(tmp_path, monkeypatch):
    """A `docker` on PATH that is podman with a store of this test's own; yields a runner for it."""
    if os.geteuid() != 0:
        pytest.skip("podman with a private store here needs root; run the suite as root")
    proc = subprocess.run([str(REPO / "scripts" / "ensure-podman")], capture_output=True, text=True)
    if proc.returncode == 3:
        pytest.skip(f"scripts/ensure-podman: {proc.stderr.strip()}")
    assert proc.returncode == 0, f"scripts/ensure-podman failed: {proc.stderr.strip()}"
    root = tmp_path / "podman"
    (root / "bin").mkdir(parents=True)
    (root / "ctx").mkdir()
    shutil.copy("/bin/busybox", root / "ctx" / "busybox")
    (root / "ctx" / "Containerfile").write_text(DOCKERFILE)  # the Docker tests' image: FROM scratch + busybox
    run = Path(tempfile.mkdtemp(prefix="pm", dir="/tmp"))  # podman refuses a runroot longer than 50 characters
    shim = root / "bin" / "docker"
    shim.write_text(f"#!/bin/sh\nexec podman --root {root}/storage --runroot {run} --storage-driver vfs "
                    "--cgroup-manager cgroupfs --events-backend file \"$@\"\n")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{root / 'bin'}:{os.environ['PATH']}")
    started: list[str] = []

    def docker(*args: str, check: bool = True) -> str:
        if args[0] == "run":
            started.append(args[args.index("--name") + 1])
        done = subprocess.run([str(shim), *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 or not check, f"podman {' '.join(args)}: {done.stderr.strip()}"
        return done.stdout.strip()

    docker.ctx = root / "ctx"  # type: ignore[attr-defined]
    yield docker
    for name in started:
        docker("rm", "-f", "-t", "0", name, check=False)
    shutil.rmtree(run, ignore_errors=True)


def _drift(block: dict, tmp_path: Path) -> list:
    spec = RuntimeSpec.from_manifest({"manager": "docker", **block}, install_path=tmp_path, workspace=tmp_path)
    return [d for d in diff_runtime(spec, observe_runtime(spec), None) if d.is_drift]


def _build(docker, tag: str, version: str) -> str:
    docker("build", "-q", "--build-arg", f"VERSION={version}", "-t", tag, str(docker.ctx))
    return docker("image", "inspect", "-f", "{{.Id}}", tag)


def test_podman_behind_a_docker_name(podman, tmp_path):
    # Podman's rlimit defaults exceed what this sandbox allows a container: set them explicitly.
    limits = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", "none")
    old = _build(podman, "localhost/pt/app:1", "1.0.0")
    assert len(old) == 64 and not old.startswith("sha256:")  # podman's bare hex id
    podman("run", "-d", "--name", "app", *limits, "localhost/pt/app:1")

    # Declared by tag, by bare id and by sha256: id: the same image, clean (a container with no health check
    # reports Health {"Status": ""}: not unhealthy).
    for image in ("localhost/pt/app:1", old, f"sha256:{old}"):
        assert _drift({"service": "app", "image": image}, tmp_path) == [], image

    new = _build(podman, "localhost/pt/app:1", "1.0.1")  # the tag moves under the running container
    [moved] = _drift({"service": "app", "image": "localhost/pt/app:1"}, tmp_path)
    assert moved.kind == "image-drift" and moved.actual["id"] == f"sha256:{old}" and moved.expected["id"] == f"sha256:{new}"
    assert moved.actual["summary"] == "1.0.0 running, 1.0.1 declared (localhost/pt/app:1)"

    [missing] = _drift({"service": "nope"}, tmp_path)  # podman exits 125, not 1: still "missing", not unreachable
    assert missing.kind == "missing"

    podman("stop", "-t", "0", "app")
    [stopped] = _drift({"service": "app"}, tmp_path)
    assert stopped.kind == "not-running"
    restart(RuntimeSpec.from_manifest({"manager": "docker", "service": "app"}, install_path=tmp_path,
                                      workspace=tmp_path), timeout=30)
    assert podman("container", "inspect", "-f", "{{.State.Status}}", "app") == "running"
    assert _drift({"service": "app", "image": old}, tmp_path) == []
