"""The history classes as pure functions of a unit's states: what kind of change each one was. No I/O.

A unit is one observed thing (a file, a config entry, a service, a component as the set of its files); its
history is the sequence of its states, one per run. These functions decide, from plain values, whether a
change was a silent rewrite, whether a member set grew, shrank or swapped, and whether a unit oscillates.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence
from typing import Any

BASELINE = "baseline"  # the first sighting of a unit: not a change
SILENT_REWRITE = "silent-rewrite"
TIMESTAMP_RESTORED = "timestamp-restored"  # sub-kind of silent-rewrite: ctime moved, mtime did not
EXPANDED = "expanded"
CONTRACTED = "contracted"
SWAPPED = "swapped"
OSCILLATING = "oscillating"
OUTSIDE = "changed-outside-trueup"
RESTARTED = "restarted"  # a service runs the same thing under a new process
APPEARED = "appeared"
REMOVED = "removed"
CHANGED = "changed"

# The classes plan warnings are made from (kept in their own index by the store).
WARNED = (OSCILLATING, SILENT_REWRITE, RESTARTED)

# Every class `trueup log --class` accepts.
CLASSES = (SILENT_REWRITE, TIMESTAMP_RESTORED, EXPANDED, CONTRACTED, SWAPPED, OSCILLATING, OUTSIDE, RESTARTED,
           APPEARED, REMOVED, CHANGED)

RESTART_LOOP = "restart-loop"  # a warning: a service restarted in many of the last runs
RESTART_LOOP_MIN = 3  # restarts within the window that make a loop

WINDOW = 10  # K: the runs a unit's recent history spans (oscillation, flap score, recent warnings)
FLAP_HIGH = 20.0  # a unit starts flapping when its score reaches this (percent)...
FLAP_LOW = 10.0  # ...and stops when it falls below this one: hysteresis, as Sensu's flap detection


def file_rewrite(prev: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """The silent-rewrite classes of a file's change: its content changed while size and mtime stayed;
    ``timestamp-restored`` when the ctime shows it was written after all (``touch -r``, ``os.utime``)."""
    if not prev or not new or prev.get("type") != "file" or new.get("type") != "file":
        return []
    if prev.get("sha256") is None or prev.get("sha256") == new.get("sha256"):
        return []
    if prev.get("size") != new.get("size") or prev.get("mtime") != new.get("mtime"):
        return []
    out = [SILENT_REWRITE]
    if prev.get("ctime") != new.get("ctime"):
        out.append(TIMESTAMP_RESTORED)
    return out


def membership(added: Sequence[str], removed: Sequence[str]) -> str | None:
    """How a member set changed, from the sets themselves (never the counts: a same-count swap is a swap)."""
    if added and removed:
        return SWAPPED
    if added:
        return EXPANDED
    if removed:
        return CONTRACTED
    return None


def change_kind(prev: Hashable | None, new: Hashable | None) -> str:
    if prev is None:
        return APPEARED
    if new is None:
        return REMOVED
    return CHANGED


def collapse(states: Sequence[Hashable]) -> list[Hashable]:
    """The states with repeats in a row folded: the distinct states a unit went through, in order."""
    out: list[Hashable] = []
    for s in states:
        if not out or out[-1] != s:
            out.append(s)
    return out


def oscillating(states: Sequence[Hashable]) -> bool:
    """Whether a unit came back to an earlier distinct state within ``states`` (one per run, oldest first):
    A→B→A and A→B→C→A both are; A→A→B is not."""
    seq = collapse(states)
    return len(set(seq)) < len(seq)


def returns_to_earlier(window: Sequence[Hashable], new: Hashable) -> bool:
    """Whether changing to ``new`` after the states ``window`` (the runs before, oldest first) is a return."""
    seq = collapse(window)
    return bool(seq) and seq[-1] != new and new in seq


def flap_score(states: Sequence[Hashable]) -> float:
    """Percent of state changes over the runs in ``states``, newer changes weighing more (0.8 → 1.2), as
    Sensu-go scores flapping."""
    n = len(states) - 1
    if n <= 0:
        return 0.0
    weights, total = _weights(n)
    changed = sum(w for w, a, b in zip(weights, states, states[1:]) if a != b)
    return round(100.0 * changed / total, 1)


@functools.cache
def _weights(n: int) -> tuple[tuple[float, ...], float]:
    weights = tuple(0.8 + 0.4 * i / (n - 1) if n > 1 else 1.0 for i in range(n))
    return weights, sum(weights)


def flapping(was: bool, score: float, *, high: float = FLAP_HIGH, low: float = FLAP_LOW) -> bool:
    """Hysteresis: enter at ``high``, stay until below ``low``, so a unit does not blink in and out."""
    return score >= low if was else score >= high


def per_run(rows: Sequence[tuple], start: int, end: int) -> list:
    """A unit's state at each run from ``start`` (or its first sighting, if later) to ``end``, from its change
    rows (first run, state, ...) oldest first."""
    out: list = []
    i = 0
    state = None
    for run in range(max(start, rows[0][0]) if rows else start, end + 1):
        while i < len(rows) and rows[i][0] <= run:
            state = rows[i][1]
            i += 1
        out.append(state)
    return out


def flap_until(rows: Sequence[tuple], run: int, window: int, was: bool) -> int:
    """Until which run (exclusive) a unit that just changed warns as oscillating if it changes no more; 0: it
    does not. ``rows`` are its change rows up to and including this run's; ``was``: it warned at the run before.

    Decided once, when the unit changes: while it stays put its score only falls (its changes age into lighter
    weights) and its recurrence can only leave the window, so it never starts flapping while quiet — and the
    plans in between need not look at it at all."""
    first = max(1, run - window + 1)
    base = per_run(rows, first, run + window)  # the future runs hold the last state: nothing changes any more
    offset = run + window - len(base) + 1  # the run of base[0] (later than ``first`` for a unit seen since)
    flag = was
    for t in range(window + 1):
        end = run + t
        seq = base[max(0, end - window + 1 - offset):end - offset + 1]
        flag = oscillating(seq) and flapping(flag, flap_score(seq))
        if not flag:
            return end if t else 0
    return run + window + 1
