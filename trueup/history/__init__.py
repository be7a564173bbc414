"""The history view: every plan's observations over time — since when, how often, and was it trueup.

A view provider over the same snapshots the files, config and runtime providers observed: ``record``
writes what changed since the last run into the history store (``trueup.state.history``) and returns what
the plan shows of it — ``warnings`` (a unit oscillating between states, a silent rewrite in the last runs:
the past, which no action can resolve, so warnings and never drift) and ``since`` (the run each drift item was
first seen in). ``trueup history`` and ``trueup log`` read the same store (history/views.py). Both live in the plan's ``meta.history`` (outside the plan hash).

History never fails a plan: any error is one line on stderr, and the plan goes on without history.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import Any

from attrs import define, field

from trueup.history import classes as C
from trueup.history import kept
from trueup.history import units as U
from trueup.history.record import ComponentRecord, Recorder
from trueup.history.trend import drift_trend
from trueup.model.plan import DriftClass, PlanWarning
from trueup.state import history as store

NAME = "history"
KEEP_DAYS, KEEP_RUNS = 90, 1000
COMPACT_EVERY = 50  # runs between compactions: a compaction reads every state row, a plan should not
MAX_WARNINGS = 20  # per class and component; the rest are counted in one more warning


@define
class Observed:
    """What one component's providers observed, as history needs it."""

    component: str
    blocks: bytes | None  # the files walk's packed blocks (None: the install directory does not exist)
    config: Any
    runtime: Any
    drift: tuple = ()
    delta: Any = None  # trueup.files.changed.WalkDelta: which of ``blocks`` differ from the previous walk's (watch)


@define
class Recorded:
    """What a plan shows of history; a no-op when history could not be recorded."""

    conn: sqlite3.Connection | None = None
    run: int | None = None
    at: str | None = None
    warnings: dict[str, list[PlanWarning]] = field(factory=dict)
    since: dict[str, dict[str, Any]] = field(factory=dict)
    trend: dict[str, list[dict[str, Any]]] = field(factory=dict)  # drift items per recent plan (HTML sparklines)

    def finish(self, document: dict[str, Any]) -> dict[str, Any]:
        """Stamp the run with its plan_hash, and the plan's meta with the run and since when each drift exists."""
        if self.conn is None:
            return document
        try:
            with store.writing(self.conn):
                self.conn.execute("UPDATE runs SET plan_hash=? WHERE id=?", (document["plan_hash"], self.run))
        except sqlite3.Error as exc:
            _say(f"history: run {self.run} not stamped with its plan: {exc}")
        finally:
            self.conn.close()
        # In meta, outside the plan hash: a plan describes the world now, and the same world must make the same
        # plan (byte for byte, apart from meta) however its history goes; history is the past beside it.
        from trueup.planner.document import warning_json

        warnings = [{"component": name, **warning_json(w)} for name in sorted(self.warnings)
                    for w in sorted(self.warnings[name], key=lambda w: w.sort_key())]
        document["meta"]["history"] = {"run": self.run, "since": self.since, "warnings": warnings,
                                       "trend": self.trend}
        return document


def _say(message: str) -> None:
    sys.stderr.write(f"trueup: {message}\n")


# trueup watch compacts after a cycle's alerts, not inside the plan that raises them (a compaction reads every state
# row: it was the watcher's edit → alert tail). (state dir, keep_days, keep_runs) of a compaction that is due.
_deferred: dict[str, Any] = {"on": False, "due": None}


def defer_compaction(on: bool) -> None:
    """Turn deferring on (trueup watch, for its lifetime) or off; a plan elsewhere compacts in place."""
    _deferred.update(on=on, due=None)


def compact_due() -> None:
    """Run the compaction a deferred record found due, if any (never raises: history is a view)."""
    due, _deferred["due"] = _deferred["due"], None
    if due is None:
        return
    state_dir, keep_days, keep_runs = due
    try:
        conn = store.open_db(state_dir, _say)
        if conn is not None:
            try:
                with store.writing(conn):
                    store.compact(conn, keep_days=keep_days, keep_runs=keep_runs)
            finally:
                conn.close()
    except (sqlite3.Error, OSError) as exc:
        _say(f"history: not compacted ({type(exc).__name__}: {exc})")


def record(workspace, observed: list[Observed], *, full_hash: bool, window: int = C.WINDOW) -> Recorded:
    """Record one plan's observations; never raises (TRUEUP_DEBUG=1: it does, to find the bug).

    Retention is trueup.yaml's ``history: {keep_days, keep_runs}`` (default 90 days, 1000 runs)."""
    keep = getattr(workspace, "history", None) or {}
    if keep.get("record") is False:  # the operator turned history off (and benchmarks measure its cost so)
        return Recorded()
    try:
        return _record(workspace, observed, full_hash, keep.get("keep_days", KEEP_DAYS),
                       keep.get("keep_runs", KEEP_RUNS), window)
    except Exception as exc:  # noqa: BLE001 — history is a view: it must never cost the operator a plan
        if store.is_damage(exc):  # the next plan starts a fresh history; this one goes on without
            try:
                store.move_aside(workspace.state_dir, f"is damaged ({exc})", _say)
                return Recorded()
            except OSError:
                pass
        if os.environ.get("TRUEUP_DEBUG"):
            raise
        _say(f"history: not recorded this run ({type(exc).__name__}: {exc})")
        return Recorded()


def _record(workspace, observed, full_hash, keep_days, keep_runs, window) -> Recorded:
    import socket

    from trueup import __version__
    from trueup.state.ledger import now_iso

    conn = store.open_db(workspace.state_dir, _say)
    assert conn is not None
    at = now_iso()
    recorded = Recorded(conn=conn, at=at)
    try:
        with store.writing(conn):
            run = store.new_run(conn, at=at, host=socket.gethostname(), version=__version__,
                                mode="full-hash" if full_hash else "stat-cache",
                                components=[o.component for o in observed])
            recorded.run = run
            store.import_journal(conn, workspace.state_dir, run)
            recorder = Recorder(conn, run, at, window)
            pending = [_component(recorder, workspace, o, recorded) for o in observed]
            if run % COMPACT_EVERY == 0 and _deferred["on"]:
                _deferred["due"] = (workspace.state_dir, keep_days, keep_runs)
            elif run % COMPACT_EVERY == 0:
                store.compact(conn, keep_days=keep_days, keep_runs=keep_runs)
    except BaseException:
        conn.close()
        raise
    kept.commit([p for p in pending if p is not None])  # only now: a rolled-back record left nothing to keep
    return recorded


def _component(recorder: Recorder, workspace, o: Observed, recorded: Recorded) -> kept.Pending | None:
    conn = recorder.conn
    prev_run = store.component_last_run(conn, o.component)
    rec = ComponentRecord(o.component, first=prev_run is None)
    applies = store.applies_between(conn, o.component, prev_run or 0, recorder.run)
    store.set_component_run(conn, o.component, recorder.run)
    remember = recorder.files(rec, prev_run, applies, o.blocks or b"", o.delta,
                              kept.key(workspace.state_dir, o.component))
    config, unread = U.config_units(o.component, o.config, workspace.root, workspace.state_dir)
    service = U.service_units(o.runtime)
    # A service whose manager did not answer, a config file that did not parse: not observed, so not "removed".
    kinds = tuple(k for k, observed in ((U.CONFIG, bool(o.config)), (U.SERVICE, o.runtime is None or bool(service)))
                  if observed)
    if kinds:
        recorder.compare_all(rec, prev_run, applies, kinds, {**config, **service}, skip=unread)
    recorder.drift(rec, prev_run, {name for (_, name) in U.drift_units(o.drift)})
    recorded.since[o.component] = _since(conn, o.component)
    recorded.trend[o.component] = drift_trend(conn, o.component, recorder.run)
    recorded.warnings[o.component] = _warnings(recorder, o.component)
    return remember


def _since(conn: sqlite3.Connection, component: str) -> dict[str, Any]:
    rows = conn.execute(
        "SELECT u.name, s.run, r.at FROM units u JOIN states s ON s.unit=u.id AND s.last_run IS NULL "
        "JOIN runs r ON r.id=s.run WHERE u.component=? AND u.kind=? AND u.cur='present' ORDER BY u.name",
        (component, U.DRIFT))
    return {name: {"run": run, "at": at} for name, run, at in rows}


per_run = C.per_run  # the per-run view of a unit's change rows (tests and views use it from here)


def _warnings(recorder: Recorder, component: str) -> list[PlanWarning]:
    conn, run, window = recorder.conn, recorder.run, recorder.window
    start = max(1, run - window + 1)
    # Units decided flapping when they last changed (classes.flap_until): an indexed look-up, however many
    # units oscillated in the window; scores are worked out for the ones shown. "flap_until>0" (implied, run ≥ 1)
    # is what lets SQLite use the partial index units_flapping: without it, it reads every unit of the component.
    flapping = conn.execute("SELECT id, kind, name FROM units WHERE component=? AND flap_until>? AND flap_until>0 "
                            "ORDER BY kind, name LIMIT ?", (component, run, MAX_WARNINGS)).fetchall()
    more = 0
    if len(flapping) == MAX_WARNINGS:
        more = conn.execute("SELECT count(*) FROM units WHERE component=? AND flap_until>? AND flap_until>0",
                            (component, run)).fetchone()[0] - MAX_WARNINGS
    windows = recorder.window_rows([u for u, _, _ in flapping])
    oscillating = []
    for unit, kind, name in flapping:
        seq = per_run(windows.get(unit, []), start, run)
        score, states = C.flap_score(seq), C.collapse(seq)
        oscillating.append(_warning(kind, name, C.OSCILLATING,
                                    f"went back to an earlier state within the last {window} runs "
                                    f"({len(states) - 1} changes through {len(set(states))} states, flap score "
                                    f"{score:g}%)", {"flap_score": score, "changes": len(states) - 1,
                                                     "states": len(set(states)), "window": window}))
    if more:
        oscillating.append(PlanWarning(DriftClass.FILE, C.OSCILLATING, None,
                                       f"{more} more units oscillating (see trueup log --class oscillating)",
                                       {"more": more}))
    silent = []
    for kind, name, srun, at, classes, detail in conn.execute(
            "SELECT u.kind, u.name, s.run, r.at, s.classes, s.detail FROM events e JOIN units u ON u.id=e.unit "
            "JOIN states s ON s.unit=e.unit AND s.run=e.run JOIN runs r ON r.id=e.run "
            "WHERE e.class=? AND e.run>=? AND u.component=? AND u.kind=? ORDER BY u.name, s.run",
            (C.SILENT_REWRITE, start, component, U.FILE)):
        restored = C.TIMESTAMP_RESTORED in classes.split(",")
        how = ("its ctime moved: the timestamp was put back" if restored else "nothing in its stat shows it")
        silent.append(_warning(kind, name, C.SILENT_REWRITE,
                               f"content changed at run {srun} ({at[:19]}Z) while its size and mtime stayed the "
                               f"same; {how}", {"run": srun, "at": at,
                                                "sub_kind": C.TIMESTAMP_RESTORED if restored else None}))
    loops = [_warning(U.SERVICE, name, C.RESTART_LOOP,
                      f"restarted {n} times in the last {window} runs, each time under the same definition "
                      "(a restart loop? see the manager's logs)", {"restarts": n, "window": window})
             for name, n in conn.execute(
                 "SELECT u.name, count(*) FROM events e JOIN units u ON u.id=e.unit WHERE e.class=? AND e.run>=? "
                 "AND u.component=? AND u.kind=? GROUP BY u.id ORDER BY u.name",
                 (C.RESTARTED, start, component, U.SERVICE)) if n >= C.RESTART_LOOP_MIN]
    return oscillating + _capped(silent) + loops


def _capped(items: list[PlanWarning]) -> list[PlanWarning]:
    if len(items) <= MAX_WARNINGS:
        return items
    rest = len(items) - MAX_WARNINGS
    first = items[0]
    return [*items[:MAX_WARNINGS], PlanWarning(first.cls, first.kind, None,
                                               f"{rest} more units {first.kind} (see trueup log --class {first.kind})",
                                               {"more": rest})]


_CLASS = {U.FILE: DriftClass.FILE, U.CONFIG: DriftClass.CONFIG, U.SERVICE: DriftClass.RUNTIME,
          U.COMPONENT: DriftClass.FILE}


def _warning(kind: str, name: str, cls: str, message: str, details: dict[str, Any]) -> PlanWarning:
    if kind == U.CONFIG:
        path, _, entry = name.partition(":")
        return PlanWarning(_CLASS[kind], cls, path, f"entry {entry} {message}", {**details, "entry": entry})
    if kind == U.SERVICE:
        return PlanWarning(_CLASS[kind], cls, None, f"service {name} {message}", {**details, "service": name})
    if kind == U.COMPONENT:
        return PlanWarning(_CLASS[kind], cls, None, f"its files as one set {message}", details)
    return PlanWarning(_CLASS[kind], cls, name or None, message, details)
