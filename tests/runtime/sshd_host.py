"""A real OpenSSH server on 127.0.0.1, run as the current user and trusting one generated key.

The runtime tests' session sshd and the tests that need a host of their own (one whose sessions get an
environment through sshd_config's ``SetEnv``, as a Docker host's ``DOCKER_HOST``) start it the same way. It is
stopped by its PID when the block ends.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.runtime.support import Sshd, ensure, free_port, wait_for


@contextmanager
def running_sshd(d: Path, extra_config: str = "") -> Iterator[Sshd]:
    ensure("ensure-sshd")
    d.mkdir(parents=True, exist_ok=True)
    for key in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    (d / "authorized_keys").write_bytes((d / "user_key.pub").read_bytes())
    port = free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\nPidFile {d / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"UsePAM no\nStrictModes no\nLogLevel ERROR\n{extra_config}"
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
