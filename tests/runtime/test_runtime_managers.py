"""systemd, Docker and launchd parsers, and observe end to end with stand-in `docker`/`launchctl` executables
that print fixture files, so the argv trueup asks with and the path checks on real files are exercised too.

systemd: real `systemctl --user show` captures (systemd 252); the cases themselves run on a real user manager
in test_systemd_user.py. Docker drift on a real engine: test_docker_engine.py. launchd cannot run here (it
exists only on macOS): its tests read real plist files (XML and binary) with plistlib and check real programs
on disk, with `launchctl list` output served by a stand-in."""

from __future__ import annotations

import json
import os
import plistlib
import shlex
from pathlib import Path

import pytest

from tests.runtime.support import FIXTURES
from trueup.runtime import docker, launchd, systemd
from trueup.model.keys import runtime_key
from trueup.runtime.drift import diff_runtime, restart_preconditions
from trueup.runtime.observation import RuntimeObservation, observe_runtime
from trueup.runtime.spec import RuntimeSpec

OLD_DIGEST = "ghcr.io/acme/recruit@sha256:5f0c1e2d3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"
NEW_DIGEST = "ghcr.io/acme/recruit@sha256:c0ffee0ddba11deadbeef00112233445566778899aabbccddeeff0011223344"


def read(*parts: str) -> str:
    return FIXTURES.joinpath(*parts).read_text()


def spec(block: dict, tmp_path: Path) -> RuntimeSpec:
    return RuntimeSpec.from_manifest(block, install_path=tmp_path, workspace=tmp_path)


def obs(manager: str, facts: dict) -> RuntimeObservation:
    return RuntimeObservation(manager=manager, service="recruit", where="local", reachable=True, facts=facts)


def kinds(drifts) -> list[str]:
    return [d.kind for d in drifts if d.is_drift]


def stand_in(bin_dir: Path, name: str, script: str) -> Path:
    """An executable ``name`` that records its argv and runs ``script`` (sh)."""
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {shlex.quote(str(bin_dir / (name + ".argv")))}\n{script}\n')
    path.chmod(0o755)
    return path


# ---- systemd -------------------------------------------------------------------------------------
# Real `systemctl --user show` captures (systemd 252, fixtures/runtime/systemd/captured/README.md); the cases
# themselves run on a real manager in test_systemd_user.py. These pin the parser to what systemd really prints.

CAPTURED = "/srv/captured"


def captured(name: str) -> dict:
    text = read("systemd", "captured", name).replace("@ROOT@", CAPTURED)
    return systemd.systemd_facts(systemd.parse_show(text))


def test_captured_active_unit_parses_to_stable_facts_without_counters():
    facts = captured("active.show")
    assert facts == {
        "command": [f"{CAPTURED}/app/bin/recruit-wrapper", "--health-path", "/health"],
        "cwd": f"{CAPTURED}/app",
        "definition_files": [f"{CAPTURED}/home/.config/systemd/user/recruit.service"],
        "env_files": [f"{CAPTURED}/app/.env"],
        "load_state": "loaded",
        "need_daemon_reload": False,
        "pid": 12801,
        "present": True,
        "program": f"{CAPTURED}/app/bin/recruit-wrapper",
        "result": "success",
        "started_at": "2026-11-29T17:14:46.397Z",  # --timestamp=us+utc, cut to milliseconds
        "state": "active/running",
        "status": "running",
        "unit_file": f"{CAPTURED}/home/.config/systemd/user/recruit.service",
    }
    assert "NRestarts" in read("systemd", "captured", "active.show") and "NRestarts" not in json.dumps(facts)


def test_captured_edit_before_and_after_daemon_reload(tmp_path: Path):
    before, after = captured("need-daemon-reload.show"), captured("reloaded-old-process.show")
    assert before["need_daemon_reload"] and before["command"][-1] == "/health"
    # Reloaded: ExecStart shows the new argv while MainPID is still the process started from the old one.
    assert not after["need_daemon_reload"] and after["command"][-1] == "/healthz"
    assert (after["pid"], after["started_at"]) == (before["pid"], before["started_at"]) == (12801, "2026-11-29T17:14:46.397Z")
    s = spec({"manager": "systemd", "service": "recruit.service", "cwd": f"{CAPTURED}/app"}, tmp_path)
    before["env_files"] = after["env_files"] = []  # observe stats them; not the point here
    assert kinds(diff_runtime(s, obs("systemd", before), None)) == ["definition-not-loaded"]
    edited = {**after, "definition_changed_at": "2026-11-29T17:14:46.500Z"}  # the unit file's mtime, observed apart
    [stale] = diff_runtime(s, obs("systemd", edited), {"installed_at": "2026-11-29T17:00:00Z"})
    assert (stale.kind, stale.actual) == ("stale-process", "2026-11-29T17:14:46.397Z")


def test_captured_failed_inactive_and_missing_units(tmp_path: Path):
    failed = captured("failed-program-missing.show")
    assert (failed["status"], failed["pid"], failed["program"]) == ("errored", None, f"{CAPTURED}/app/bin/moved-wrapper")
    failed["program_check"] = {"path": failed["program"], "exists": False, "executable": False}
    s = spec({"manager": "systemd", "service": "gone.service", "cwd": f"{CAPTURED}/app"}, tmp_path)
    drifts = diff_runtime(s, obs("systemd", failed), None)
    assert kinds(drifts) == ["definition-target-missing", "errored"]
    assert drifts[0].actual == {"path": f"{CAPTURED}/app/bin/moved-wrapper", "problem": "missing"}
    inactive = captured("inactive.show")
    assert (inactive["status"], inactive["started_at"]) == ("stopped", None)  # never-started fields are empty
    assert kinds(diff_runtime(s, obs("systemd", inactive), None)) == ["not-running"]
    assert captured("not-found.show") == {"load_state": "not-found", "present": False, "status": "absent"}


def test_systemd_timestamps():
    assert systemd.parse_timestamp("Sat 2026-11-21 22:14:05 UTC") == "2026-11-21T22:14:05.000Z"
    assert systemd.parse_timestamp("Sun 2026-11-29 17:14:46.397602 UTC") == "2026-11-29T17:14:46.397Z"
    assert systemd.parse_timestamp("@1795312549") == "2026-11-22T01:55:49.000Z"
    assert systemd.parse_timestamp("n/a") is None and systemd.parse_timestamp("") is None
    assert systemd.parse_timestamp("Sat 2026-11-21 23:14:05 CET") is None  # ambiguous zone: unknown, not wrong


def test_systemd_before_248_is_asked_again_with_seconds(tmp_path: Path, monkeypatch):
    """An old systemctl refuses --timestamp=us+utc; observe asks again with --timestamp=utc (seconds)."""
    capture = tmp_path / "capture"
    capture.write_text(read("systemd", "captured", "active.show").replace("@ROOT@", str(tmp_path)))
    script = (f'case "$*" in *us+utc*) echo "Invalid value for --timestamp: us+utc" >&2; exit 1 ;; '
              f'*"show --timestamp=utc "*) cat {capture} ;; esac')
    systemctl = stand_in(tmp_path / "bin", "systemctl", script)
    monkeypatch.setenv("PATH", f"{systemctl.parent}:{os.environ['PATH']}")
    s = spec({"manager": "systemd", "service": "recruit.service", "cwd": f"{tmp_path}/app"}, tmp_path)
    observation = observe_runtime(s)
    assert observation.reachable and observation.facts["pid"] == 12801
    assert (tmp_path / "bin" / "systemctl.argv").read_text().count("show --timestamp=") == 2


# ---- docker --------------------------------------------------------------------------------------


def docker_facts(name: str) -> dict:
    return docker.docker_facts(
        docker.parse_inspect(read("docker", name)), docker.parse_inspect(read("docker", "recruit.image.json"))
    )


def test_docker_inspect_parses_to_stable_facts_without_secrets_or_counters():
    facts = docker_facts("recruit-running.container.json")
    assert facts["status"] == "running" and facts["pid"] == 2817
    assert facts["started_at"] == "2026-11-21T22:14:05.482Z"  # nanoseconds cut to milliseconds
    assert facts["image_digests"] == [OLD_DIGEST] and facts["image_id"].startswith("sha256:3b1f")
    assert facts["command"] == ["docker-entrypoint.sh", "node", "server/index.js"] and facts["cwd"] == "/app"
    text = json.dumps(facts)
    assert "do-not-leak" not in text and "RestartCount" not in text and "FailingStreak" not in text


def test_docker_image_drift_compares_digests(tmp_path: Path):
    facts = docker_facts("recruit-running.container.json")
    pinned_old = spec({"manager": "docker", "service": "recruit", "image": OLD_DIGEST}, tmp_path)
    pinned_new = spec({"manager": "docker", "service": "recruit", "image": NEW_DIGEST}, tmp_path)
    assert diff_runtime(pinned_old, obs("docker", facts), None) == []  # install path is not the container's cwd
    drifts = diff_runtime(pinned_new, obs("docker", facts), None)
    assert kinds(drifts) == ["image-drift"] and drifts[0].actual["digests"] == [OLD_DIGEST]
    other_repo = OLD_DIGEST.replace("acme/recruit", "evil/recruit")
    assert kinds(diff_runtime(spec({"manager": "docker", "service": "recruit", "image": other_repo}, tmp_path), obs("docker", facts), None)) == ["image-drift"]
    by_id = spec({"manager": "docker", "service": "recruit", "image": facts["image_id"]}, tmp_path)
    assert diff_runtime(by_id, obs("docker", facts), None) == []


@pytest.mark.parametrize(
    ("capture", "status", "kind"),
    [
        ("recruit-exited.container.json", "stopped", "not-running"),
        ("recruit-created.container.json", "stopped", "not-running"),
        ("recruit-unhealthy.container.json", "errored", "unhealthy"),
    ],
)
def test_docker_states(capture: str, status: str, kind: str, tmp_path: Path):
    facts = docker_facts(capture)
    assert facts["status"] == status
    s = spec({"manager": "docker", "service": "recruit", "image": OLD_DIGEST, "cwd": "/app"}, tmp_path)
    assert kinds(diff_runtime(s, obs("docker", facts), None)) == [kind]


def test_docker_observe_end_to_end_and_missing_container(tmp_path: Path, monkeypatch):
    script = (
        'case "$1 $2" in\n'
        f'  "container inspect") if [ "$4" = recruit ]; then cat {FIXTURES}/docker/recruit-running.container.json; '
        f'else cat {FIXTURES}/docker/missing.container.json; echo "Error: No such container: $4" >&2; exit 1; fi ;;\n'
        # Only the running image is on this stand-in engine: the declared reference resolves to nothing.
        f'  "image inspect") case "$4" in sha256:*) cat {FIXTURES}/docker/recruit.image.json ;; '
        '*) echo "[]"; echo "Error: No such image: $4" >&2; exit 1 ;; esac ;;\n'
        "esac"
    )
    fake = stand_in(tmp_path / "bin", "docker", script)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    s = spec({"manager": "docker", "service": "recruit", "image": NEW_DIGEST, "cwd": "/srv"}, tmp_path)
    observation = observe_runtime(s)
    assert observation.facts["image_digests"] == [OLD_DIGEST]
    assert kinds(diff_runtime(s, observation, None)) == ["cwd-mismatch", "image-drift"]
    assert restart_preconditions(observation)[runtime_key("image_id")] == observation.facts["image_id"]
    gone = observe_runtime(spec({"manager": "docker", "service": "gone"}, tmp_path))
    assert gone.reachable and gone.facts["status"] == "absent"


def test_docker_daemon_down_is_unreachable(tmp_path: Path, monkeypatch):
    fake = stand_in(tmp_path / "bin", "docker", 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1')
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    observation = observe_runtime(spec({"manager": "docker", "service": "recruit"}, tmp_path))
    assert not observation.reachable and "Cannot connect to the Docker daemon" in observation.unreachable_reason


# ---- launchd -------------------------------------------------------------------------------------


def install_plist(tmp_path: Path, fixture: str, *, executable: bool = True, create: bool = True, binary: bool = False) -> Path:
    root = tmp_path / "recruit"
    (root / "bin").mkdir(parents=True, exist_ok=True)
    if create:
        wrapper = root / "bin" / "recruit-wrapper"
        wrapper.write_text("#!/bin/sh\nexec node server/index.js\n")
        wrapper.chmod(0o755 if executable else 0o644)
    text = read("launchd", fixture).replace("@ROOT@", str(root))
    path = tmp_path / "LaunchAgents" / "com.acme.recruit.plist"
    path.parent.mkdir(exist_ok=True)
    if binary:
        path.write_bytes(plistlib.dumps(plistlib.loads(text.encode()), fmt=plistlib.FMT_BINARY))
    else:
        path.write_text(text)
    return path


def launchd_spec(tmp_path: Path, plist: Path) -> RuntimeSpec:
    return spec({"manager": "launchd", "service": "com.acme.recruit", "definition": str(plist), "cwd": str(tmp_path / "recruit")}, tmp_path)


@pytest.fixture
def launchctl(tmp_path: Path, monkeypatch) -> Path:
    """`launchctl list` printing the captured table, with this test process standing in for the job."""
    listing = tmp_path / "launchctl-list.txt"
    listing.write_text(read("launchd", "launchctl-list.txt").replace("@PID@", str(os.getpid())))
    fake = stand_in(tmp_path / "bin", "launchctl", f"cat {listing}")
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    return fake


def test_launchctl_list_parses_pids_and_exit_statuses():
    jobs = launchd.parse_list(read("launchd", "launchctl-list.txt").replace("@PID@", "48213"))
    assert jobs["com.acme.recruit"] == {"last_exit": 0, "pid": 48213}
    assert jobs["com.acme.crashed"] == {"last_exit": 78, "pid": None}
    assert "Label" not in jobs
    assert launchd.launchd_facts(None, jobs["com.acme.crashed"], None)["status"] == "errored"
    assert launchd.launchd_facts(None, jobs["com.acme.stopped"], None)["status"] == "stopped"


@pytest.mark.parametrize("binary", [False, True])
def test_plist_arguments_after_the_program_are_not_paths(tmp_path: Path, launchctl: Path, binary: bool):
    plist = install_plist(tmp_path, "com.acme.recruit.plist", binary=binary)
    s = launchd_spec(tmp_path, plist)
    observation = observe_runtime(s)
    facts = observation.facts
    assert facts["command"][2:] == ["/health", "--upstream", "http://127.0.0.1:3020/health"]
    assert facts["status"] == "running" and facts["pid"] == os.getpid() and facts["started_at"].endswith("Z")
    assert diff_runtime(s, observation, None) == []  # /health and the URL are never reported missing


@pytest.mark.parametrize(
    ("create", "executable", "problem"),
    [(False, True, "missing"), (True, False, "not executable")],
)
def test_plist_program_missing_or_not_executable(tmp_path: Path, launchctl: Path, create: bool, executable: bool, problem: str):
    plist = install_plist(tmp_path, "com.acme.recruit.plist", create=create, executable=executable)
    drifts = diff_runtime(launchd_spec(tmp_path, plist), observe_runtime(launchd_spec(tmp_path, plist)), None)
    assert kinds(drifts) == ["definition-target-missing"]
    assert drifts[0].actual == {"path": str(tmp_path / "recruit" / "bin" / "recruit-wrapper"), "problem": problem}


def test_plist_with_program_key_and_missing_plist(tmp_path: Path, launchctl: Path):
    plist = install_plist(tmp_path, "com.acme.recruit-program.plist", executable=False)
    drifts = diff_runtime(launchd_spec(tmp_path, plist), observe_runtime(launchd_spec(tmp_path, plist)), None)
    assert kinds(drifts) == ["definition-target-missing"] and drifts[0].actual["problem"] == "not executable"
    plist.unlink()
    s = launchd_spec(tmp_path, plist)
    drifts = diff_runtime(s, observe_runtime(s), None)
    assert kinds(drifts) == ["definition-target-missing"] and drifts[0].actual == {"definition": str(plist), "problem": "missing"}


def test_two_generations_of_one_job_and_a_retired_plist(tmp_path: Path, launchctl: Path):
    plist = install_plist(tmp_path, "com.acme.recruit.plist")
    s = launchd_spec(tmp_path, plist)
    old = plist.with_name("com.acme.recruit-v1.plist")  # the previous generation, same program and arguments
    old.write_text(plist.read_text().replace("<string>com.acme.recruit</string>", "<string>com.acme.recruit-v1</string>"))
    other = plist.with_name("com.acme.other.plist")  # the same program with other arguments: another job
    other.write_text(plist.read_text().replace("com.acme.recruit<", "com.acme.other<").replace("/health<", "/ready<"))
    [drift] = diff_runtime(s, observe_runtime(s), None)
    assert drift.kind == "duplicate-definition"
    assert drift.actual["definitions"] == [{"definition": str(old), "state": "not loaded", "unit": "com.acme.recruit-v1"}]

    old.rename(old.with_name(old.name + ".disabled"))  # retired: launchd reads only *.plist
    assert diff_runtime(s, observe_runtime(s), None) == []
    marked = plist.with_name("com.acme.recruit-v0.plist")  # retired in place: <key>Disabled</key><true/>
    marked.write_text(plist.read_text().replace("<string>com.acme.recruit</string>",
                                                "<string>com.acme.recruit-v0</string><key>Disabled</key><true/>"))
    assert diff_runtime(s, observe_runtime(s), None) == []


def test_external_is_skipped_information(tmp_path: Path):
    s = spec({"manager": "external"}, tmp_path)
    observation = observe_runtime(s)
    assert observation.skipped and observation.reachable
    [drift] = diff_runtime(s, observation, None)
    assert (drift.kind, drift.is_drift) == ("skipped", False)
    assert restart_preconditions(observation) == {runtime_key("reachable"): False}
