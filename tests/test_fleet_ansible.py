"""The fleet path end to end: ansible-core runs the trueup.fleet.trueup_plan module (ansible/) over ssh on five
simulated hosts (tests/fleet/hosts.py: own hostname, own /opt with its own workspace and version), collects
their plans, and `trueup fleet` summarises them — one host with a local patch and a backup, one outdated, one
with a stale PM2 process, one that becomes unreachable and keeps its last known plan, marked stale.

Skipped with the reason where ansible-core is not installed (scripts/bootstrap test installs it) or the
machine cannot run simulated hosts (root, unshare, sshd).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fleet.hosts import Fleet, missing_requirement
from tests.helpers import Project, snapshot
from tests.runtime.support import REPO, ensure

BIN = Path(sys.executable).parent
PLAYBOOK = REPO / "ansible" / "playbooks" / "trueup-plan.yml"
WORKSPACE = "/opt/ws"  # each host's workspace, inside that host (its /opt is <fleet>/<host>/opt)
PM2 = REPO / ".tools" / "node_modules" / ".bin" / "pm2"

_why = missing_requirement() or (None if (BIN / "ansible-playbook").exists() else
                                 "ansible-core is not installed in this venv: scripts/bootstrap test (pip install -e '.[test]') installs it")
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

SERVER = "setInterval(() => {}, 1 << 30);  // {v}\n"
VERSIONS = {
    "v0.2.8": {"package.json": '{"name": "recruit", "version": "0.2.8"}\n', "server/index.js": SERVER.replace("{v}", "0.2.8"),
               "README.md": "recruit\n"},
    "v0.2.9": {"package.json": '{"name": "recruit", "version": "0.2.9"}\n', "server/index.js": SERVER.replace("{v}", "0.2.9"),
               "README.md": "recruit, now with less\n"},
}
# host → (installed version, manifest's ref)
HOSTS = {"h1": ("v0.2.9", "v0.2.9"), "h2": ("v0.2.8", "v0.2.9"), "h3": ("v0.2.9", "v0.2.9"),
         "h4": ("v0.2.8", "v0.2.9"), "h5": ("v0.2.9", "v0.2.9")}


def _manifest(project: Project, ref: str, runtime: dict | None = None) -> None:
    lines = ["version: 1", "state_dir: .trueup-state", "components:", "  - name: recruit",
             f"    source: {{repo: src/recruit, ref: {ref}}}", "    install: {path: installed/recruit}"]
    if runtime:
        lines.append(f"    runtime: {json.dumps(runtime)}")
    (project.root / "trueup.yaml").write_text("\n".join(lines) + "\n")


def _install(project: Project, ref: str) -> None:
    _manifest(project, ref)
    plan_file = project.root / "install-plan.json"
    code, out, err = project.run("plan", "-o", str(plan_file))
    assert code == 0, out + err
    code, out, err = project.run("apply", str(plan_file), "--approve-all")
    assert code == 0, out + err
    plan_file.unlink()


def _start_stale_pm2(fleet: Fleet, project: Project) -> None:
    """recruit 0.2.8 started under PM2 on h4 (in h4's namespace: its cwd is h4's /opt/ws/…), then upgraded."""
    ensure("ensure-pm2")
    home = fleet.hosts["h4"].opt / "pm2"
    fleet.extra_pids += [home / "pm2.pid", home / "pids"]  # the daemon first, then its apps
    fleet.ssh("h4", f"cd {WORKSPACE}/installed/recruit && PM2_HOME=/opt/pm2 {PM2} start server/index.js --name recruit")
    time.sleep(1.1)  # the ledger's installed_at has whole seconds: the upgrade must be a later one
    _install(project, "v0.2.9")
    _manifest(project, "v0.2.9", {"manager": "pm2", "service": "recruit", "command": "node server/index.js",
                                  "pm2": str(PM2), "pm2_home": "/opt/pm2"})


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    fleet = Fleet(dir=root / "hosts")
    try:
        for index, (name, (installed, ref)) in enumerate(HOSTS.items(), start=1):
            host = fleet.add(name, index)
            project = Project(host.opt / "ws", name="recruit")
            project.source(VERSIONS)
            _install(project, installed)
            if name == "h3":  # a hot patch and the backup its author left
                (project.install / "server/index.js").write_text(SERVER.replace("{v}", "0.2.9 patched"))
                (project.install / "server/index.js.bak").write_text(SERVER.replace("{v}", "0.2.9"))
            if ref != installed and name != "h4":
                _manifest(project, ref)
            fleet.start(name)
            if name == "h4":
                _start_stale_pm2(fleet, project)
        yield fleet
    finally:
        fleet.stop()


def _ansible_env(work: Path) -> dict[str, str]:
    return {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPO / "ansible"), "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_LOCAL_TEMP": str(work / "ansible-local"), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORKS": "5",
            "ANSIBLE_CONFIG": str(work / "none.cfg"),
            # No ControlPersist master: it would outlive the test and keep a stopped host "reachable".
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=no"}


def playbook(fleet: Fleet, work: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict[str, dict[str, int]]]:
    """ansible-playbook on every host of the fleet; the play recap as {host: {ok, changed, unreachable, failed}}."""
    inventory = fleet.inventory(work / "inventory.ini", list(HOSTS))
    env = _ansible_env(work)
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK),
         "-e", f"trueup_workspace={WORKSPACE} trueup_executable={BIN / 'trueup'} trueup_plans={work / 'plans'}", *extra],
        capture_output=True, text=True, env=env, timeout=120, cwd=work)
    recap = {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
             for m in re.finditer(r"^(h\d)\s+:\s+(.*)$", proc.stdout, re.M)}
    return proc, recap


def ansible(fleet: Fleet, work: Path, host: str, args: str) -> subprocess.CompletedProcess:
    """The module ad hoc on one host (`ansible HOST -m trueup.fleet.trueup_plan -a ARGS`)."""
    inventory = fleet.inventory(work / "inventory.ini", list(HOSTS))
    return subprocess.run([str(BIN / "ansible"), host, "-i", str(inventory), "-m", "trueup.fleet.trueup_plan", "-a", args],
                          capture_output=True, text=True, env=_ansible_env(work), timeout=120, cwd=work)


def fleet_json(work: Path, *args: str) -> tuple[int, list[dict]]:
    proc = subprocess.run([str(BIN / "trueup"), "fleet", "--json", *args], capture_output=True, text=True, cwd=work)
    assert proc.returncode != 1, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_ansible_collects_each_hosts_plan_and_fleet_shows_versions_patches_stale_processes_backups(fleet, tmp_path):
    proc, recap = playbook(fleet, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # changed = drift exists: h1 and h5 are clean, h2 is outdated, h3 patched, h4 runs a stale process.
    assert {h: r["changed"] for h, r in recap.items()} == {"h1": 0, "h2": 1, "h3": 1, "h4": 1, "h5": 0}
    plans = sorted(p.name for p in (tmp_path / "plans").iterdir())
    assert plans == [f"{h}.json" for h in HOSTS]

    code, rows = fleet_json(tmp_path, *[str(p) for p in sorted((tmp_path / "plans").glob("*.json"))])
    assert code == 2
    by_host = {r["host"]: r for r in rows}  # meta.host: each host's own hostname, from its UTS namespace
    assert set(by_host) == set(HOSTS)
    seen = {h: (r["installed"], r["source"], r["status"], r["local_patches"], r["stale_processes"],
                r["unreviewed_backups"]) for h, r in by_host.items()}
    assert seen == {"h1": ("0.2.9", "0.2.9", "clean", 0, 0, 0), "h2": ("0.2.8", "0.2.9", "drifted", 0, 0, 0),
                    "h3": ("0.2.9", "0.2.9", "drifted", 1, 0, 1), "h4": ("0.2.9", "0.2.9", "drifted", 0, 1, 0),
                    "h5": ("0.2.9", "0.2.9", "clean", 0, 0, 0)}

    piped = subprocess.run([str(BIN / "trueup"), "fleet", "plans"], capture_output=True, text=True, cwd=tmp_path)
    assert piped.returncode == 2, piped.stderr
    table = piped.stdout.splitlines()
    assert table[0].split() == ["host", "component", "status", "version", "patch", "stale", "bak", "warn", "hist"]
    assert table[2].split() == ["h2", "recruit", "drifted", "0.2.8->0.2.9", "0", "0", "0", "0", "0"]
    assert table[4].split() == ["h4", "recruit", "drifted", "0.2.9", "0", "1", "0", "0", "0"]
    assert max(len(line) for line in table) <= 80

    # A host reached whose trueup fails: the task fails with trueup's one line, its last plan stays, marked stale.
    failed = ansible(fleet, tmp_path, "h1", f"workspace=/opt/missing executable={BIN / 'trueup'} dest={tmp_path / 'plans'}")
    assert failed.returncode == 2 and "trueup: error:" in failed.stdout and "/opt/missing" in failed.stdout, failed.stdout
    marker = json.loads((tmp_path / "plans" / "h1.unreachable.json").read_text())
    assert marker["reason"] == "failed" and "trueup: error:" in marker["message"]
    code, rows = fleet_json(tmp_path, str(tmp_path / "plans"))
    assert code == 8 and [r["host"] for r in rows if r["stale"]] == ["h1"]


def test_check_mode_changes_nothing_and_an_unreachable_host_keeps_its_last_plan_marked_stale(fleet, tmp_path):
    proc, _ = playbook(fleet, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last_known = (tmp_path / "plans" / "h5.json").read_text()
    fleet.stop_host("h5")
    state = fleet.hosts["h1"].opt / "ws" / ".trueup-state"
    before = snapshot(state)

    proc, recap = playbook(fleet, tmp_path, "--check")
    assert proc.returncode == 4, proc.stdout + proc.stderr  # ansible-playbook: some host unreachable
    assert recap["h5"]["unreachable"] == 1 and recap["h3"]["changed"] == 1 and recap["h1"]["changed"] == 0
    assert snapshot(state) == before  # check mode: plan --read-only, not even trueup's cache or history
    assert (tmp_path / "plans" / "h5.json").read_text() == last_known
    marker = json.loads((tmp_path / "plans" / "h5.unreachable.json").read_text())
    assert marker["host"] == "h5" and marker["since"] == marker["last_attempt"]

    code, rows = fleet_json(tmp_path, str(tmp_path / "plans"))
    assert code == 8  # partial: four hosts answered, one did not
    h5 = next(r for r in rows if r["host"] == "h5")
    assert h5["stale"] and h5["installed"] == "0.2.9" and h5["unreachable"]["since"] == marker["since"]
    assert not any(r["stale"] for r in rows if r["host"] != "h5")
    piped = subprocess.run([str(BIN / "trueup"), "fleet", "plans"], capture_output=True, text=True, cwd=tmp_path)
    assert piped.returncode == 8
    assert re.search(r"^h5 \(stale\)\s+recruit\s+clean\s+0\.2\.9\s", piped.stdout, re.M), piped.stdout
    assert f"unreachable: h5 since {marker['since']}" in piped.stdout

    # No host answers: every row is a last known plan, exit 5.
    for name in HOSTS:
        fleet.stop_host(name)
    proc, recap = playbook(fleet, tmp_path, "--check")
    assert all(r["unreachable"] == 1 for r in recap.values()), proc.stdout
    code, rows = fleet_json(tmp_path, str(tmp_path / "plans"))
    assert code == 5 and all(r["stale"] for r in rows)
    assert json.loads((tmp_path / "plans" / "h5.unreachable.json").read_text())["since"] == marker["since"]
