"""Real parts for the runtime tests: a PM2 daemon in a temp PM2_HOME, the fixture node app, an sshd.

PM2 comes from scripts/ensure-pm2 (npm registry → <repo>/.tools) and sshd from scripts/ensure-sshd;
a missing tool fails the fixture with the command to run, never a skipped test.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from attrs import frozen

from trueup.planner.runtime.spec import RuntimeSpec

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "fixtures" / "runtime" / "app"
FIXTURES = REPO / "fixtures" / "runtime"
WAIT = 10.0  # every wait in these tests is bounded by this


def _ensure(script: str) -> None:
    proc = subprocess.run([str(REPO / "scripts" / script)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"scripts/{script} failed ({proc.stderr.strip()}); run it by hand", pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def http_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return json.loads(r.read())
    except OSError:
        return None


@frozen
class Pm2:
    """A PM2 daemon with its own PM2_HOME; ``run`` is the pm2 CLI with that home."""

    binary: str
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "PM2_HOME": str(self.home), **extra}

    def run(self, *args: str, cwd: Path | None = None, **env: str) -> str:
        proc = subprocess.run([self.binary, *args], cwd=cwd, env=self.env(**env), capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, f"pm2 {' '.join(args)} failed: {proc.stderr or proc.stdout}"
        return proc.stdout

    def jlist(self) -> list[dict]:
        return json.loads(self.run("jlist").splitlines()[-1])

    def start_app(self, app_dir: Path, name: str, port: int) -> None:
        self.run("start", "server/index.js", "--name", name, cwd=app_dir, PORT=str(port))
        wait_for(lambda: http_json(f"http://127.0.0.1:{port}/health"), f"{name} on port {port}")


@pytest.fixture(scope="session")
def pm2_binary() -> str:
    _ensure("ensure-pm2")
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


@frozen
class App:
    """The fixture node app installed at ``path`` and known to PM2 as ``name`` on ``port``."""

    path: Path
    name: str
    port: int

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def spec(self, **overrides) -> RuntimeSpec:
        block = {
            "manager": "pm2",
            "service": self.name,
            "command": "node server/index.js",
            "health": {"url": self.health_url, "version_field": "version"},
            **overrides,
        }
        return RuntimeSpec.from_manifest(block, install_path=self.path, workspace=self.path.parent)


def install_app(root: Path, version: str = "0.2.9") -> Path:
    shutil.copytree(APP, root)
    set_version(root, version)
    return root


def set_version(root: Path, version: str) -> None:
    (root / "package.json").write_text(json.dumps({"name": "recruit", "version": version, "private": True}))


@pytest.fixture
def app(pm2: Pm2, tmp_path: Path) -> App:
    """recruit 0.2.9 installed at <tmp>/installed/recruit and running under PM2."""
    path = install_app(tmp_path / "installed" / "recruit")
    running = App(path=path, name="recruit", port=free_port())
    pm2.start_app(path, running.name, running.port)
    return running


@frozen
class Sshd:
    port: int
    user: str
    options: str  # for TRUEUP_SSH_OPTIONS: identity, known_hosts, no user config

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def sshd(tmp_path_factory) -> Iterator[Sshd]:
    """A real OpenSSH server on 127.0.0.1, run as the current user, trusting one generated key."""
    _ensure("ensure-sshd")
    d = Path(tmp_path_factory.mktemp("sshd"))
    for key in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    shutil.copy(d / "user_key.pub", d / "authorized_keys")
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\nPidFile {d / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "UsePAM no\nStrictModes no\nLogLevel ERROR\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    log = open(d / "sshd.log", "w")
    proc = subprocess.Popen(["/usr/sbin/sshd", "-f", str(d / "sshd_config"), "-D", "-e"], stderr=log, stdout=log)
    options = f"-F /dev/null -i {d / 'user_key'} -o IdentitiesOnly=yes -o UserKnownHostsFile={d / 'known_hosts'}"
    server = Sshd(port=port, user=getpass.getuser(), options=options)

    def answers() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"sshd exited: {(d / 'sshd.log').read_text()}")
        probe = subprocess.run(
            ["ssh", *options.split(), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new",
             "-p", str(port), f"{server.user}@127.0.0.1", "true"],
            capture_output=True, timeout=10,
        )
        return probe.returncode == 0

    try:
        wait_for(answers, "sshd to accept the generated key")
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def ssh_env(sshd: Sshd, monkeypatch) -> Sshd:
    monkeypatch.setenv("TRUEUP_SSH_OPTIONS", sshd.options)
    return sshd
