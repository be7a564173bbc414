"""The shipped systemd user unit for trueup watch: systemd's own checker accepts it without a warning, and the
command it starts is a valid trueup watch command line (run here for one cycle). The PM2 ecosystem example is
run by a real PM2 in tests/runtime/test_watch_pm2.py."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "examples" / "watch" / "trueup-watch.service"


def _exec_start() -> list[str]:
    for line in UNIT.read_text().splitlines():
        if line.startswith("ExecStart="):
            return shlex.split(line.removeprefix("ExecStart="))
    raise AssertionError("no ExecStart")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit_without_warnings(tmp_path):
    home, runtime = tmp_path / "home", tmp_path / "run"
    (home / ".local" / "bin").mkdir(parents=True)
    runtime.mkdir(mode=0o700)
    program = home / ".local" / "bin" / "trueup"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}
    proc = subprocess.run(["systemd-analyze", "--user", "verify", str(UNIT)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


def test_the_units_command_line_runs_one_watch_cycle(installed, tmp_path):
    argv = _exec_start()
    assert Path(argv[0]).name == "trueup" and argv[1] == "watch"
    state = tmp_path / "state"
    args = [a.replace("%S", str(state)).replace("%h", str(tmp_path)) for a in argv[2:]]
    (state / "trueup").mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-m", "trueup", "watch", *args, "--once", "-w", str(installed.root)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
