"""systemd on a real manager: a ``systemd --user`` each test starts in its own cgroup and mount namespace
(tests/runtime/systemd_manager.py), driven with ``systemctl --user`` as an operator would. The seed cases of a
real runtime audit: a unit whose program is missing, arguments such as ``/health`` that are data and not
programs, a unit edited on disk and not daemon-reloaded (and, once reloaded, still running the old process),
two generations of one watchdog defined at once, a retired definition renamed ``.disabled``, a stopped
service started by its restart. System units (systemd as PID 1, over ssh): test_systemd_system.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.support import free_port, http_json, wait_for
from tests.runtime.systemd_manager import UserSystemd, missing_requirement
from tests.runtime.test_e2e_runtime import _versions
from tests.helpers import Project
from trueup.runtime.drift import diff_runtime
from trueup.runtime.observation import observe_runtime
from trueup.runtime.restart import restart
from trueup.runtime.spec import RuntimeSpec

NODE = "/usr/bin/node"


@pytest.fixture
def user_systemd(tmp_path_factory, monkeypatch) -> Iterator[UserSystemd]:
    """A fresh user manager per test (ready in ~0.1 s), with XDG_RUNTIME_DIR set the way trueup's systemctl reads it."""
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)
    # A short path: the manager's private socket ($XDG_RUNTIME_DIR/systemd/private) must fit in 108 bytes.
    manager = UserSystemd.start(Path(tmp_path_factory.mktemp("sd")))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(manager.runtime_dir))
    try:
        yield manager
    finally:
        manager.stop()


def program(path: Path, body: str = "exec sleep 100000") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def spec(tmp_path: Path, service: str = "recruit.service", **block) -> RuntimeSpec:
    return RuntimeSpec.from_manifest({"manager": "systemd", "scope": "user", "service": service, **block},
                                     install_path=tmp_path / "app", workspace=tmp_path)


def drift_of(s: RuntimeSpec, ledger: dict | None = None) -> list:
    return [d for d in diff_runtime(s, observe_runtime(s), ledger) if d.is_drift]


def kinds(drifts) -> list[str]:
    return [d.kind for d in drifts]


def wait_active(manager: UserSystemd, unit: str, state: str) -> None:
    wait_for(lambda: manager.show(unit, "ActiveState")["ActiveState"] == state, f"{unit} to be {state}")


@pytest.mark.parametrize(
    "exec_start",
    [
        "{wrapper} --health-path /health --upstream http://127.0.0.1:9/health",
        "@{wrapper} recruit-wrapper --health-path /health",  # argv[0] is a name; path= is the program
        "recruit-wrapper-nowhere --health-path /health",  # a bare name systemd found in none of its directories
    ],
    ids=["absolute", "argv0-override", "bare-name"],
)
def test_a_unit_whose_program_is_missing(user_systemd: UserSystemd, tmp_path: Path, exec_start: str):
    app = tmp_path / "app"
    app.mkdir()
    wrapper = app / "bin" / "recruit-wrapper"  # never created: the program moved away
    user_systemd.start_unit("recruit.service", exec_start.format(wrapper=wrapper), cwd=app)
    wait_active(user_systemd, "recruit.service", "failed")  # status=203/EXEC

    drifts = drift_of(spec(tmp_path))
    assert kinds(drifts) == ["definition-target-missing", "errored"]
    missing = str(wrapper) if "{wrapper}" in exec_start else "recruit-wrapper-nowhere"
    assert drifts[0].actual == {"path": missing, "problem": "missing"}
    assert "/health" not in json.dumps([[d.expected, d.actual] for d in drifts])  # an argument is never a program


def test_arguments_are_data_and_one_file_by_two_spellings_is_one_command(user_systemd: UserSystemd, tmp_path: Path):
    app = tmp_path / "app"
    program(app / "bin" / "recruit-wrapper")
    # Run by the shell with a relative script path, as units often are; the manifest spells the script without "./".
    user_systemd.start_unit("recruit.service", "/bin/sh ./bin/recruit-wrapper --health-path /health", cwd=app)
    wait_active(user_systemd, "recruit.service", "active")
    assert drift_of(spec(tmp_path, command="sh bin/recruit-wrapper --health-path /health")) == []
    assert drift_of(spec(tmp_path, command=f"sh {app}/bin/recruit-wrapper --health-path /health")) == []
    # The right script started from another directory: only where it runs is wrong, not what it runs.
    other = tmp_path / "elsewhere"
    program(other / "bin" / "recruit-wrapper")
    user_systemd.start_unit("recruit.service", "/bin/sh ./bin/recruit-wrapper --health-path /health", cwd=other)
    user_systemd.systemctl("restart", "recruit.service")
    wait_active(user_systemd, "recruit.service", "active")
    assert kinds(drift_of(spec(tmp_path, command="sh bin/recruit-wrapper --health-path /health"))) == ["cwd-mismatch"]


def test_an_environment_file_changed_after_the_start_is_env_stale(user_systemd: UserSystemd, tmp_path: Path):
    app = tmp_path / "app"
    wrapper = program(app / "bin" / "recruit-wrapper")
    (app / ".env").write_text("A=1\n")
    optional = tmp_path / "etc-default-recruit"  # declared optional ("-") and absent: no time, never drift
    user_systemd.write_unit("recruit.service", str(wrapper), cwd=app,
                            extra=f"EnvironmentFile={app}/.env\nEnvironmentFile=-{optional}\n")
    user_systemd.systemctl("daemon-reload")
    user_systemd.systemctl("start", "recruit.service")
    wait_active(user_systemd, "recruit.service", "active")
    s = spec(tmp_path)
    assert drift_of(s) == []
    time.sleep(0.01)
    (app / ".env").write_text("A=2\n")
    observation = observe_runtime(s)
    assert [f["path"] for f in observation.facts["env_files"]] == [str(app / ".env"), str(optional)]
    assert observation.facts["env_files"][1]["mtime"] is None
    [stale] = [d for d in diff_runtime(s, observation, None) if d.is_drift]
    assert stale.kind == "env-stale" and list(stale.actual) == [str(app / ".env")]


def test_an_edited_unit_needs_a_reload_then_its_old_process_is_stale(user_systemd: UserSystemd, tmp_path: Path):
    app = tmp_path / "app"
    wrapper = program(app / "bin" / "recruit-wrapper")
    user_systemd.start_unit("recruit.service", f"{wrapper} --generation 1", cwd=app)
    wait_active(user_systemd, "recruit.service", "active")
    s = spec(tmp_path)
    assert drift_of(s) == []
    old_pid = user_systemd.main_pid("recruit.service")

    time.sleep(0.01)
    user_systemd.write_unit("recruit.service", f"{wrapper} --generation 2", cwd=app)  # edited, not reloaded
    assert user_systemd.show("recruit.service", "NeedDaemonReload")["NeedDaemonReload"] == "yes"
    drifts = drift_of(s)
    assert kinds(drifts) == ["definition-not-loaded", "stale-process"]
    assert "NeedDaemonReload=yes" in drifts[0].actual["summary"]

    user_systemd.systemctl("daemon-reload")
    shown = user_systemd.show("recruit.service", "ExecStart", "MainPID", "NeedDaemonReload")
    assert "--generation 2" in shown["ExecStart"] and int(shown["MainPID"]) == old_pid  # new argv, old process
    observation = observe_runtime(s)
    assert observation.facts["command"][-1] == "2"
    drifts = [d for d in diff_runtime(s, observation, None) if d.is_drift]
    assert kinds(drifts) == ["stale-process"]  # not clean: the process runs the old definition

    result = restart(s)
    assert result.verb == "restarted" and not result.reloaded
    assert user_systemd.main_pid("recruit.service") != old_pid
    assert drift_of(s) == []


def test_two_generations_of_one_watchdog_and_a_retired_one_renamed_disabled(user_systemd: UserSystemd, tmp_path: Path):
    watchdog = program(tmp_path / "zylos" / "bin" / "watchdog.sh")
    user_systemd.start_unit("zylos-watchdog.service", str(watchdog))
    old = user_systemd.start_unit("watchdog.service", str(watchdog))  # the previous generation, still defined
    program(tmp_path / "other" / "bin" / "watchdog.sh")
    user_systemd.start_unit("other-watchdog.service", str(tmp_path / "other" / "bin" / "watchdog.sh"))  # not the same
    oldest = user_systemd.write_unit("watchdog-v0.service", str(watchdog))  # defined, never started: not loaded
    user_systemd.systemctl("daemon-reload")
    s = spec(tmp_path, service="zylos-watchdog.service", cwd=str(user_systemd.home))
    [drift] = drift_of(s)
    assert drift.kind == "duplicate-definition"
    assert drift.actual["definitions"] == [
        {"definition": str(oldest), "state": "inactive/dead", "unit": "watchdog-v0.service"},
        {"definition": str(old), "state": "active/running", "unit": "watchdog.service"},
    ]
    assert "watchdog.service (" in drift.actual["summary"]

    # Retired the usual way: stopped, its file renamed .disabled (no unit file to systemd), definitions reloaded.
    user_systemd.systemctl("stop", "watchdog.service")
    for unit in (old, oldest):
        unit.rename(unit.with_name(unit.name + ".disabled"))
    user_systemd.systemctl("daemon-reload")
    assert drift_of(s) == []


def _systemd_project(tmp_path: Path, port: int) -> Project:
    project = Project(tmp_path, name="recruit")
    project.source({"v0.2.8": _versions("0.2.8")})
    project.runtime = {"manager": "systemd", "scope": "user", "service": "recruit.service",
                       "command": "node server/index.js",
                       "health": {"url": f"http://127.0.0.1:{port}/health", "version_field": "version"}}
    project.manifest(ref="v0.2.8", install={"generated": []}, extra={"runtime": project.runtime})
    plan_file = project.root / "install.json"
    assert project.run("plan", "-o", str(plan_file))[0] == 0
    assert project.run("apply", str(plan_file), "--approve-all")[0] == 0
    return project


def test_a_stopped_unit_is_started_by_its_restart_end_to_end(user_systemd: UserSystemd, tmp_path: Path):
    port = free_port()
    project = _systemd_project(tmp_path, port)
    user_systemd.write_unit("recruit.service", f"{NODE} server/index.js", cwd=project.install,
                            extra=f"Environment=PORT={port}\n")
    user_systemd.systemctl("daemon-reload")
    user_systemd.systemctl("start", "recruit.service")
    wait_for(lambda: http_json(f"http://127.0.0.1:{port}/health"), "recruit to answer")
    assert project.kinds() == set()

    user_systemd.systemctl("stop", "recruit.service")
    doc = project.plan()
    assert project.kinds(doc) == {("runtime", "not-running", None)}
    action = project.action(doc, "restart")
    assert action["recommended"] and action["details"]["resolves"] == ["not-running"]
    out = project.plan_and_apply_all()
    assert "started recruit.service (systemd, local)" in out and "restarted" not in out
    assert http_json(f"http://127.0.0.1:{port}/health")["version"] == "0.2.8"
    assert project.run("plan", "--detailed-exitcode")[0] == 0


def test_an_edited_unit_is_reloaded_and_restarted_end_to_end(user_systemd: UserSystemd, tmp_path: Path):
    port = free_port()
    project = _systemd_project(tmp_path, port)
    unit = user_systemd.write_unit("recruit.service", f"{NODE} server/index.js", cwd=project.install,
                                   extra=f"Environment=PORT={port}\n")
    user_systemd.systemctl("daemon-reload")
    user_systemd.systemctl("start", "recruit.service")
    wait_for(lambda: http_json(f"http://127.0.0.1:{port}/health"), "recruit to answer")
    time.sleep(0.01)
    unit.write_text(unit.read_text() + "Environment=RECRUIT_GENERATION=2\n")

    doc = project.plan()
    assert project.kinds(doc) == {("runtime", "definition-not-loaded", None), ("runtime", "stale-process", None)}
    code, out, err = project.run("plan")
    assert "definition-not-loaded" in out and "daemon-reload" in out
    out = project.plan_and_apply_all()
    assert "reloaded the unit definitions, restarted recruit.service (systemd, local)" in out
    assert "RECRUIT_GENERATION=2" in user_systemd.show("recruit.service", "Environment")["Environment"]
    assert project.run("plan", "--detailed-exitcode")[0] == 0
