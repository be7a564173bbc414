"""trueup watch end to end on real files: a real watcher process alerts on an edit within a cycle (from events,
not the poll), stays quiet about repeats, says when drift clears and alerts again when it comes back; --once
for timers; alerts to a file and a command; and, with random edits, forced rescans and watcher restarts, every
cycle's plan equals a full --no-cache plan (nothing missed)."""

from __future__ import annotations

import json
import queue
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import installed_project
from tests.random_edits import random_edit
from trueup.watch.inotify import available

pytestmark = pytest.mark.skipif(not available(), reason="file events are inotify (Linux) only")
REPO = Path(__file__).resolve().parents[1]


class Watcher:
    """`trueup watch --json` in its own process; its stdout lines in a queue."""

    def __init__(self, root: Path, *extra: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "trueup", "watch", "--json", "-w", str(root), *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert "trueup watch:" in self.proc.stderr.readline()  # started: the first cycle (a full walk) follows

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def next(self, timeout: float) -> dict | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=20)


def test_edit_alerts_once_from_events_clears_and_comes_back(tmp_path):
    project = installed_project(tmp_path)
    target = project.install / "server" / "index.js"
    original = target.read_text()
    watcher = Watcher(tmp_path, "--interval", "60")  # the poll is far off: only events can make a cycle
    try:
        time.sleep(1.0)  # let the first cycle finish
        assert watcher.next(0.5) is None  # a clean install: nothing to say
        started = time.monotonic()
        target.write_text("hot patch\n")
        alert = watcher.next(10)
        took = time.monotonic() - started
        assert alert is not None and alert["event"] == "drift", alert
        assert (alert["component"], alert["class"], alert["kind"], alert["path"]) == \
            ("app", "local-patch", "modified", "server/index.js")
        assert alert["actions"][0]["type"] == "accept-local"
        assert took < 5, took

        target.write_text("hot patch, saved again\n")  # the same drift: quiet
        assert watcher.next(1.5) is None

        target.write_text(original)  # cleared: said once
        cleared = watcher.next(10)
        assert cleared is not None and cleared["event"] == "cleared" and cleared["path"] == "server/index.js"

        target.write_text("patched again\n")  # back: a new alert
        again = watcher.next(10)
        assert again is not None and again["event"] == "drift" and again["path"] == "server/index.js"
    finally:
        assert watcher.stop() == 0  # SIGTERM: a clean exit, as under systemd or PM2


def test_once_alerts_only_what_is_new_and_exits_like_plan(installed, tmp_path):
    project = installed
    alert_file = tmp_path / "alerts.jsonl"
    got = tmp_path / "from-command.jsonl"
    command = f"{sys.executable} -c \"import sys; open({str(got)!r}, 'a').write(sys.stdin.read())\""
    args = ("watch", "--once", "--json", "-w", str(project.root), "--alert-file", str(alert_file),
            "--alert-command", command)
    assert project.run(*args)[:2] == (0, "")

    (project.install / "server" / "util.js").write_text("patched\n")
    (project.install / ".env").write_text("TOKEN=hunter2-very-secret\n")  # a secret path: never read
    code, out, _ = project.run(*args)
    assert code == 2
    lines = [json.loads(x) for x in out.splitlines()]
    assert {(x["event"], x["path"]) for x in lines} >= {("drift", "server/util.js")}
    assert alert_file.read_text() == out  # the same JSON lines, appended
    assert got.read_text() == out  # each alert on the command's stdin, one run per alert
    assert "hunter2" not in out

    code, out, _ = project.run(*args)  # already reported: quiet, and still exit 2 (drift remains)
    assert (code, out) == (2, "")


def test_a_missing_alert_file_directory_is_one_clear_error(installed, tmp_path):
    code, out, err = installed.run("watch", "--once", "-w", str(installed.root), "--alert-file",
                                   str(tmp_path / "nowhere" / "alerts.jsonl"))
    assert code == 1 and "--alert-file" in err and "does not exist" in err and "Traceback" not in err


@pytest.mark.parametrize("seed", range(3))
def test_random_edits_with_rescans_and_restarts_miss_nothing(tmp_path, seed, monkeypatch):
    """Each cycle of the watcher (events as the hint) sees exactly what a full --no-cache plan sees, while the
    event queue is lost (the IN_Q_OVERFLOW path) and the watcher restarted at random points."""
    from trueup.manifest import load_workspace
    from trueup.state import stat_cache
    from trueup.watch import alerts
    from trueup.watch.cycle import cycle
    from trueup.watch.monitor import Monitor

    monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 0)  # trust the cache after a tick, as tests of it do
    project = installed_project(tmp_path)
    workspace = load_workspace(project.root)
    rng = random.Random(seed)
    monitor = Monitor(list(workspace.components), workspace.state_dir / "cache")
    sinks = alerts.Sinks(True, tmp_path / "alerts.jsonl", None)
    reported = alerts.Reported(workspace.state_dir)
    hinted_cycles = 0
    try:
        for round_ in range(12):
            for i in range(rng.randint(0, 4)):
                random_edit(project.install, rng, f"{round_}_{i}", ("write", "write", "add", "remove", "chmod", "mkdir",
                                                                    "backup", "rmtree", "rename-file"))
            fate = rng.random()
            if fate < 0.15:
                monitor.forget()  # what IN_Q_OVERFLOW does
            elif fate < 0.25:
                monitor.start()  # a watcher restart
            hinted_cycles += bool(monitor.tokens[str(project.install)])
            seen = cycle(workspace, None, sinks, reported, monitor)
            truth = project.plan("--no-cache")
            assert _drift(seen) == _drift(truth), f"round {round_}"
            _assert_carried_as_counted(workspace.state_dir / "cache", project.install)
            time.sleep(0.01)
    finally:
        monitor.close()
    assert hinted_cycles >= 6  # most cycles really were told by events


def _assert_carried_as_counted(cache_dir, install) -> None:
    """What a cycle carried over from the last one (files/splice.py) is what counting the kept cache again gives."""
    from trueup.files import splice
    from trueup.state import resident, stat_cache

    kept = resident.get("stat-cache", stat_cache.cache_path(cache_dir, install))
    if kept is None or kept.derived is None:
        return
    again = stat_cache.decode(b"".join(stat_cache._chunks(install, kept)), install)
    assert again is not None and again.dirs == dict(kept.dirs)
    assert splice.derive(again) == kept.derived


def _drift(document: dict) -> list:
    return sorted((c["name"], d["class"], d["kind"], d["path"], json.dumps(d["actual"], sort_keys=True))
                  for c in document["components"] for d in c["drift"])


def test_policy_regenerates_and_alerts_the_rest(installed):
    """The README's worked example: the generated file is regenerated by rule (healed, no alert); the operator's
    edit that made it stale is alerted; the same plan is never healed twice."""
    project = installed
    policy = {"rules": [{"name": "regenerate-generated-files", "match": {"action": "regenerate", "class": "generated"},
                         "effect": "auto"},
                        {"name": "everything-else", "effect": "require-approval"}]}
    project.manifest(ref="v1", policy=policy)
    (project.install / "CLAUDE.md").write_text("Claude is the agent.\nClaude writes tests.\n")
    code, out, err = project.run("watch", "--once", "--json", "-w", str(project.root))
    lines = [json.loads(x) for x in out.splitlines()]
    assert [(x["event"], x.get("type") or x.get("path")) for x in lines] == \
        [("healed", "regenerate"), ("drift", "CLAUDE.md")], lines
    assert lines[0]["rule"] == "regenerate-generated-files"
    assert (project.install / "AGENTS.md").read_text() == "Agent is the agent.\nAgent writes tests.\n"
    assert code == 2  # the plan of this cycle still had drift (the heal came after it)
    code, out, _ = project.run("watch", "--once", "--json", "-w", str(project.root))
    assert (code, out) == (2, "")  # CLAUDE.md: reported already; AGENTS.md: clean now


def test_a_rule_soaking_by_runs_is_said_when_watch_starts(installed):
    """Every watch cycle is a plan: a rule's soak of N runs passes in N cycles, which its author cannot have meant."""
    policy = {"rules": [{"name": "settle-first", "match": {"action": "regenerate"}, "effect": "auto",
                         "soak": {"runs": 3}},
                        {"name": "a-week", "match": {"action": "cleanup-backups"}, "effect": "auto",
                         "soak": {"age": "7d"}}]}
    installed.manifest(ref="v1", policy=policy)
    watcher = Watcher(installed.root)
    try:
        note = watcher.proc.stderr.readline()
    finally:
        assert watcher.stop() == 0
    assert "rule 1 (settle-first) soaks by runs (3)" in note and "soak: {age: 1h}" in note
    assert "a-week" not in watcher.proc.stderr.read()


def test_a_broken_manifest_meanwhile_is_said_and_watching_goes_on(tmp_path):
    project = installed_project(tmp_path)
    watcher = Watcher(tmp_path, "--interval", "0.5")
    try:
        time.sleep(1.0)
        manifest = tmp_path / "trueup.yaml"
        good = manifest.read_text()
        manifest.write_text(good + "\n  - this: [is not, valid\n")
        time.sleep(1.5)  # a poll reads it again
        (project.install / "server" / "util.js").write_text("patched\n")
        alert = watcher.next(10)
        assert alert is not None and alert["path"] == "server/util.js"
    finally:
        assert watcher.stop() == 0
    err = watcher.proc.stderr.read()
    assert "trueup.yaml" in err and "watching as before" in err and "Traceback" not in err


def test_readable_alerts_are_one_line_whatever_a_path_holds(installed):
    (installed.install / "evil\nname.js").write_text("x\n")
    code, out, _ = installed.run("watch", "--once", "-w", str(installed.root))
    assert code == 2 and out.count("\n") == 1 and "evil\\nname.js" in out and "untracked" in out, out


def test_a_failed_heal_is_reported_once_and_never_retried(installed):
    """Argo CD's rule: an automatic apply that failed (here: another apply holds the lock) is said, then left to a
    person — the same plan is not tried again, and its drift is alerted."""
    from trueup.state.lock import exclusive_lock

    project = installed
    policy = {"rules": [{"name": "regenerate", "match": {"action": "regenerate"}, "effect": "auto"}]}
    project.manifest(ref="v1", policy=policy)
    (project.install / "AGENTS.md").write_text("stale by hand\n")
    with exclusive_lock(project.root / ".trueup-state"):
        code, out, _ = project.run("watch", "--once", "--json", "-w", str(project.root))
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["event"] for x in lines] == ["heal-failed", "drift"], lines
    assert "holds the lock" in lines[0]["error"] and lines[1]["path"] == "AGENTS.md"
    code, out, _ = project.run("watch", "--once", "--json", "-w", str(project.root))
    assert (code, out) == (2, "")  # not retried, not alerted again
    assert (project.install / "AGENTS.md").read_text() == "stale by hand\n"
