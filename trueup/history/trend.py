"""How many drift items a component had in each of its last plans: the series behind the HTML report's sparklines.

Read from the drift units ``since`` already records (one state row per stretch a drift item was present), so the
series costs no extra writes: a stretch counts for every run of the component from the run it was first seen in
to the last run it was still seen in (``last_run``; NULL while it still is).
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left, bisect_right
from typing import Any

from trueup.history import units as U

RUNS = 30  # plans shown per sparkline: about a month of daily CI plans


def drift_trend(conn: sqlite3.Connection, component: str, upto_run: int, runs: int = RUNS) -> list[dict[str, Any]]:
    """``[{run, at, drift}]`` for the component's last ``runs`` plans up to ``upto_run``, oldest first."""
    window = conn.execute(
        "SELECT id, at FROM runs WHERE id<=? AND EXISTS (SELECT 1 FROM json_each(runs.components) WHERE value=?) "
        "ORDER BY id DESC LIMIT ?", (upto_run, component, runs)).fetchall()[::-1]
    if not window:
        return []
    ids = [run for run, _ in window]
    counts = [0] * (len(ids) + 1)  # a difference array over the window: +1 where a stretch starts, -1 after it ends
    for first, last in conn.execute(
            "SELECT s.run, s.last_run FROM states s JOIN units u ON u.id=s.unit WHERE u.component=? AND u.kind=? "
            "AND s.state='present' AND s.run<=? AND (s.last_run IS NULL OR s.last_run>=?)",
            (component, U.DRIFT, ids[-1], ids[0])):
        start = bisect_left(ids, first)
        end = len(ids) if last is None else bisect_right(ids, last)
        if start < end:
            counts[start] += 1
            counts[end] -= 1
    series, running = [], 0
    for (run, at), change in zip(window, counts):
        running += change
        series.append({"run": run, "at": at, "drift": running})
    return series
