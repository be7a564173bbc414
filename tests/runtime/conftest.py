"""Real parts for the runtime tests: a PM2 daemon in a temp PM2_HOME, the fixture node app, an sshd, a private
Docker engine (tests/runtime/docker_engine.py).

PM2 comes from scripts/ensure-pm2 (npm registry → <repo>/.tools) and sshd from scripts/ensure-sshd;
a missing tool fails the fixture with the command to run, never a skipped test. Docker comes from
scripts/ensure-docker; its tests skip (with the reason) only where this machine cannot install or run dockerd.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.docker_engine import DockerEngine
from tests.runtime.sshd_host import running_sshd
from tests.runtime.support import REPO, App, Pm2, Sshd, ensure, free_port, install_app


@pytest.fixture(scope="session")
def pm2_binary() -> str:
    ensure("ensure-pm2")
    return str(REPO / ".tools" / "node_modules" / ".bin" / "pm2")


@pytest.fixture(scope="session")
def pm2_daemon(pm2_binary: str, tmp_path_factory) -> Iterator[Pm2]:
    """One daemon for the session (spawning one costs ~1 s); each test empties it afterwards."""
    # A short path: PM2's unix sockets must fit in 108 bytes.
    home = Path(tmp_path_factory.mktemp("pm2home"))
    pm2 = Pm2(binary=pm2_binary, home=home)
    pm2.run("ping")
    yield pm2
    subprocess.run([pm2_binary, "kill"], env=pm2.env(), capture_output=True, timeout=30)


@pytest.fixture
def pm2(pm2_daemon: Pm2, monkeypatch) -> Iterator[Pm2]:
    """The session daemon, empty, with TRUEUP_PM2 and PM2_HOME set the way trueup reads them."""
    monkeypatch.setenv("TRUEUP_PM2", pm2_daemon.binary)
    monkeypatch.setenv("PM2_HOME", str(pm2_daemon.home))
    yield pm2_daemon
    # "No process found" exits 1 when the test left nothing behind; that is fine.
    subprocess.run([pm2_daemon.binary, "delete", "all"], env=pm2_daemon.env(), capture_output=True, timeout=30)
    (pm2_daemon.home / "dump.pm2").unlink(missing_ok=True)


@pytest.fixture
def app(pm2: Pm2, tmp_path: Path) -> App:
    """recruit 0.2.9 installed at <tmp>/installed/recruit and running under PM2."""
    path = install_app(tmp_path / "installed" / "recruit")
    running = App(path=path, name="recruit", port=free_port())
    pm2.start_app(path, running.name, running.port)
    return running


@pytest.fixture(scope="session")
def sshd(tmp_path_factory) -> Iterator[Sshd]:
    """A real OpenSSH server on 127.0.0.1, run as the current user, trusting one generated key."""
    with running_sshd(Path(tmp_path_factory.mktemp("sshd"))) as server:
        yield server


@pytest.fixture
def ssh_env(sshd: Sshd, monkeypatch) -> Sshd:
    monkeypatch.setenv("TRUEUP_SSH_OPTIONS", sshd.options)
    return sshd


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory) -> Iterator[DockerEngine]:
    """One private dockerd + registry for the session (~1 s); each test removes the containers it started."""
    if os.geteuid() != 0:
        pytest.skip("a private dockerd needs root; run the suite as root to test Docker on a real engine")
    proc = subprocess.run([str(REPO / "scripts" / "ensure-docker")], capture_output=True, text=True)
    if proc.returncode == 3:
        pytest.skip(f"scripts/ensure-docker: {proc.stderr.strip()}")
    if proc.returncode != 0:
        pytest.fail(f"scripts/ensure-docker failed ({proc.stderr.strip()}); run it by hand", pytrace=False)
    # A short path: dockerd's and containerd's unix sockets must fit in 108 bytes.
    engine = DockerEngine.start(Path(tmp_path_factory.mktemp("dk")) / "e")
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def docker(docker_engine: DockerEngine, monkeypatch) -> Iterator[DockerEngine]:
    """The session engine, with DOCKER_HOST set the way trueup's `docker` calls read it."""
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    yield docker_engine
    docker_engine.remove_containers()
