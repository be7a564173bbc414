"""Helpers for the runtime tests: the fixture app, a PM2 handle, bounded waits."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from attrs import frozen

from trueup.runtime.spec import RuntimeSpec

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "fixtures" / "runtime" / "app"
FIXTURES = REPO / "fixtures" / "runtime"
WAIT = 10.0  # every wait in these tests is bounded by this


def ensure(script: str) -> None:
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


@frozen
class Sshd:
    port: int
    user: str
    options: str  # for TRUEUP_SSH_OPTIONS: identity, known_hosts, no user config

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"
