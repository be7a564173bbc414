"""Simulated ssh hosts on one machine (after ../shared/recipes/start-fleet.sh): one sshd per host on 127.0.0.<n>,
each in its own mount and UTS namespace, so each has its own hostname and its own /opt (<dir>/<host>/opt).

Everything else (/usr, the repository, its .venv with trueup) is shared, so trueup runs on every host as it is.
Each host listens on a port that was free when it started (other tests on this machine may hold 2222), and
``stop`` ends only the processes this fleet started, by the PIDs it recorded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from attrs import define, field

NEEDS = ("unshare", "/usr/sbin/sshd", "ssh", "ssh-keygen", "mount")


def missing_requirement() -> str | None:
    """Why this machine cannot run simulated hosts, or None."""
    if os.geteuid() != 0:
        return "simulated hosts need root (unshare --mount, bind mounts, sshd for root logins)"
    absent = [tool for tool in NEEDS if not (shutil.which(tool) or Path(tool).exists())]
    if absent:
        return f"missing {', '.join(absent)} (scripts/ensure-sshd installs the OpenSSH server)"
    return None


def _free_port(ip: str) -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


@define
class Host:
    name: str
    ip: str
    port: int
    root: Path  # <fleet dir>/<name>: etc/ (keys, sshd_config), opt/ (the host's /opt), logs
    pid: int | None = None

    @property
    def opt(self) -> Path:
        """The host's /opt as seen from outside it."""
        return self.root / "opt"


@define
class Fleet:
    dir: Path
    hosts: dict[str, Host] = field(factory=dict)
    extra_pids: list[Path] = field(factory=list)  # pid files of daemons started on a host (PM2), killed on stop

    @property
    def key(self) -> Path:
        return self.dir / "client_key"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    def ssh_options(self) -> list[str]:
        return ["-F", "/dev/null", "-i", str(self.key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                "-o", "ConnectTimeout=5"]

    def add(self, name: str, index: int) -> Host:
        """Prepare (not start) a host named ``name`` on 127.0.0.<index+1>."""
        if not self.key.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.key)], check=True)
        ip = f"127.0.0.{index + 1}"
        host = Host(name=name, ip=ip, port=_free_port(ip), root=self.dir / name)
        etc = host.root / "etc"
        etc.mkdir(parents=True)
        host.opt.mkdir()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(etc / "host_key")], check=True)
        shutil.copy(f"{self.key}.pub", etc / "authorized_keys")
        (etc / "sshd_config").write_text(
            f"ListenAddress {ip}:{host.port}\nHostKey {etc / 'host_key'}\nPidFile {host.root / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {etc / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            "StrictModes no\nLogLevel ERROR\nSubsystem sftp internal-sftp\n")
        with open(self.known_hosts, "a") as fh:
            fh.write(f"[{ip}]:{host.port} {' '.join((etc / 'host_key.pub').read_text().split()[:2])}\n")
        self.hosts[name] = host
        return host

    def start(self, name: str) -> None:
        host = self.hosts[name]
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        log = open(host.root / "sshd.log", "ab")
        # unshare execs sh in the new namespaces, and sh execs sshd: the PID recorded is sshd's own.
        proc = subprocess.Popen(
            ["unshare", "--mount", "--uts", "--propagation", "private", "sh", "-c",
             f"hostname {name} && mount --bind '{host.opt}' /opt && exec /usr/sbin/sshd -D -e -f '{host.root / 'etc' / 'sshd_config'}'"],
            stdout=log, stderr=log, start_new_session=True)
        log.close()
        host.pid = proc.pid
        self._wait(host, proc)

    def _wait(self, host: Host, proc: subprocess.Popen) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"sshd of {host.name} exited: {(host.root / 'sshd.log').read_text()}")
            if self.ssh(host.name, "true", check=False).returncode == 0:
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {host.name}'s sshd on {host.ip}:{host.port}")

    def ssh(self, name: str, command: str, check: bool = True) -> subprocess.CompletedProcess:
        host = self.hosts[name]
        proc = subprocess.run(["ssh", *self.ssh_options(), "-p", str(host.port), f"root@{host.ip}", command],
                              capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"ssh {name} {command!r} exited {proc.returncode}: {proc.stderr.strip()}")
        return proc

    def stop_host(self, name: str) -> None:
        host = self.hosts[name]
        if host.pid is not None:
            _kill(host.pid)
            host.pid = None

    def stop(self) -> None:
        """End what this fleet started, by PID: daemons started on hosts first, then each sshd."""
        for pid_file in self.extra_pids:
            for pid in _pids(pid_file):
                _kill(pid)
        for name in self.hosts:
            self.stop_host(name)

    def inventory(self, path: Path, names: list[str], **group_vars: str) -> Path:
        """An Ansible inventory of these hosts (started or not: an unstarted one is unreachable)."""
        lines = ["[fleet]"]
        lines += [f"{n} ansible_host={self.hosts[n].ip} ansible_port={self.hosts[n].port}" for n in names]
        common = " ".join(o for o in self.ssh_options() if o not in ("-i", str(self.key)))
        lines += ["", "[fleet:vars]", "ansible_user=root", f"ansible_ssh_private_key_file={self.key}",
                  f"ansible_ssh_common_args={common}", "ansible_python_interpreter=/usr/bin/python3",
                  "ansible_remote_tmp=/opt/.ansible-tmp"]
        lines += [f"{k}={v}" for k, v in group_vars.items()]
        path.write_text("\n".join(lines) + "\n")
        return path


def _pids(pid_file: Path) -> list[int]:
    """PIDs in a pid file, or in every *.pid of a directory (PM2 keeps one per app in PM2_HOME/pids)."""
    files = sorted(pid_file.glob("*.pid")) if pid_file.is_dir() else [pid_file]
    out = []
    for f in files:
        try:
            out.append(int(f.read_text().strip()))
        except (OSError, ValueError):
            pass
    return out


def _kill(pid: int) -> None:
    """TERM, then KILL if it is still there after 5 s; a PID already gone is fine."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
            if waited == pid:
                return
        except ChildProcessError:  # not our child: poll for it
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
