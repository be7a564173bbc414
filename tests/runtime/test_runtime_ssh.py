"""Observing and restarting PM2 through a real OpenSSH server on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.runtime.support import App, Pm2, Sshd, free_port
from trueup.runtime.restart import restart
from trueup.errors import EXIT_UNREACHABLE, TrueupError
from trueup.model.keys import runtime_key
from trueup.runtime.drift import diff_runtime
from trueup.runtime.observation import observe_runtime
from trueup.runtime.spec import RuntimeSpec
from trueup.runtime.transport import SshTarget, Transport, Unreachable


def test_observation_through_ssh_sees_what_local_sees(app: App, ssh_env: Sshd):
    local = observe_runtime(app.spec())
    remote = observe_runtime(app.spec(host=ssh_env.url))
    assert remote.reachable, remote.unreachable_reason
    assert remote.where == ssh_env.url
    # PM2_HOME and the pm2 path reached the remote side; health was fetched there (curl on its loopback).
    assert remote.facts == local.facts
    assert remote.facts["health"]["version"] == "0.2.9"


def test_env_file_times_are_read_on_the_remote_host(app: App, ssh_env: Sshd):
    env_file = app.path / ".env"
    env_file.write_text("A=1\n")
    started = observe_runtime(app.spec()).facts["started_at"]
    os.utime(env_file, (time.time() + 3600, time.time() + 3600))  # changed "later" than the start
    spec = app.spec(host=ssh_env.url, env_file=str(env_file))
    obs = observe_runtime(spec)
    assert obs.facts["env_files"][0]["path"] == str(env_file)
    assert obs.facts["env_files"][0]["mtime"] > started
    assert [d.kind for d in diff_runtime(spec, obs, None)] == ["env-stale"]


def test_restart_through_ssh(app: App, ssh_env: Sshd):
    spec = app.spec(host=ssh_env.url)
    result = restart(spec, timeout=15)
    assert result.where == ssh_env.url and result.before[runtime_key("pid")] != result.after[runtime_key("pid")]
    assert observe_runtime(app.spec()).facts["pid"] == result.after[runtime_key("pid")]


def test_closed_port_is_unreachable_with_a_clear_reason(ssh_env: Sshd, tmp_path: Path):
    host = f"ssh://{ssh_env.user}@127.0.0.1:{free_port()}"
    spec = RuntimeSpec.from_manifest(
        {"manager": "pm2", "service": "recruit", "host": host}, install_path=tmp_path, workspace=tmp_path
    )
    started = time.monotonic()
    obs = observe_runtime(spec)
    assert time.monotonic() - started < 10
    assert not obs.reachable and obs.facts == {}
    assert obs.unreachable_reason.startswith(host) and "refused" in obs.unreachable_reason
    [drift] = diff_runtime(spec, obs, None)
    assert (drift.kind, drift.is_drift, drift.expected) == ("unreachable", False, host)
    with pytest.raises(Unreachable) as raised:
        restart(spec, timeout=2)
    assert raised.value.exit_code == EXIT_UNREACHABLE


def test_unknown_key_is_unreachable_not_a_prompt(sshd: Sshd, monkeypatch, tmp_path: Path):
    other_key = tmp_path / "stranger"
    keygen = subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)],
                            capture_output=True, text=True)
    # Without the key, ssh would fail for another reason and the test would prove nothing.
    assert keygen.returncode == 0 and other_key.is_file(), keygen.stderr
    identity = sshd.options.split()[3]
    assert identity != str(other_key) and f"-i {identity} " in sshd.options
    monkeypatch.setenv("TRUEUP_SSH_OPTIONS", sshd.options.replace(identity, str(other_key)))
    result = Transport.for_host(sshd.url)
    with pytest.raises(Unreachable, match="Permission denied"):
        result.run(["true"], timeout=10)


def test_remote_arguments_are_quoted(ssh_env: Sshd):
    transport = Transport.for_host(ssh_env.url)
    out = transport.run(["printf", "%s|", "a b", "$HOME", "it's"], env={"X": "1 2"}, timeout=10)
    assert out.stdout == "a b|$HOME|it's|"
    assert transport.run(["sh", "-c", 'printf %s "$X"'], env={"X": "1 2"}, timeout=10).stdout == "1 2"


def test_host_urls_parse_and_bad_ones_fail_in_one_line(tmp_path: Path):
    assert SshTarget.parse("ssh://deploy@box.example:2222") == SshTarget(host="box.example", user="deploy", port=2222)
    assert str(SshTarget.parse("ssh://box")) == "ssh://box"
    with pytest.raises(TrueupError, match="expected ssh://"):
        RuntimeSpec.from_manifest({"manager": "pm2", "service": "x", "host": "box:22"}, install_path=tmp_path, workspace=tmp_path)
    with pytest.raises(TrueupError, match="uses ~ with host"):
        RuntimeSpec.from_manifest(
            {"manager": "pm2", "service": "x", "host": "ssh://box", "cwd": "~/apps/x"}, install_path=tmp_path, workspace=tmp_path
        )
    argv = Transport.for_host("ssh://u@h:2222").ssh_argv("true")
    assert argv[:7] == ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "StrictHostKeyChecking=accept-new"]
    assert argv[-4:] == ["u", "--", "h", "true"] and "2222" in argv


def test_missing_pm2_on_the_remote_host_is_unreachable(ssh_env: Sshd, monkeypatch, tmp_path: Path):
    monkeypatch.setenv("TRUEUP_PM2", "/nonexistent/pm2")
    spec = RuntimeSpec.from_manifest(
        {"manager": "pm2", "service": "recruit", "host": ssh_env.url}, install_path=tmp_path, workspace=tmp_path
    )
    obs = observe_runtime(spec)
    assert not obs.reachable and obs.unreachable_reason == f"pm2 (/nonexistent/pm2) not found on {ssh_env.url}"
