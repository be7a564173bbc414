"""A throwaway host whose PID 1 is systemd, for system units observed over ssh (../shared/recipes/start-host.sh).

``systemd-nspawn --boot`` of the Debian rootfs scripts/ensure-nspawn-rootfs builds, read-only underneath
(``--volatile=overlay``: what a test writes lives in a tmpfs and is gone at the end), sharing the host network;
its sshd listens on 127.0.0.1 at a free port and trusts one generated key. Like the user manager, it is moved
into a cgroup of its own before it starts (``--keep-unit --register=no``: there is no host systemd to ask), and
stopped by its PID.
"""

from __future__ import annotations

import signal
import subprocess
import uuid
from pathlib import Path

from attrs import define

from tests.runtime.support import REPO, free_port, wait_for
from tests.runtime.systemd_manager import cgroup_dirs, release_cgroups

ROOTFS = REPO / ".tools" / "nspawn-rootfs"
LAUNCH = """set -eu
rootfs=$1 name=$2 dir=$3; shift 3
for d in "$@"; do mkdir -p "$d"; echo $$ > "$d/cgroup.procs"; done
exec systemd-nspawn --quiet --register=no --keep-unit --directory="$rootfs" --machine="$name" --hostname="$name" \
  --boot --console=read-only --volatile=overlay \
  --bind-ro="$dir/sshd.conf:/etc/ssh/sshd_config.d/trueup-test.conf" \
  --bind-ro="$dir/authorized_keys:/etc/ssh/trueup-test-authorized-keys"
"""


@define
class NspawnHost:
    """A booted container reachable as ``root@127.0.0.1:port`` with ``options`` (for TRUEUP_SSH_OPTIONS)."""

    root: Path
    name: str
    port: int
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"ssh://root@127.0.0.1:{self.port}"

    @property
    def options(self) -> str:
        # One multiplexed connection (ControlMaster) for every ssh a test makes: a handshake costs ~0.5 s here.
        return (f"-F /dev/null -i {self.root / 'key'} -o IdentitiesOnly=yes -o BatchMode=yes "
                f"-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={self.root / 'known_hosts'} "
                f"-o ControlMaster=auto -o ControlPath={self.root / 'cm'} -o ControlPersist=120")

    def ssh(self, command: str, *, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(["ssh", *self.options.split(), "-p", str(self.port), "root@127.0.0.1", command],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if check:
            assert proc.returncode == 0, f"ssh {command!r} failed: {proc.stderr.strip()}"
        return proc

    @classmethod
    def start(cls, root: Path) -> NspawnHost:
        root.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "key")], check=True)
        (root / "authorized_keys").write_text((root / "key.pub").read_text())
        port = free_port()
        (root / "sshd.conf").write_text(
            f"ListenAddress 127.0.0.1:{port}\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n"
            "AuthorizedKeysFile /etc/ssh/trueup-test-authorized-keys\n")
        name = f"trueup-{uuid.uuid4().hex[:8]}"
        with open(root / "console.log", "w") as out:
            proc = subprocess.Popen(["sh", "-c", LAUNCH, "sh", str(ROOTFS), name, str(root),
                                     *map(str, cgroup_dirs(f"nspawn-{name}"))],
                                    stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True)
        host = cls(root=root, name=name, port=port, proc=proc)

        def answers() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited: {(root / 'console.log').read_text()[-2000:]}")
            return host.ssh("systemctl is-system-running --wait >/dev/null; true", check=False).returncode == 0

        try:
            wait_for(answers, "the nspawn host's sshd", timeout=60)
        except BaseException:
            host.stop()
            raise
        return host

    def stop(self) -> None:
        """Power the container off through nspawn (SIGTERM), by its PID; then what is left in its cgroups."""
        if (self.root / "cm").exists():  # the multiplexing master ssh: asked to exit through its own socket
            subprocess.run(["ssh", *self.options.split(), "-p", str(self.port), "-O", "exit", "root@127.0.0.1"],
                           capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        release_cgroups(f"nspawn-{self.name}")
