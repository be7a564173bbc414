"""A private Docker engine for the tests: dockerd (Debian docker.io) on its own unix socket with its data in a
temp dir, no bridge and no iptables changes, a local registry (Debian docker-registry) for real RepoDigests, and
images built FROM scratch + a static busybox (no Docker Hub here). Containers run with ``--network none``.

Only what the tests started is stopped, by PID: containers first (their shims outlive dockerd), then dockerd,
then the registry.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from attrs import define, field

from tests.runtime.support import WAIT, free_port, wait_for

DOCKERD_FLAGS = ("--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
                 "--userland-proxy=false", "--log-level=warn")
DOCKERFILE = """FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ARG VERSION=0
LABEL org.opencontainers.image.version=$VERSION
RUN echo "$VERSION" > /version
CMD ["/bin/sh", "-c", "exec sleep 100000"]
"""


@define
class DockerEngine:
    """dockerd at ``host`` (a unix:// DOCKER_HOST) and a registry at ``registry`` (host:port)."""

    root: Path
    host: str
    registry: str
    procs: list[subprocess.Popen] = field(factory=list)
    containers: list[str] = field(factory=list)

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host}

    def docker(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        proc = subprocess.run(["docker", *args], env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check:
            assert proc.returncode == 0, f"docker {' '.join(args)} failed: {proc.stderr.strip()}"
        return proc

    def build(self, tag: str, version: str) -> str:
        """Build ``tag`` (labelled ``version``); returns the image id."""
        self.docker("build", "-q", "--build-arg", f"VERSION={version}", "-t", tag, str(self.root / "ctx"))
        return self.image_id(tag)

    def image_id(self, ref: str) -> str:
        return self.docker("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip()

    def push(self, tag: str) -> None:
        self.docker("push", "-q", tag)

    def run(self, name: str, image: str, *args: str) -> None:
        self.containers.append(name)
        self.docker("run", "-d", "--name", name, "--network", "none", *args, image)

    def remove_containers(self) -> None:
        for name in self.containers:
            self.docker("rm", "-f", name, check=False)
        self.containers.clear()

    def state(self, name: str) -> str:
        return self.docker("container", "inspect", "-f", "{{.State.Status}}", name).stdout.strip()

    @classmethod
    def start(cls, root: Path) -> DockerEngine:
        (root / "ctx").mkdir(parents=True)
        shutil.copy("/bin/busybox", root / "ctx" / "busybox")
        (root / "ctx" / "Dockerfile").write_text(DOCKERFILE)
        engine = cls(root=root, host=f"unix://{root}/docker.sock", registry=f"localhost:{free_port()}")
        try:
            engine._start_dockerd()
            engine._start_registry()
        except BaseException:
            engine.stop()
            raise
        return engine

    def _spawn(self, argv: list[str], log: str) -> subprocess.Popen:
        with open(self.root / log, "w") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def _start_dockerd(self) -> None:
        r = self.root
        proc = self._spawn(["dockerd", "--data-root", str(r / "data"), "--exec-root", str(r / "exec"),
                            "--pidfile", str(r / "docker.pid"), "-H", self.host, *DOCKERD_FLAGS], "dockerd.log")

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"dockerd exited: {(r / 'dockerd.log').read_text()[-2000:]}")
            return self.docker("version", check=False, timeout=10).returncode == 0

        wait_for(ready, "dockerd to answer", timeout=30)

    def _start_registry(self) -> None:
        config = self.root / "registry.yml"
        config.write_text("version: 0.1\nlog: {level: warn}\n"
                          f"storage: {{filesystem: {{rootdirectory: {self.root / 'registry'}}}}}\n"
                          f"http: {{addr: 127.0.0.1:{self.registry.split(':')[1]}}}\n")
        proc = self._spawn(["docker-registry", "serve", str(config)], "registry.log")

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"docker-registry exited: {(self.root / 'registry.log').read_text()[-2000:]}")
            probe = subprocess.run(["curl", "-fs", f"http://127.0.0.1:{self.registry.split(':')[1]}/v2/"],
                                   capture_output=True, timeout=5)
            return probe.returncode == 0

        wait_for(ready, "the registry to answer", timeout=WAIT)

    def stop(self) -> None:
        """Containers first (their shims are reparented away from dockerd), then each process we started, by PID."""
        if self.procs and self.procs[0].poll() is None:
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.procs.clear()
        # dockerd unmounts its own; anything left under our root (an overlay after a crash) goes before rm.
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                  if line.split()[1].startswith(str(self.root) + "/")]
        for mount in sorted(mounts, reverse=True):
            subprocess.run(["umount", mount], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def wait_state(engine: DockerEngine, name: str, wanted: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while engine.state(name) != wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"container {name} not {wanted} after {timeout}s: {engine.state(name)}")
        time.sleep(0.1)
