"""System units on a real systemd as PID 1, observed and restarted over ssh: a Debian 12 host booted with
systemd-nspawn (tests/runtime/nspawn_host.py; rootfs from scripts/ensure-nspawn-rootfs, built once). One host for
the module (boot ~1-5 s); each test defines its own unit. Skipped with the reason only where this machine
cannot build or boot it (not root, no apt-get)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.nspawn_host import NspawnHost
from tests.runtime.support import REPO, wait_for
from tests.runtime.systemd_manager import missing_requirement
from trueup.runtime.drift import diff_runtime
from trueup.runtime.observation import observe_runtime
from trueup.runtime.restart import restart
from trueup.runtime.spec import RuntimeSpec


@pytest.fixture(scope="module")
def nspawn_host(tmp_path_factory) -> Iterator[NspawnHost]:
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)
    proc = subprocess.run([str(REPO / "scripts" / "ensure-nspawn-rootfs")], capture_output=True, text=True)
    if proc.returncode == 3:
        pytest.skip(f"scripts/ensure-nspawn-rootfs: {proc.stderr.strip()}")
    if proc.returncode != 0:
        pytest.fail(f"scripts/ensure-nspawn-rootfs failed ({proc.stderr.strip()}); run it by hand", pytrace=False)
    host = NspawnHost.start(Path(tmp_path_factory.mktemp("ns")))
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture
def remote(nspawn_host: NspawnHost, monkeypatch) -> NspawnHost:
    monkeypatch.setenv("TRUEUP_SSH_OPTIONS", nspawn_host.options)
    return nspawn_host


def define(host: NspawnHost, unit: str, exec_start: str, *, start: bool = True) -> None:
    """A system unit in /etc/systemd/system of the host (its tmpfs overlay), with a program under /opt."""
    host.ssh(f"mkdir -p /opt/{unit}/bin && printf '#!/bin/sh\\nexec sleep 100000\\n' > /opt/{unit}/bin/run"
             f" && chmod 755 /opt/{unit}/bin/run"
             f" && printf '[Service]\\nExecStart={exec_start}\\nWorkingDirectory=/opt/{unit}\\n' > /etc/systemd/system/{unit}"
             f" && systemctl daemon-reload" + (f" && systemctl start {unit}" if start else ""))


def spec(host: NspawnHost, tmp_path: Path, unit: str) -> RuntimeSpec:
    return RuntimeSpec.from_manifest({"manager": "systemd", "service": unit, "host": host.url, "cwd": f"/opt/{unit}"},
                                     install_path=tmp_path, workspace=tmp_path)


def kinds(s: RuntimeSpec) -> list[str]:
    return [d.kind for d in diff_runtime(s, observe_runtime(s), None) if d.is_drift]


def test_a_system_unit_whose_program_is_missing_over_ssh(remote: NspawnHost, tmp_path: Path):
    define(remote, "gone.service", "/opt/gone.service/bin/moved --health-path /health")
    wait_for(lambda: remote.ssh("systemctl is-failed gone.service", check=False).stdout.strip() == "failed", "gone failed")
    s = spec(remote, tmp_path, "gone.service")
    drifts = [d for d in diff_runtime(s, observe_runtime(s), None) if d.is_drift]
    assert [d.kind for d in drifts] == ["definition-target-missing", "errored"]
    assert drifts[0].actual == {"path": "/opt/gone.service/bin/moved", "problem": "missing"}


def test_an_edited_system_unit_is_reloaded_and_restarted_over_ssh(remote: NspawnHost, tmp_path: Path):
    define(remote, "recruit.service", "/opt/recruit.service/bin/run --generation 1")
    s = spec(remote, tmp_path, "recruit.service")
    assert kinds(s) == []
    # Edited in place, not reloaded: stat's mtime over ssh has seconds, so the edit is a second after the start.
    remote.ssh("sleep 1.1; sed -i 's/--generation 1/--generation 2/' /etc/systemd/system/recruit.service")
    assert kinds(s) == ["definition-not-loaded", "stale-process"]
    result = restart(s)
    assert (result.verb, result.reloaded, result.where) == ("restarted", True, remote.url)
    assert kinds(s) == []
    assert "--generation 2" in remote.ssh("systemctl show -p ExecStart recruit.service").stdout

    remote.ssh("systemctl stop recruit.service")
    assert kinds(s) == ["not-running"]
    assert restart(s).verb == "started"  # the manager's start verb for a stopped unit
    assert kinds(s) == []


def test_two_generations_of_one_system_watchdog_over_ssh(remote: NspawnHost, tmp_path: Path):
    define(remote, "watchdog.service", "/opt/watchdog.service/bin/run")
    remote.ssh("printf '[Service]\\nExecStart=/opt/watchdog.service/bin/run\\n' > /etc/systemd/system/watchdog-old.service"
               " && systemctl daemon-reload")
    s = spec(remote, tmp_path, "watchdog.service")
    [drift] = [d for d in diff_runtime(s, observe_runtime(s), None) if d.is_drift]
    assert drift.kind == "duplicate-definition" and [d["unit"] for d in drift.actual["definitions"]] == ["watchdog-old.service"]
    remote.ssh("mv /etc/systemd/system/watchdog-old.service /etc/systemd/system/watchdog-old.service.disabled"
               " && systemctl daemon-reload")
    assert kinds(s) == []
