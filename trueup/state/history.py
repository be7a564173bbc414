"""The history store: one embedded SQLite database in the state dir, a row per run, change-only rows per unit.

A run where nothing changed costs one ``runs`` row: units keep their current state in ``units.cur`` and a
``states`` row is written only when it differs. Each ``states`` row is one state of one unit: the run it was
first seen in (``run``), the last run it was still seen in once it was replaced (``last_run``), what it
changed (``detail``), the history classes of that change and who made it (``by``: an apply's plan and
action, or NULL for a change from outside trueup). Applies come from ``journal.jsonl`` (see import_journal).

WAL and a busy timeout let two plans record at once; each records in one ``BEGIN IMMEDIATE`` transaction,
so their read-compare-write steps never interleave. A database that is corrupt, foreign or of another
schema version is moved aside with one line and a fresh one started: a plan never fails because of history.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FILE_NAME = "history.db"
APPLICATION_ID = 0x74727570  # "trup": tells our database from any other SQLite file
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE runs(id INTEGER PRIMARY KEY, at TEXT NOT NULL, host TEXT, version TEXT, plan_hash TEXT,
                  mode TEXT, components TEXT);
CREATE TABLE units(id INTEGER PRIMARY KEY, component TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
                   dir TEXT, cur TEXT, stat TEXT, flap_until INTEGER NOT NULL DEFAULT 0,
                   UNIQUE(component, kind, name));
CREATE INDEX units_flapping ON units(component, flap_until) WHERE flap_until>0;
CREATE TABLE states(id INTEGER PRIMARY KEY, unit INTEGER NOT NULL, run INTEGER NOT NULL, state TEXT,
                    detail TEXT, classes TEXT NOT NULL DEFAULT '', by TEXT, last_run INTEGER);
CREATE INDEX states_unit ON states(unit, run);
CREATE INDEX states_run ON states(run);
CREATE TABLE events(run INTEGER NOT NULL, unit INTEGER NOT NULL, class TEXT NOT NULL);
CREATE INDEX events_class_run ON events(class, run);
CREATE TABLE components(name TEXT PRIMARY KEY, last_run INTEGER, tree BLOB);
CREATE TABLE dirs(component TEXT NOT NULL, prefix TEXT NOT NULL, digest BLOB NOT NULL, stats BLOB,
                  PRIMARY KEY(component, prefix)) WITHOUT ROWID;
CREATE TABLE applies(id INTEGER PRIMARY KEY, run INTEGER NOT NULL, at TEXT, plan_hash TEXT, action TEXT,
                     type TEXT, component TEXT, targets TEXT);
CREATE INDEX applies_run ON applies(run);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
"""
TABLES = {"runs", "units", "states", "events", "components", "dirs", "applies", "meta"}


def db_path(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def _usable(conn: sqlite3.Connection) -> str | None:
    """Why this database is not ours (None: it is, or it is empty and was just made ours)."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if app_id == 0 and not tables:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:  # another process may have made it ours meanwhile
            if not conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return None
    if app_id != APPLICATION_ID:
        return "not a trueup history database"
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version != SCHEMA_VERSION:
        return f"history schema version {version}, this trueup writes {SCHEMA_VERSION}"
    if not TABLES <= tables:
        return "tables are missing"
    # No integrity check here (it reads the whole file: a third of a warm plan at 100k files); damage inside
    # shows as a DatabaseError while recording, and the recorder moves the file aside then (see is_damage).
    return None


def is_damage(exc: Exception) -> bool:
    """Whether an error means the database file itself is damaged (not merely busy)."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(
        w in text for w in ("malformed", "not a database", "corrupt", "disk image", "no such table", "no such column"))


def move_aside(state_dir: Path, reason: str, notify: Callable[[str], None]) -> None:
    _move_aside(db_path(state_dir), reason, notify)


def _move_aside(path: Path, reason: str, notify: Callable[[str], None]) -> None:
    stamp = f"{path.name}.bad-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    aside, n = path.with_name(stamp), 1
    while aside.exists():  # never over an earlier one: each is someone's evidence
        aside, n = path.with_name(f"{stamp}-{n}"), n + 1
    for suffix in ("", "-wal", "-shm"):
        try:
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
        except FileNotFoundError:
            pass
    notify(f"history: {path} {reason}; moved aside to {aside.name}, starting a fresh history")


def open_db(state_dir: Path, notify: Callable[[str], None] = lambda m: None, *, create: bool = True) -> sqlite3.Connection | None:
    """The history database of ``state_dir`` (None when there is none and ``create`` is False)."""
    path = db_path(state_dir)
    if not create and not path.exists():
        return None
    state_dir.mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        conn = None
        try:
            conn = _connect(path)
            reason = _usable(conn)
        except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
            if isinstance(exc, sqlite3.OperationalError):
                raise  # locked, or cannot be opened (permissions, a directory): not damage, so not moved aside
            reason = f"is unreadable ({exc})"
        if reason is None:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        if conn is not None:
            conn.close()
        if attempt == 2 or not create:
            raise sqlite3.DatabaseError(reason)
        _move_aside(path, reason, notify)
    return None


@contextmanager
def writing(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken before anything is read, so concurrent recorders take turns."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else default


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                 (key, value))


def new_run(conn: sqlite3.Connection, *, at: str, host: str, version: str, mode: str, components: list[str]) -> int:
    cur = conn.execute("INSERT INTO runs(at, host, version, mode, components) VALUES(?, ?, ?, ?, ?)",
                       (at, host, version, mode, json.dumps(sorted(components))))
    return int(cur.lastrowid)


def import_journal(conn: sqlite3.Connection, state_dir: Path, run: int) -> None:
    """Copy the apply journal's new action lines into ``applies``, stamped with the run that first saw them:
    they happened after the previous run and before this one, whatever the clocks say."""
    path = state_dir / "journal.jsonl"
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    offset = int(get_meta(conn, "journal_offset", "0") or 0)
    if size < offset:  # the journal was replaced: read it again from the start
        offset = 0
    if size == offset:
        return
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(size - offset)
    end = data.rfind(b"\n") + 1  # a line being written right now waits for the next run
    rows = []
    for line in data[:end].splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("event") == "action":
            rows.append((run, entry.get("at"), entry.get("plan_hash"), entry.get("id"), entry.get("type"),
                         entry.get("component"), json.dumps(entry.get("targets") or [])))
    conn.executemany("INSERT INTO applies(run, at, plan_hash, action, type, component, targets) "
                     "VALUES(?, ?, ?, ?, ?, ?, ?)", rows)
    set_meta(conn, "journal_offset", str(offset + end))


def applies_between(conn: sqlite3.Connection, component: str, after_run: int, upto_run: int) -> list[dict[str, Any]]:
    """The apply actions on ``component`` journaled after run ``after_run`` and before run ``upto_run`` ended."""
    rows = conn.execute("SELECT plan_hash, action, type, targets, at FROM applies WHERE component=? AND run>? "
                        "AND run<=? ORDER BY id", (component, after_run, upto_run)).fetchall()
    return [{"plan_hash": p, "action": a, "type": t, "targets": json.loads(ts or "[]"), "at": at}
            for p, a, t, ts, at in rows]


def component_last_run(conn: sqlite3.Connection, component: str) -> int | None:
    row = conn.execute("SELECT last_run FROM components WHERE name=?", (component,)).fetchone()
    return row[0] if row else None


def set_component_run(conn: sqlite3.Connection, component: str, run: int) -> None:
    conn.execute("INSERT INTO components(name, last_run) VALUES(?, ?) "
                 "ON CONFLICT(name) DO UPDATE SET last_run=excluded.last_run", (component, run))


def compact(conn: sqlite3.Connection, *, keep_days: int, keep_runs: int, now: float | None = None) -> None:
    """Forget what is older than both limits allow, keeping each unit's current state and, of every state
    kept, the runs of its first and last sighting."""
    latest = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
    if latest is None:
        return
    cutoff_run = latest - keep_runs
    cutoff_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((now or time.time()) - keep_days * 86400))
    # Oldest run still wanted: within keep_runs AND within keep_days (whichever is stricter forgets more).
    row = conn.execute("SELECT min(id) FROM runs WHERE id>? AND at>=?", (cutoff_run, cutoff_at)).fetchone()
    oldest = row[0] if row[0] is not None else latest
    # A replaced state last seen before the oldest wanted run is forgotten; current states (last_run NULL) stay.
    conn.execute("DELETE FROM states WHERE last_run IS NOT NULL AND last_run<?", (oldest,))
    conn.execute("DELETE FROM applies WHERE run<?", (oldest,))
    conn.execute("DELETE FROM events WHERE run<?", (oldest,))
    conn.execute("DELETE FROM runs WHERE id<? AND id NOT IN (SELECT run FROM states) "
                 "AND id NOT IN (SELECT last_run FROM states WHERE last_run IS NOT NULL) "
                 "AND id NOT IN (SELECT last_run FROM components WHERE last_run IS NOT NULL)", (oldest,))
