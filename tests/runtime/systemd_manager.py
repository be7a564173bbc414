"""A real systemd user manager for the tests (../shared/recipes/start-user-systemd.sh, done in Python).

The manager runs as an ordinary process with its own ``XDG_RUNTIME_DIR`` and ``HOME`` in a temp dir, so
``systemctl --user`` talks to it and to nothing else. Two things make that safe on a machine whose PID 1 is
not systemd: it is moved into a cgroup of its own BEFORE it starts (a root manager started from cgroup ``/``
treats ``/`` as its root and migrates every process on the machine into ``/init.scope``), and it runs in a
private mount namespace whose tmpfs ``/run/systemd`` holds the ``system`` flag the manager checks (the
host's ``/run`` is untouched). It is stopped by its PID; the processes of its units, if any outlive it,
by theirs; then its cgroups are removed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from attrs import define

from tests.runtime.support import wait_for

SYSTEMD = "/lib/systemd/systemd"
CGROUP = Path("/sys/fs/cgroup")
# Runs as the manager's own process before it execs: join the cgroup(s), then a private /run/systemd.
LAUNCH = """set -eu
for d in "$@"; do mkdir -p "$d"; echo $$ > "$d/cgroup.procs"; done
exec unshare --mount --propagation private sh -c \
  'mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system && exec /lib/systemd/systemd --user'
"""


def missing_requirement() -> str | None:
    """Why this machine cannot run a user manager for the tests, or None."""
    if os.geteuid() != 0:
        return "a systemd user manager in its own cgroup and mount namespace needs root; run the suite as root"
    if not os.path.exists(SYSTEMD) or not shutil.which("systemctl") or not shutil.which("unshare"):
        return f"{SYSTEMD}, systemctl or unshare is not installed (Debian: apt-get install systemd util-linux)"
    if not (CGROUP / "unified").is_dir() and not (CGROUP / "cgroup.procs").exists():
        return "no writable cgroup hierarchy at /sys/fs/cgroup to confine the manager in"
    return None


def cgroup_dirs(name: str) -> list[Path]:
    if (CGROUP / "unified").is_dir():  # cgroup v1 "hybrid": the name=systemd hierarchy and the unified one
        return [CGROUP / "systemd" / name, CGROUP / "unified" / name]
    return [CGROUP / name]  # pure cgroup v2


def _pids_in(directory: Path) -> set[int]:
    pids: set[int] = set()
    for procs in directory.rglob("cgroup.procs"):
        try:
            pids.update(int(p) for p in procs.read_text().split())
        except OSError:
            pass
    return pids


def release_cgroups(name: str) -> None:
    """Kill, by PID, whatever is still in the cgroup(s) ``name`` (only processes this test started), then remove
    them, deepest first: a cgroup is removed only when it holds no process and no child."""
    dirs = cgroup_dirs(name)
    for _ in range(50):
        left = set().union(*(_pids_in(d) for d in dirs if d.exists()))
        if not left:
            break
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    for d in dirs:
        for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            try:
                sub.rmdir()
            except OSError:
                pass
        try:
            d.rmdir()
        except OSError:
            pass


@define
class UserSystemd:
    """A running ``systemd --user`` with ``XDG_RUNTIME_DIR=runtime_dir`` and units in ``unit_dir``."""

    root: Path
    cgroup: str
    proc: subprocess.Popen
    log: Path

    @property
    def runtime_dir(self) -> Path:
        return self.root / "run"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def unit_dir(self) -> Path:
        return self.home / ".config" / "systemd" / "user"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def env(self) -> dict[str, str]:
        return {**os.environ, "XDG_RUNTIME_DIR": str(self.runtime_dir)}

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["systemctl", "--user", *args], env=self.env(), capture_output=True, text=True, timeout=30)
        if check:
            assert proc.returncode == 0, f"systemctl --user {' '.join(args)} failed: {proc.stderr.strip()}"
        return proc

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        out = self.systemctl("show", "--timestamp=us+utc", *(f"--property={p}" for p in properties), "--", unit).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def write_unit(self, name: str, exec_start: str, *, cwd: Path | None = None, extra: str = "") -> Path:
        """Write ``name`` (a .service) into the user unit directory; the caller daemon-reloads."""
        self.unit_dir.mkdir(parents=True, exist_ok=True)
        path = self.unit_dir / name
        service = f"ExecStart={exec_start}\n" + (f"WorkingDirectory={cwd}\n" if cwd else "") + extra
        path.write_text(f"[Unit]\nDescription={name} (trueup test)\n\n[Service]\n{service}")
        return path

    def start_unit(self, name: str, exec_start: str, *, cwd: Path | None = None) -> Path:
        path = self.write_unit(name, exec_start, cwd=cwd)
        self.systemctl("daemon-reload")
        self.systemctl("start", name)
        return path

    def main_pid(self, unit: str) -> int:
        return int(self.show(unit, "MainPID")["MainPID"])

    @classmethod
    def start(cls, root: Path) -> UserSystemd:
        (root / "run").mkdir(parents=True, mode=0o700)
        (root / "home").mkdir()
        name = f"trueup-test-{uuid.uuid4().hex[:12]}"
        log = root / "manager.log"
        env = {**os.environ, "XDG_RUNTIME_DIR": str(root / "run"), "HOME": str(root / "home"),
               "XDG_CONFIG_HOME": str(root / "home" / ".config")}
        with open(log, "w") as out:
            proc = subprocess.Popen(["sh", "-c", LAUNCH, "sh", *map(str, cgroup_dirs(name))], env=env,
                                    stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
        manager = cls(root=root, cgroup=name, proc=proc, log=log)

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"systemd --user exited ({proc.returncode}): {log.read_text()[-2000:]}")
            state = manager.systemctl("show", "--value", "--property=SystemState", check=False).stdout.strip()
            return state in ("running", "degraded")  # is-system-running says "offline" here

        try:
            wait_for(ready, "the systemd user manager to be running")
        except BaseException:
            manager.stop()
            raise
        return manager

    def stop(self) -> None:
        """Stop the manager by its PID, then whatever of its units outlived it, by theirs; remove its cgroups."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # the user manager stops its units and exits
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        release_cgroups(self.cgroup)
