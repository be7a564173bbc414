"""`trueup plan` answered by a running `trueup watch` (trueup/launch.py, trueup/watch/serve.py): the same output,
exit code and plan as the command run by itself, fresh to a write made just before, and never a different answer
when the watcher is gone, another's, or asked something it does not serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import installed_project
from trueup.served import find_root, servable, socket_path, socket_paths
from trueup.watch.inotify import available

pytestmark = pytest.mark.skipif(not available(), reason="file events are inotify (Linux) only")
REPO = Path(__file__).resolve().parents[1]


def trueup(*args: str, cwd: Path, serve: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TRUEUP_NO_SERVE"}
    if not serve:
        env["TRUEUP_NO_SERVE"] = "1"
    return subprocess.run([sys.executable, "-m", "trueup", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


class Watching:
    """`trueup -v watch` on a workspace; its stderr lines say each answer it gave."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "trueup", "-v", "watch", "--json", "--interval", "3600",
                                      "-w", str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=REPO)
        assert "trueup watch:" in self.proc.stderr.readline()
        path = socket_path(os.path.realpath(root))
        deadline = time.monotonic() + 30
        while not os.path.exists(path):  # listening before its first cycle; give it time on a loaded machine
            assert time.monotonic() < deadline and self.proc.poll() is None
            time.sleep(0.02)

    def answered(self) -> str:
        return self.proc.stderr.readline()

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=30)


@pytest.fixture
def watched(tmp_path):
    project = installed_project(tmp_path)
    watcher = Watching(project.root)
    yield project, watcher
    assert watcher.stop() == 0
    assert not os.path.exists(socket_path(os.path.realpath(project.root)))  # its socket went with it


def test_a_served_plan_is_the_plan_the_command_makes_by_itself_and_sees_a_write_made_just_before(watched):
    project, watcher = watched
    assert trueup("plan", "--detailed-exitcode", cwd=project.root).returncode == 0  # after the watcher's first walk
    assert "answered" in watcher.answered()
    (project.install / "server" / "util.js").write_text("patched just now\n")  # no pause: the events are queued
    served = trueup("plan", "-o", "served.json", "--detailed-exitcode", cwd=project.root)
    line = watcher.answered()
    assert "answered trueup plan" in line and "(exit 2)" in line
    direct = trueup("plan", "-o", "direct.json", "--detailed-exitcode", cwd=project.root, serve=False)
    assert (served.returncode, direct.returncode) == (2, 2), (served.stderr, direct.stderr)
    assert served.stdout.replace("served.json", "X") == direct.stdout.replace("direct.json", "X")
    assert served.stderr == direct.stderr
    a, b = (json.loads((project.root / f).read_text()) for f in ("served.json", "direct.json"))
    assert a["plan_hash"] == b["plan_hash"]
    assert ("local-patch", "modified", "server/util.js") in {(d["class"], d["kind"], d["path"])
                                                      for c in a["components"] for d in c["drift"]}


def test_the_watcher_says_it_answered_and_still_alerts_on_the_events_the_plan_took(watched):
    project, watcher = watched
    (project.install / "server" / "util.js").write_text("patched\n")
    served = trueup("plan", "--json", cwd=project.root / "installed")  # found from a subdirectory, as git does
    assert served.returncode == 0 and json.loads(served.stdout)["summary"]["drift"] >= 1
    line = watcher.answered()
    assert "answered trueup plan in" in line and "(exit 0)" in line
    alert = json.loads(watcher.proc.stdout.readline())  # the cycle right after the answer
    assert (alert["event"], alert["path"]) == ("drift", "server/util.js")


def test_a_relative_plan_file_is_written_where_the_caller_stands(watched):
    project, watcher = watched
    sub = project.root / "plans"
    sub.mkdir()
    served = trueup("plan", "--out=here.json", cwd=sub)
    assert served.returncode == 0 and "answered" in watcher.answered()
    assert json.loads((sub / "here.json").read_text())["plan_hash"]


def test_a_plan_to_stdout_is_served_as_the_document(watched):
    project, watcher = watched
    served = trueup("plan", "-o", "-", cwd=project.root)
    assert served.returncode == 0 and "answered" in watcher.answered()
    direct = trueup("plan", "-o", "-", cwd=project.root, serve=False)
    assert json.loads(served.stdout)["plan_hash"] == json.loads(direct.stdout)["plan_hash"]


def test_a_request_that_cannot_be_answered_gets_no_answer_and_the_watcher_goes_on(tmp_path):
    """The caller gets no answer (and runs the command itself); the watcher answers the next caller."""
    project = installed_project(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "trueup", "-v", "watch", "--interval", "3600", "-w",
                             str(project.root)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=REPO)
    try:
        proc.stderr.readline()
        while not os.path.exists(socket_path(os.path.realpath(project.root))):
            time.sleep(0.02)
        cwd = project.root / "gone"
        cwd.mkdir()
        request = {"protocol": 1, "root": os.path.realpath(project.root), "cwd": str(cwd), "argv": ["plan"],
                   "tty": {"stdout": False, "stderr": False}, "env": {}}
        cwd.rmdir()  # the caller's directory vanished before the watcher got to it: the request cannot be answered
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(socket_path(os.path.realpath(project.root)))
            conn.sendall(json.dumps(request).encode())
            conn.shutdown(socket.SHUT_WR)
            assert conn.recv(100) == b""  # no answer: the caller would plan by itself
        assert trueup("plan", "--detailed-exitcode", cwd=project.root).returncode == 0
        assert "answered trueup plan" in proc.stderr.readline()  # still there, still answering
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


def test_what_is_not_served_runs_by_itself(watched):
    project, watcher = watched
    done = trueup("plan", "--no-cache", "--json", cwd=project.root)
    assert done.returncode == 0 and json.loads(done.stdout)["components"]
    served = trueup("plan", "--json", cwd=project.root)  # the next answer is this one: --no-cache was not asked
    assert served.returncode == 0 and "answered" in watcher.answered()


def test_a_socket_left_by_a_dead_watcher_is_not_an_answer(tmp_path):
    project = installed_project(tmp_path)
    path = socket_path(os.path.realpath(project.root))
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()  # the file stays, nobody listens
    try:
        done = trueup("plan", "--detailed-exitcode", cwd=project.root)
        assert done.returncode == 0 and "No drift" in done.stdout
        watcher = Watching(project.root)  # a new watcher takes the place over
        try:
            assert trueup("plan", cwd=project.root).returncode == 0
            assert "answered" in watcher.answered()
        finally:
            assert watcher.stop() == 0
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_a_socket_in_a_directory_others_can_write_is_never_asked(tmp_path):
    """In a shared temp dir another user could make the directory first and answer "no drift" to every plan."""
    import threading

    project = installed_project(tmp_path)
    (project.install / "server" / "util.js").write_text("patched\n")
    path = socket_path(os.path.realpath(project.root))
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    mode = os.stat(os.path.dirname(path)).st_mode & 0o777
    os.chmod(os.path.dirname(path), 0o777)
    liar = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    liar.bind(path)
    liar.listen(1)
    asked = []

    def answer() -> None:
        liar.settimeout(60)
        try:
            conn, _ = liar.accept()
        except OSError:
            return
        asked.append(True)
        with conn:
            conn.sendall(json.dumps({"protocol": 1, "code": 0, "stdout": "No drift.\n", "stderr": ""}).encode())

    threading.Thread(target=answer, daemon=True).start()
    try:
        done = trueup("plan", "--detailed-exitcode", cwd=project.root)
        assert done.returncode == 2 and "util.js" in done.stdout and not asked
    finally:
        liar.close()
        os.unlink(path)
        os.chmod(os.path.dirname(path), mode)


def test_a_second_watcher_of_the_workspace_leaves_the_first_one_answering(watched):
    project, watcher = watched
    second = subprocess.Popen([sys.executable, "-m", "trueup", "watch", "-w", str(project.root)],
                              stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=REPO)
    try:
        second.stderr.readline()
        assert "another trueup watch answers for this workspace" in second.stderr.readline()
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert trueup("plan", cwd=project.root).returncode == 0
    assert "answered" in watcher.answered()  # the first one's socket was left alone


@pytest.mark.parametrize("argv, expected", [
    (["plan"], ("", [])),
    (["plan", "app", "-o", "p.json", "--json", "--detailed-exitcode", "--strict"],
     ("", ["app", "-o", "p.json", "--json", "--detailed-exitcode", "--strict"])),
    (["plan", "-w", "ws", "--out=-"], ("ws", ["--out", "-"])),
    (["plan", "--workspace=ws"], ("ws", [])),
    (["plan", "--no-cache"], None),
    (["plan", "--read-only"], None),
    (["plan", "-h"], None),
    (["plan", "-o"], None),
    (["-q", "plan"], None),
    (["apply", "p.json"], None),
    ([], None),
])
def test_only_plans_are_served(argv, expected):
    assert servable(argv) == expected


def test_a_watcher_started_without_the_callers_runtime_dir_is_found(tmp_path):
    """A service manager's watcher may have no XDG_RUNTIME_DIR (PM2's daemon) where the caller's shell has one."""
    project = installed_project(tmp_path)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "TMPDIR")}
    watcher = subprocess.Popen([sys.executable, "-m", "trueup", "-v", "watch", "-w", str(project.root)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        watcher.stderr.readline()
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_paths(os.path.realpath(project.root))[-1]):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        caller = {**env, "XDG_RUNTIME_DIR": str(runtime)}
        done = subprocess.run([sys.executable, "-m", "trueup", "plan"], cwd=project.root, env=caller,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "answered trueup plan" in watcher.stderr.readline()
    finally:
        watcher.terminate()
        assert watcher.wait(timeout=30) == 0


def test_the_served_workspace_is_found_as_the_cli_finds_it(tmp_path, monkeypatch):
    from trueup.manifest import find_workspace

    (tmp_path / "ws" / "deep" / "er").mkdir(parents=True)
    (tmp_path / "ws" / "trueup.yaml").write_text("version: 1\n")
    monkeypatch.delenv("TRUEUP_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path / "ws" / "deep" / "er")
    assert find_root(None) == str(find_workspace(None)) == os.path.realpath(tmp_path / "ws")
    monkeypatch.setenv("TRUEUP_WORKSPACE", str(tmp_path))
    assert find_root(None) == os.path.realpath(tmp_path) and find_root("../..") == os.path.realpath(tmp_path / "ws")
