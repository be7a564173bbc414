"""trueup watch keeps the stat cache its cycles make in memory (trueup.state.stat_cache.keep): a cycle told by events
rewrites no 10 MB file, yet the cache reaches the disk when the watcher stops, and a cache another process wrote
meanwhile is left as it is."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import installed_project
from trueup.files.changed import cache_token
from trueup.watch.inotify import available

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not available(), reason="file events are inotify (Linux) only")


def _watching(tmp_path, monkeypatch):
    from trueup.manifest import load_workspace
    from trueup.state import stat_cache
    from trueup.watch import alerts
    from trueup.watch.monitor import Monitor

    monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 0)
    project = installed_project(tmp_path)
    workspace = load_workspace(project.root)
    monitor = Monitor(list(workspace.components), workspace.state_dir / "cache")
    sinks = alerts.Sinks(False, tmp_path / "alerts.jsonl", None)
    return project, workspace, monitor, sinks, alerts.Reported(workspace.state_dir)


def _disk_stamp(path) -> int:
    from trueup.state import stat_cache

    return stat_cache.HEADER.unpack_from(path.read_bytes())[3]


def _edited_cycle(project, workspace, monitor, sinks, reported, text: str) -> dict:
    """A cycle after one file was edited; its plan names that file."""
    from trueup.watch.cycle import cycle

    time.sleep(0.01)
    target = sorted(p for p in project.install.rglob("*") if p.is_file() and ".trueup" not in p.parts)[0]
    target.write_text(text)
    monitor.wait(1.0)
    document = cycle(workspace, None, sinks, reported, monitor)
    rel = target.relative_to(project.install).as_posix()
    assert any(d["path"] == rel for c in document["components"] for d in c["drift"])
    return document


def test_a_cycle_told_by_events_keeps_its_cache_in_memory_and_writes_it_when_watch_stops(tmp_path, monkeypatch):
    from trueup.state import stat_cache
    from trueup.watch.cycle import cycle

    project, workspace, monitor, sinks, reported = _watching(tmp_path, monkeypatch)
    cache_dir = workspace.state_dir / "cache"
    path = stat_cache.cache_path(cache_dir, project.install)
    try:
        cycle(workspace, None, sinks, reported, monitor)  # the first cycle walks everything and writes the cache
        written = _disk_stamp(path)
        _edited_cycle(project, workspace, monitor, sinks, reported, "hot patch\n")
        kept = cache_token(cache_dir, project.install)
        assert kept is not None and kept > written  # the cycle's cache: in memory ...
        assert _disk_stamp(path) == written  # ... not on disk yet
    finally:
        monitor.close()
    assert _disk_stamp(path) == kept  # written when the watcher stopped
    again = stat_cache.decode(path.read_bytes(), project.install)
    assert again is not None and again.stamp_ns == kept


def test_a_cache_another_plan_wrote_meanwhile_is_not_overwritten(tmp_path, monkeypatch):
    from trueup.state import stat_cache
    from trueup.watch.cycle import cycle

    project, workspace, monitor, sinks, reported = _watching(tmp_path, monkeypatch)
    cache_dir = workspace.state_dir / "cache"
    path = stat_cache.cache_path(cache_dir, project.install)
    try:
        cycle(workspace, None, sinks, reported, monitor)
        _edited_cycle(project, workspace, monitor, sinks, reported, "hot patch\n")
        kept = cache_token(cache_dir, project.install)
        # Another process's plan writes its cache over the file the watcher's kept cache stood in for.
        subprocess.run([sys.executable, "-m", "trueup", "plan", "-w", str(project.root)], cwd=REPO, check=False,
                       capture_output=True)
        theirs = _disk_stamp(path)
        assert theirs != kept
        assert cache_token(cache_dir, project.install) == theirs  # the watcher now starts from theirs
    finally:
        monitor.close()
    assert _disk_stamp(path) == theirs  # and never wrote its own over it
