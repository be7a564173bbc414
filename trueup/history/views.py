"""What ``trueup history`` and ``trueup log`` show: timelines and change logs read from the history store.

Reads only; rows come out as plain dicts (``--json`` prints them as they are), the text is rendered here.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trueup.errors import TrueupError
from trueup.history import classes as C
from trueup.history import units as U
from trueup.state import history as store

NO_HISTORY = "run trueup plan: every plan records what it observed"


def open_read(state_dir: Path) -> sqlite3.Connection:
    try:
        conn = store.open_db(state_dir, create=False)
    except sqlite3.DatabaseError as exc:
        raise TrueupError(f"{store.db_path(state_dir)}: history unreadable: {exc}",
                          hint="the next trueup plan moves it aside and starts a fresh one") from None
    if conn is None:
        raise TrueupError(f"{store.db_path(state_dir)}: no history yet", hint=NO_HISTORY)
    return conn


def _when(at: str | None) -> str:
    return (at or "")[:19].replace("T", " ")


def _by(by: str | None, classes: list[str]) -> str:
    if C.BASELINE in classes:
        return "first observation"
    if by:
        plan, _, action = by.partition(":")
        return f"apply of plan {plan} (action {action})"
    return "outside trueup"


def _describe(kind: str, state: str | None, detail: dict[str, Any]) -> str:
    if state is None:
        return "absent"
    if kind == U.FILE:
        bits = [detail.get("type", "?")]
        if detail.get("mode"):
            bits.append(detail["mode"])
        if detail.get("sha256"):
            bits.append(f"sha256 {detail['sha256'][:12]}")
        if detail.get("size") is not None:
            bits.append(f"{detail['size']} B")
        if detail.get("mtime") is not None:
            bits.append("mtime " + datetime.fromtimestamp(detail["mtime"] / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S"))
        return " ".join(bits)
    if kind == U.COMPONENT:
        text = f"{detail.get('members', '?')} files, fingerprint {state[:12]}"
        moves = []
        if detail.get("n_added"):
            moves.append(f"+{detail['n_added']} ({', '.join(detail.get('added', [])[:5])}"
                         f"{', …' if detail['n_added'] > 5 else ''})")
        if detail.get("n_removed"):
            moves.append(f"-{detail['n_removed']} ({', '.join(detail.get('removed', [])[:5])}"
                         f"{', …' if detail['n_removed'] > 5 else ''})")
        if detail.get("n_changed"):
            moves.append(f"~{detail['n_changed']}")
        return text + (f"; {' '.join(moves)}" if moves else "")
    if kind == U.SERVICE:
        return " ".join(f"{k} {detail[k]}" for k in ("status", "version", "pid", "started_at") if detail.get(k) is not None)
    if kind == U.CONFIG:
        return f"value {state[:12]}" if state != "secret" else "value <secret>"
    return state


def _row(component, kind, name, run, at, state, detail, classes, by, last_run, last_at) -> dict[str, Any]:
    cls = [c for c in (classes or "").split(",") if c]
    return {"component": component, "kind": kind, "unit": name, "run": run, "at": at, "state": state,
            "detail": json.loads(detail) if detail else {}, "classes": cls, "by": by,
            "last_run": last_run, "last_at": last_at}


_SELECT = ("SELECT u.component, u.kind, u.name, s.run, r.at, s.state, s.detail, s.classes, s.by, s.last_run, lr.at "
           "FROM states s JOIN units u ON u.id=s.unit JOIN runs r ON r.id=s.run LEFT JOIN runs lr ON lr.id=s.last_run ")


def timeline(conn: sqlite3.Connection, component: str, unit: str | None,
             limit: int = 100) -> tuple[list[dict[str, Any]], str]:
    """The states of one unit (a file path, a config entry, a service) or of the component's file set."""
    if unit is None:
        where, args = "WHERE u.component=? AND u.kind=? AND u.name=''", (component, U.COMPONENT)
    else:
        ids = [i for (i,) in conn.execute(
            "SELECT id FROM units WHERE component=? AND kind IN (?, ?, ?) AND name=?",
            (component, U.FILE, U.SERVICE, U.CONFIG, unit))]
        if not ids:  # a config entry by its key alone, or every entry of a config file by its path
            ids = [i for (i,) in conn.execute(
                "SELECT id FROM units WHERE component=? AND kind=? AND (name LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')",
                (component, U.CONFIG, "%:" + _like(unit), _like(unit) + ":%"))]
        if not ids:
            raise TrueupError(f"no history of {unit!r} in component {component}",
                              hint="name a path inside the install, a config entry or the service; "
                                   f"trueup log --component {component} lists what changed")
        where, args = f"WHERE s.unit IN ({','.join('?' * len(ids))})", tuple(ids)
    # The newest ``limit`` states (a year of hourly runs may hold thousands), shown oldest first.
    rows = [_row(*r) for r in conn.execute(_SELECT + where + " ORDER BY s.run DESC, u.name LIMIT ?", (*args, limit))]
    rows.sort(key=lambda r: (r["unit"], r["run"]))
    latest = conn.execute("SELECT r.id, r.at FROM components c JOIN runs r ON r.id=c.last_run WHERE c.name=?",
                          (component,)).fetchone()
    if not rows and unit is None and latest is None:
        raise TrueupError(f"no history of component {component}", hint=NO_HISTORY)
    return rows, (f"#{latest[0]} {_when(latest[1])}" if latest else "")


def _like(text: str) -> str:
    return re.sub(r"([%_\\])", r"\\\1", text)


def render_timeline(component: str, unit: str | None, rows: list[dict[str, Any]], latest: str,
                    limit: int | None = None) -> list[str]:
    out = [f"{component}: {unit or 'its files as one set'} — {len(rows)} states (last run {latest})"
           + (f"; the newest {limit} shown (--limit N)" if limit is not None and len(rows) >= limit else "")]
    name = None
    for r in rows:
        if unit is not None and r["unit"] != name and r["kind"] == U.CONFIG:
            name = r["unit"]
            out.append(f"  {name}")
        until = f"#{r['last_run']} {_when(r['last_at'])}" if r["last_run"] else "now"
        classes = [c for c in r["classes"] if c != C.BASELINE]
        out.append(f"  #{r['run']} {_when(r['at'])} → {until}: {_describe(r['kind'], r['state'], r['detail'])}")
        out.append(f"      {', '.join(classes) or 'seen'} — {_by(r['by'], r['classes'])}")
    return out


def summary(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per component: runs observed, first and last run, changes, units oscillating now, silent rewrites."""
    out = []
    for name, last_run, last_at in conn.execute(
            "SELECT c.name, c.last_run, r.at FROM components c LEFT JOIN runs r ON r.id=c.last_run ORDER BY c.name"):
        changes = dict(conn.execute(
            "SELECT u.kind, count(*) FROM states s JOIN units u ON u.id=s.unit WHERE u.component=? AND u.kind!=? "
            "AND s.classes NOT LIKE ? GROUP BY u.kind", (name, U.DRIFT, f"%{C.BASELINE}%")))
        flapping = conn.execute("SELECT count(*) FROM units WHERE component=? AND flap_until>? AND flap_until>0",
                                (name, last_run or 0)).fetchone()[0]  # >0: the partial index (history._warnings)
        silent = conn.execute(
            "SELECT count(*) FROM states s JOIN units u ON u.id=s.unit WHERE u.component=? AND u.kind=? "
            "AND (',' || s.classes || ',') LIKE ?", (name, U.FILE, f"%,{C.SILENT_REWRITE},%")).fetchone()[0]
        first = conn.execute("SELECT min(s.run) FROM states s JOIN units u ON u.id=s.unit WHERE u.component=?",
                             (name,)).fetchone()[0]
        out.append({"component": name, "first_run": first, "last_run": last_run, "last_at": last_at,
                    "changes": changes, "oscillating": flapping, "silent_rewrites": silent})
    return out


def render_summary(rows: list[dict[str, Any]], runs: int) -> list[str]:
    out = [f"{runs} runs recorded"]
    for r in rows:
        changes = ", ".join(f"{n} {k}" for k, n in sorted(r["changes"].items())) or "no changes"
        out.append(f"  {r['component']}: runs #{r['first_run']}–#{r['last_run']} (last {_when(r['last_at'])}); "
                   f"changes: {changes}; oscillating now: {r['oscillating']}; silent rewrites: {r['silent_rewrites']}")
    return out


_AGO = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> str:
    """``7d``, ``12h``, ``30m`` (ago) or an ISO date/time, as the ISO text runs are stamped with."""
    m = _AGO.match(text.strip())
    if m:
        when = (now or datetime.now(UTC)) - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    else:
        try:
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise TrueupError(f"--since {text!r}: not a duration or a date",
                              hint="use 7d, 12h, 30m, or a date such as 2026-01-31 or 2026-01-31T12:00") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def log(conn: sqlite3.Connection, *, since: str | None, classes: list[str], component: str | None,
        limit: int) -> list[dict[str, Any]]:
    """Changes (never first observations), newest first."""
    for cls in classes:
        if cls not in C.CLASSES:
            raise TrueupError(f"--class {cls!r}: no such history class", hint="one of " + ", ".join(C.CLASSES))
    where = ["u.kind!=?", "s.classes NOT LIKE ?"]
    args: list[Any] = [U.DRIFT, f"%{C.BASELINE}%"]
    if since:
        where.append("r.at>=?")
        args.append(since)
    if component:
        where.append("u.component=?")
        args.append(component)
    if classes and all(c in C.WARNED for c in classes):  # these have their own index: no scan of every state
        where.append(f"(s.unit, s.run) IN (SELECT unit, run FROM events WHERE class IN ({','.join('?' * len(classes))}))")
        args += classes
    elif classes:
        where.append("(" + " OR ".join("(',' || s.classes || ',') LIKE ?" for _ in classes) + ")")
        args += [f"%,{c},%" for c in classes]
    sql = _SELECT + "WHERE " + " AND ".join(where) + " ORDER BY s.run DESC, u.component, u.kind, u.name LIMIT ?"
    return [_row(*r) for r in conn.execute(sql, (*args, limit))]


def render_log(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["no changes recorded"]
    out = []
    for r in rows:
        what = r["unit"] or "(its files as one set)"
        classes = ", ".join(r["classes"])
        out.append(f"#{r['run']} {_when(r['at'])} {r['component']} {r['kind']} {what}: {classes} — "
                   f"{_by(r['by'], r['classes'])}")
        out.append(f"    to: {_describe(r['kind'], r['state'], r['detail'])}")
    return out


def run_count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM runs").fetchone()[0]


def history_command(workspace, component: str | None, unit: str | None, limit: int = 100) -> tuple[Any, list[str]]:
    """(JSON-ready data, text lines) of ``trueup history [COMPONENT] [UNIT]``."""
    conn = open_read(workspace.state_dir)
    try:
        if component is None:
            rows = summary(conn)
            return {"runs": run_count(conn), "components": rows}, _styled(render_summary(rows, run_count(conn)))
        workspace.component(component)  # an unknown name is the manifest's one-line error
        rows, latest = timeline(conn, component, unit, limit)
        lines = render_timeline(component, unit, rows, latest, limit)
        if unit is None:
            from trueup.history import _since

            since = _since(conn, component)
            lines += ["drift now, since (as of the last run):"] if since else []
            lines += [f"  {name.rstrip(':')}: since #{v['run']} {_when(v['at'])}" for name, v in since.items()]
            return {"states": rows, "drift_since": since}, _styled(lines)
        return rows, _styled(lines)
    finally:
        conn.close()


def log_command(workspace, *, since: str | None, classes: list[str], component: str | None,
                limit: int) -> tuple[Any, list[str]]:
    """(JSON-ready rows, text lines) of ``trueup log``."""
    after = parse_since(since) if since else None
    conn = open_read(workspace.state_dir)
    try:
        rows = log(conn, since=after, classes=classes, component=component, limit=limit)
        return rows, _styled(render_log(rows))
    finally:
        conn.close()


def _styled(lines: list[str]) -> list[tuple[str, str | None]]:
    """Lines as trueup.output prints them: (text, style); detail lines (indented further) dim."""
    return [(line, "dim" if line.startswith("    ") else None) for line in lines]
