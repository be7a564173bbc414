"""One cycle of trueup watch: plan (its file phase told by events what may have changed), heal what policy
allows, alert what is new, remember what was reported."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trueup.manifest import Workspace
from trueup.state import stat_cache
from trueup.watch import alerts, heal
from trueup.watch.monitor import Monitor


def cycle(workspace: Workspace, names: list[str] | None, sinks: alerts.Sinks, reported: alerts.Reported,
          monitor: Monitor | None = None, *, full_hash: bool = False, fetch: bool = True) -> dict[str, Any]:
    """The plan document this cycle made, after its alerts were emitted. ``fetch`` False: a remote source's mirror
    is not fetched (a cycle made by file events: a network round trip per edit would be the whole latency)."""
    from trueup.planner.plan import make_plan

    hints = monitor.take() if monitor is not None else None
    ok = False
    try:
        # Never read_only: the stat cache is what the events are relative to (only trueup's state dir is written).
        document = make_plan(workspace, names, use_cache=not full_hash, quiet=True, changed=hints, fetch=fetch)
        ok = True
    finally:
        if monitor is not None:
            monitor.done(ok)
    now = datetime.now(UTC)
    lines, healed = heal.heal(workspace, document, now)
    before = dict(reported.items)
    lines += alerts.changes(document, reported, now, healed)
    for line in lines:
        sinks.emit(line)
    if reported.items != before:
        reported.save()
    from trueup import history

    history.compact_due()  # after the alerts: a compaction reads every state row, an edit should not wait for it
    stat_cache.flush(stat_cache.FLUSH_EVERY_S)  # its walks' caches, kept in memory, on disk now and then
    return document
