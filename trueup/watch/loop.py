"""trueup watch until stopped: a cycle when files change (events) and at least once per interval (every cycle
observes the runtime managers — PM2 jlist, systemctl, docker — as plan does; only these polls fetch a remote
source), a full walk hourly and a full rehash daily as backstops."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from trueup import history
from trueup.errors import EXIT_DRIFT, EXIT_OK, TrueupError
from trueup.manifest import Workspace
from trueup.watch import alerts, heal
from trueup.watch.cycle import cycle
from trueup.watch.monitor import Monitor
from trueup.watch.serve import Server

# Backstops for what events cannot see: a full walk (lstat of every entry, racy-clean as plan) finds an edit whose
# event was lost without the kernel saying so; the rehash (every byte, no stat cache) finds content changed under
# unchanged lstats (a restored backup with its times, a disk error).
FULL_WALK_EVERY_S = 3600
REHASH_EVERY_S = 24 * 3600


class _Stop(Exception):
    pass


def _stop(signum: int, frame: Any) -> None:
    raise _Stop()


def exit_code(document: dict[str, Any]) -> int:
    """As `trueup plan --detailed-exitcode`: 5/8 when something could not be observed, else 2 on drift, else 0."""
    from trueup.planner.document import exit_for

    unobserved = exit_for(document)
    if unobserved != EXIT_OK:
        return unobserved
    return EXIT_DRIFT if document["summary"]["drift"] else EXIT_OK


def once(workspace: Workspace, names: list[str] | None, sinks: alerts.Sinks) -> int:
    """One cycle (a cron job, a systemd timer): alerts for drift not reported before, the plan's exit code."""
    return exit_code(cycle(workspace, names, sinks, alerts.Reported(workspace.state_dir)))


def _specs(workspace: Workspace, names: list[str] | None) -> list:
    return [workspace.component(n) for n in names] if names else list(workspace.components)


def _manifest_stamp(workspace: Workspace) -> tuple:
    try:
        st = workspace.manifest_path.stat()
    except OSError:
        return ()
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _reloaded(workspace: Workspace, names: list[str] | None) -> Workspace:
    """trueup.yaml as it is now; the one it was while it does not load (said once on stderr, and retried)."""
    from trueup.manifest import load_workspace

    try:
        fresh = load_workspace(workspace.root)
        _specs(fresh, names)
        return fresh
    except TrueupError as exc:
        sys.stderr.write(f"trueup watch: {exc}; watching as before\n")
        return workspace


def _announce(workspace: Workspace, monitor: Monitor, components: int, interval: float, quiet: bool) -> None:
    """What watch says on stderr as it starts: what it watches, and (always) rules whose soak would not wait."""
    if not quiet:
        how = (f"file events on {len(monitor.inotify.dirs)} directories" if monitor.inotify is not None
               else f"no file events ({monitor.error}): every cycle walks the trees")
        named = f"{components} component" + ("" if components == 1 else "s")
        sys.stderr.write(f"trueup watch: {named}, {how}, a poll every {interval:g} s\n")
    for note in heal.soak_by_runs(workspace):
        sys.stderr.write(f"trueup watch: {note}\n")


def run(workspace: Workspace, names: list[str] | None, sinks: alerts.Sinks, interval: float, quiet: bool = False,
        verbose: bool = False, run_command: Callable[[list[str]], int] | None = None) -> int:
    """Cycles until SIGTERM or SIGINT (then exit 0). A cycle that fails (git unreachable, a lock held) is said on
    stderr in one line and tried again next time; trueup.yaml is read again when it changes. Between cycles it
    answers `trueup plan` for the workspace by ``run_command`` (the CLI's main; watch/serve.py; ``verbose``: each
    answer said on stderr); without one it answers nothing."""
    specs = _specs(workspace, names)
    reported = alerts.Reported(workspace.state_dir)
    monitor: Monitor | None = None
    server: Server | None = None
    signal.signal(signal.SIGTERM, _stop)
    try:  # from the handler on: a SIGTERM while starting ends the watcher as cleanly as one while it waits
        monitor = Monitor(specs, workspace.state_dir / "cache")
        server = Server(workspace.root) if run_command is not None else None
        _announce(workspace, monitor, len(specs), interval, quiet)
        if server is not None and server.note is not None:
            sys.stderr.write(f"trueup watch: {server.note}\n")
        answering = server if server is not None and server.sock is not None else None
        manifest = _manifest_stamp(workspace)
        full_at = rehash_at = poll_at = time.monotonic()
        history.defer_compaction(True)  # each cycle compacts after its alerts (watch/cycle.py)
        while True:
            now = time.monotonic()
            polled = now >= poll_at  # the first cycle, then one each interval however busy the files are
            if polled:
                poll_at = now + interval
            rehash = now - rehash_at >= REHASH_EVERY_S
            if now - full_at >= FULL_WALK_EVERY_S:
                monitor.forget()
                full_at = now
            if rehash:
                rehash_at = now
            if _manifest_stamp(workspace) != manifest:
                manifest = _manifest_stamp(workspace)
                workspace = _reloaded(workspace, names)
                if _specs(workspace, names) != specs:
                    specs = _specs(workspace, names)
                    monitor.close()
                    monitor = Monitor(specs, workspace.state_dir / "cache")
            try:
                cycle(workspace, names, sinks, reported, monitor, full_hash=rehash, fetch=polled)
            except TrueupError as exc:
                sys.stderr.write(f"trueup watch: {exc}\n")
            while (left := poll_at - time.monotonic()) > 0:
                if monitor.wait(left, wake=answering):
                    break
                if answering is not None and answering.serve(monitor, run_command, verbose):
                    break  # the plan it answered took file events: the cycle that alerts on them runs now
    except (_Stop, KeyboardInterrupt):
        return EXIT_OK
    finally:
        history.defer_compaction(False)
        if server is not None:
            server.close()
        if monitor is not None:
            monitor.close()
