"""Record one plan's observations in the history store and read back what the plan shows of them:
history warnings (oscillating, silent-rewrite) per component, and since when each drift item exists.

Only what changed is written. Files are compared directory by directory: the walk's packed block of a
directory the stat cache found unchanged has the same bytes as last run, so its files are not decoded
(and when no block changed at all, nothing about files is even read from the database). In trueup watch, a walk
fed by events names the directories it redid (WalkDelta): only those are digested and compared (history/kept.py).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from attrs import define, field

from trueup.history import classes as C
from trueup.history import kept
from trueup.history import units as U
from trueup.state import history as store

Key = tuple[str, str]


@define
class ComponentRecord:
    """What one run recorded of one component: the changes, for the plan's warnings and ``since``."""

    name: str
    first: bool  # the component's first run: every state is a baseline
    changes: int = 0
    since: dict[str, dict[str, Any]] = field(factory=dict)


class Recorder:
    def __init__(self, conn: sqlite3.Connection, run: int, at: str, window: int = C.WINDOW) -> None:
        self.conn, self.run, self.at, self.window = conn, run, at, window

    # ---- one unit's change -------------------------------------------------------------------------------

    def _unit_id(self, component: str, kind: str, name: str, directory: str | None) -> int:
        cur = self.conn.execute("INSERT INTO units(component, kind, name, dir) VALUES(?, ?, ?, ?)",
                                (component, kind, name, directory))
        return int(cur.lastrowid)

    def _window_states(self, unit: int) -> list[tuple[int, str | None, int | None]]:
        """(first run, state, last run) of the unit's states seen within the window, oldest first."""
        start = self.run - self.window + 1
        return self.conn.execute("SELECT run, state, last_run FROM states WHERE unit=? AND "
                                 "(last_run IS NULL OR last_run>=?) ORDER BY run", (unit, start)).fetchall()

    def change(self, rec: ComponentRecord, prev_run: int | None, applies: list[dict[str, Any]], unit: int | None,
               kind: str, name: str, directory: str | None, new: str | None, detail: dict[str, Any],
               extra: list[str] = (), prev_stat: dict[str, Any] | None = None) -> list[str]:
        """Write a unit's new state; returns its classes. ``prev_stat``: a file's size and times at the last run
        (its state row keeps them as first seen; a silent rewrite is judged against the run just before)."""
        conn = self.conn
        prev_detail = None
        prev_state = None
        if unit is None:
            unit = self._unit_id(rec.name, kind, name, directory)
        else:
            row = conn.execute("SELECT state, detail FROM states WHERE unit=? AND last_run IS NULL", (unit,)).fetchone()
            if row is not None:
                prev_state, prev_detail = row[0], json.loads(row[1]) if row[1] else None
                if prev_detail is not None and prev_stat:
                    prev_detail.update(prev_stat)
        by = None
        if rec.first:
            classes = [C.BASELINE]
        elif kind == U.DRIFT:
            classes = []  # drift items are tracked for ``since`` only
        else:
            if kind == U.SERVICE and new == prev_state:  # the same service under a new process
                classes = [C.RESTARTED, *extra]
            else:
                classes = [C.change_kind(prev_state, new), *extra]
            if kind == U.FILE:
                classes += C.file_rewrite(prev_detail, detail)
            if C.returns_to_earlier([s for _, s, _ in self._window_states(unit)], new):
                classes.append(C.OSCILLATING)
            if kind != U.DRIFT:
                by = attribute(kind, name, applies, detail)
                if by is None:
                    classes.append(C.OUTSIDE)
        conn.execute("UPDATE states SET last_run=? WHERE unit=? AND last_run IS NULL", (prev_run, unit))
        conn.execute("INSERT INTO states(unit, run, state, detail, classes, by) VALUES(?, ?, ?, ?, ?, ?)",
                     (unit, self.run, new, json.dumps(detail, sort_keys=True) if detail else None,
                      ",".join(dict.fromkeys(classes)), by))
        until = 0
        if not rec.first and kind != U.DRIFT:
            rows = [r[:2] for r in self._window_states(unit)] + [(self.run, new)]
            was = (conn.execute("SELECT flap_until FROM units WHERE id=?", (unit,)).fetchone()[0] or 0) > self.run - 1
            until = C.flap_until(rows, self.run, self.window, was)
        conn.execute("UPDATE units SET cur=?, flap_until=? WHERE id=?", (new, until, unit))
        # The classes plans warn about, indexed apart: a plan reads its warnings without scanning every state row
        # of its window (a baseline of 100k files is one run's rows).
        conn.executemany("INSERT INTO events(run, unit, class) VALUES(?, ?, ?)",
                         [(self.run, unit, c) for c in dict.fromkeys(classes) if c in C.WARNED])
        if kind != U.DRIFT and not rec.first:
            rec.changes += 1
        return classes

    # ---- sets of units compared in full (config entries, service, drift items) ---------------------------

    def compare_all(self, rec: ComponentRecord, prev_run, applies, kinds: tuple[str, ...],
                    now: dict[Key, tuple[str | None, dict]], skip: tuple[str, ...] = ()) -> None:
        """Compare every unit of ``kinds`` with ``now``; units named under a ``skip`` prefix were not observed."""
        known = {(k, n): (i, s) for i, k, n, s in self.conn.execute(
            f"SELECT id, kind, name, cur FROM units WHERE component=? AND kind IN ({','.join('?' * len(kinds))})",
            (rec.name, *kinds)) if not (skip and n.startswith(skip))}
        for key in sorted(now.keys() | {k for k, (_, s) in known.items() if s is not None}):
            unit, old = known.get(key, (None, None))
            new, detail = now.get(key, (None, {}))
            # A service restarted under the same definition: a new process is a change worth a row.
            restarted = key[0] == U.SERVICE and new is not None and new == old and self._process_moved(unit, detail)
            if unit is not None and new == old and not restarted:
                continue
            self.change(rec, prev_run, applies, unit, key[0], key[1], None, new, detail)

    def drift(self, rec: ComponentRecord, prev_run, present: set[str]) -> None:
        """The drift items seen now (for ``since``): present or gone, batched — a plan may carry thousands."""
        conn, run = self.conn, self.run
        known = {n: (i, s) for i, n, s in conn.execute(
            "SELECT id, name, cur FROM units WHERE component=? AND kind=? AND cur IS NOT NULL", (rec.name, U.DRIFT))}
        for chunk in _chunks(sorted(present - known.keys())):  # back again: the unit exists, gone since
            known.update({n: (i, None) for i, n in conn.execute(
                f"SELECT id, name FROM units WHERE component=? AND kind=? AND name IN ({','.join('?' * len(chunk))})",
                (rec.name, U.DRIFT, *chunk))})
        new_names = sorted(present - known.keys())
        conn.executemany("INSERT INTO units(component, kind, name) VALUES(?, ?, ?)",
                         [(rec.name, U.DRIFT, n) for n in new_names])
        for chunk in _chunks(new_names):
            known.update({n: (i, None) for i, n in conn.execute(
                f"SELECT id, name FROM units WHERE component=? AND kind=? AND name IN ({','.join('?' * len(chunk))})",
                (rec.name, U.DRIFT, *chunk))})
        moves = [(known[n][0], "present" if n in present else None) for n in sorted(known)
                 if (known[n][1] == "present") != (n in present)]
        classes = C.BASELINE if rec.first else ""
        conn.executemany("UPDATE states SET last_run=? WHERE unit=? AND last_run IS NULL", [(prev_run, u) for u, _ in moves])
        conn.executemany("INSERT INTO states(unit, run, state, classes) VALUES(?, ?, ?, ?)",
                         [(u, run, state, classes) for u, state in moves])
        conn.executemany("UPDATE units SET cur=? WHERE id=?", [(state, u) for u, state in moves])

    def _process_moved(self, unit: int | None, detail: dict[str, Any]) -> bool:
        if unit is None:
            return False
        row = self.conn.execute("SELECT detail FROM states WHERE unit=? AND last_run IS NULL", (unit,)).fetchone()
        before = json.loads(row[0]) if row and row[0] else {}
        return any(before.get(k) != detail.get(k) for k in ("pid", "started_at"))

    # ---- files, directory by directory ------------------------------------------------------------------

    def files(self, rec: ComponentRecord, prev_run, applies, blocks: bytes, delta=None,
              keep: tuple[str, str] | None = None) -> kept.Pending | None:
        """Record the files the walk's ``blocks`` hold; returns what trueup watch may keep of them once committed
        (``keep``: the key they are kept under, None outside watch). ``delta``: trueup.files.changed.WalkDelta."""
        last = kept.get(keep)
        row = self.conn.execute("SELECT tree FROM components WHERE name=?", (rec.name,)).fetchone()
        if (last is not None and delta is not None and delta.base == last.stamp and last.run == prev_run
                and row is not None and row[0] == last.tree):
            redone = self._files_redone(rec, prev_run, applies, blocks, delta, keep, last)
            if redone is not None:
                return redone
        raw = U.dir_digests(blocks)
        digest = U.tree_digest(raw)
        same = row is not None and row[0] == digest  # not one directory changed: nothing about files to read or write
        if same and keep is None:
            return None
        dirs = {U.prefix_text(p): v for p, v in raw.items()}
        remember = None if keep is None else kept.Pending(keep, delta.stamp if delta is not None else None, self.run,
                                                            digest, dirs={p: v[0] for p, v in dirs.items()})
        if same:
            return remember
        before = dict(self.conn.execute("SELECT prefix, digest FROM dirs WHERE component=?", (rec.name,)))
        moved = sorted(p for p in dirs.keys() | before.keys() if (dirs[p][0] if p in dirs else None) != before.get(p))
        self._moved(rec, prev_run, applies, blocks, dirs, moved, before, digest)
        return remember

    def _files_redone(self, rec: ComponentRecord, prev_run, applies, blocks: bytes, delta, keep: tuple[str, str],
                      last: kept.Files) -> kept.Pending | None:
        """``files`` from the directories a walk fed by events redid: every other block is the one recorded
        (None, nothing written: the delta does not add up to its walk, compare everything)."""
        now = {}
        for prefix in delta.redone:
            at = delta.offsets.get(prefix)
            if at is not None:
                now[prefix] = (U.block_digest(blocks, at)[1], at)
        # A directory that came (or went) without being named redone would be missed for good: a delta that does not
        # add up to its walk's directories is not trusted (what WalkDelta promises, checked where it costs nothing).
        came = sum(p not in last.dirs for p in now)
        gone = sum(p in last.dirs for p in delta.redone if p not in now)
        if len(last.dirs) + came - gone != len(delta.offsets):
            return None
        moved = sorted(p for p in delta.redone if (now[p][0] if p in now else None) != last.dirs.get(p))
        digest = U.tree_moved(last.tree, [last.dirs[p] for p in moved if p in last.dirs],
                              [now[p][0] for p in moved if p in now])
        if digest != last.tree:  # as the full comparison: the same tree digest, nothing to read or write
            self._moved(rec, prev_run, applies, blocks, now, moved, last.dirs, digest)
        return kept.Pending(keep, delta.stamp, self.run, digest,
                            moved={p: now[p][0] if p in now else None for p in moved})

    def _moved(self, rec: ComponentRecord, prev_run, applies, blocks: bytes, dirs: dict[str, tuple],
               moved: list[str], before, digest: bytes) -> None:
        """Record the directories that ``moved`` (``dirs``: prefix → (digest, offset) of each that is there now;
        ``before``: the prefixes recorded last run)."""
        conn = self.conn
        previous = self._previous_stats(rec.name, [p for p in moved if p in before])
        # Within a directory that moved, only entries whose lstat moved (or that came or went) are looked at.
        candidates: list[tuple[str, str, int | None]] = []  # (path, dir, index in its block now or None: gone)
        for prefix in moved:
            old, now = previous.get(prefix, {}), dirs.get(prefix)
            names: set[str] = set()
            if now is not None:
                for name, packed, index in U.block_entries(blocks, now[1]):
                    names.add(name)
                    if old.get(name) != packed:
                        candidates.append((prefix + name, prefix, index))
            candidates += [(prefix + name, prefix, None) for name in old.keys() - names]
        known = self._units_named(rec.name, [c[0] for c in candidates])
        touched: list[tuple[str | None, int]] = []
        pending: list[tuple] = []
        for path, prefix, index in sorted(candidates):
            unit, old, old_key, until = known.get(path, (None, None, None, 0))
            got = U.entry_at(blocks, dirs[prefix][1], index) if index is not None else None
            key, (new, detail) = (got[0], U.file_state(*got[1])) if got else (None, (None, {}))
            if unit is None and new is None:
                continue  # an ignored entry, or one that never was a unit
            if unit is not None and new == old:
                if key != old_key:  # touched, not changed: remember the stat a silent rewrite is judged by
                    touched.append((key, unit))
                continue
            pending.append((unit, path, prefix, old, new, detail, key, U.parse_stat(old_key), until))
        changes = self._file_changes(rec, prev_run, applies, pending)
        conn.executemany("UPDATE units SET stat=? WHERE id=?", touched)
        conn.executemany("DELETE FROM dirs WHERE component=? AND prefix=?",
                         [(rec.name, p) for p in moved if p not in dirs])
        conn.executemany("INSERT INTO dirs(component, prefix, digest, stats) VALUES(?, ?, ?, ?) "
                         "ON CONFLICT(component, prefix) DO UPDATE SET digest=excluded.digest, stats=excluded.stats",
                         [(rec.name, p, dirs[p][0], U.block_stats(blocks, dirs[p][1])) for p in moved if p in dirs])
        conn.execute("UPDATE components SET tree=? WHERE name=?", (digest, rec.name))
        added = [path for path, old, new, _ in changes if old is None and new is not None]
        removed = [path for path, old, new, _ in changes if new is None and old is not None]
        modified = [got for _, old, new, got in changes if old is not None and new is not None]
        if changes:
            fp_delta = sum(U.member_hash(path, new) - U.member_hash(path, old) for path, old, new, _ in changes)
            silent = sum(C.SILENT_REWRITE in got for got in modified)
            self._component(rec, prev_run, applies, fp_delta, added, removed, len(modified), silent)

    def _previous_stats(self, component: str, prefixes: list[str]) -> dict[str, dict[str, bytes]]:
        """{dir: {name: packed lstat}} as the last run recorded them."""
        out: dict[str, dict[str, bytes]] = {}
        for chunk in _chunks(prefixes):
            for prefix, stats in self.conn.execute(
                    f"SELECT prefix, stats FROM dirs WHERE component=? AND prefix IN ({','.join('?' * len(chunk))})",
                    (component, *chunk)):
                out[prefix] = U.stats_by_name(stats) if stats else {}
        return out

    def _units_named(self, component: str, paths: list[str]) -> dict[str, tuple]:
        """{path: (unit, current state, stat key, flap_until)} of the file units among ``paths``."""
        out: dict[str, tuple] = {}
        for chunk in _chunks(paths):
            for i, name, cur, stat, until in self.conn.execute(
                    f"SELECT id, name, cur, stat, flap_until FROM units WHERE component=? AND kind=? AND name IN "
                    f"({','.join('?' * len(chunk))})", (component, U.FILE, *chunk)):
                out[name] = (i, cur, stat, until)
        return out

    def window_rows(self, units: list[int], with_detail: bool = False) -> dict[int, list[tuple]]:
        """(first run, state, last run[, detail]) of each unit's states seen within the window, oldest first."""
        start = self.run - self.window + 1
        out: dict[int, list[tuple]] = {}
        columns = "unit, run, state, last_run" + (", detail" if with_detail else "")
        for chunk in _chunks(units):
            for unit, *rest in self.conn.execute(
                    f"SELECT {columns} FROM states WHERE unit IN ({','.join('?' * len(chunk))}) AND "
                    "(last_run IS NULL OR last_run>=?) ORDER BY unit, run", (*chunk, start)):
                out.setdefault(unit, []).append(tuple(rest))
        return out

    def _file_changes(self, rec: ComponentRecord, prev_run, applies, pending: list[tuple]) -> list[tuple]:
        """Write many files' new states at once (the statements of ``change``, batched); returns
        (path, old state, new state, classes) of each."""
        conn, run = self.conn, self.run
        ids = [item[0] for item in pending if item[0] is not None]
        windows = self.window_rows(ids, with_detail=True) if not rec.first else {}
        out, states, units, events = [], [], [], []
        for unit, path, prefix, old, new, detail, key, prev_stat, until in pending:
            existed = unit is not None
            if not existed:
                unit = self._unit_id(rec.name, U.FILE, path, prefix)
            by, flap = None, 0
            if rec.first:
                classes = [C.BASELINE]
            else:
                rows = windows.get(unit, [])
                classes = [C.change_kind(old, new)]
                prev = None
                if prev_stat and detail and (prev_stat["size"], prev_stat["mtime"]) == (detail.get("size"), detail.get("mtime")):
                    current = next((r[3] for r in rows if r[2] is None), None)  # the state row seen until now
                    prev = {**json.loads(current), **prev_stat} if current else None
                classes += C.file_rewrite(prev, detail)
                if C.returns_to_earlier([r[1] for r in rows], new):
                    classes.append(C.OSCILLATING)
                by = attribute(U.FILE, path, applies, detail)
                if by is None:
                    classes.append(C.OUTSIDE)
                rec.changes += 1
                flap = C.flap_until([r[:2] for r in rows] + [(run, new)], run, self.window, (until or 0) > run - 1)
            classes = list(dict.fromkeys(classes))
            states.append((unit, run, new, json.dumps(detail, sort_keys=True) if detail else None, ",".join(classes), by))
            units.append((new, key, flap, unit))
            events += [(run, unit, c) for c in classes if c in C.WARNED]
            out.append((path, old, new, classes))
        conn.executemany("UPDATE states SET last_run=? WHERE unit=? AND last_run IS NULL",
                         [(prev_run, unit) for unit in ids])
        conn.executemany("INSERT INTO states(unit, run, state, detail, classes, by) VALUES(?, ?, ?, ?, ?, ?)", states)
        conn.executemany("UPDATE units SET cur=?, stat=?, flap_until=? WHERE id=?", units)
        conn.executemany("INSERT INTO events(run, unit, class) VALUES(?, ?, ?)", events)
        return out

    def _component(self, rec, prev_run, applies, fp_delta, added, removed, changed, silent) -> None:
        """The component as one unit: its fingerprint over member set and facts, and how the set moved."""
        row = self.conn.execute("SELECT id, cur FROM units WHERE component=? AND kind=? AND name=''",
                                (rec.name, U.COMPONENT)).fetchone()
        unit, old = (row[0], row[1]) if row else (None, None)
        new = f"{(int(old or '0', 16) + fp_delta) % U.MOD:032x}"
        last = self.conn.execute("SELECT detail FROM states WHERE unit=? AND last_run IS NULL",
                                 (unit,)).fetchone() if unit is not None else None
        if last and last[0] and "members" in json.loads(last[0]):  # counted as it moves: no scan of every file
            members = json.loads(last[0])["members"] + len(added) - len(removed)
        else:
            members = self.conn.execute("SELECT count(*) FROM units WHERE component=? AND kind=? AND cur IS NOT NULL",
                                        (rec.name, U.FILE)).fetchone()[0]
        detail = {"members": members, "added": sorted(added)[:50], "removed": sorted(removed)[:50],
                  "n_added": len(added), "n_removed": len(removed), "n_changed": changed}
        extra = [c for c in [C.membership(added, removed)] if c]
        if changed and silent == changed and not added and not removed:
            extra.append(C.SILENT_REWRITE)  # same members, new internals, and no timestamp shows it
        self.change(rec, prev_run, applies, unit, U.COMPONENT, "", None, new, detail, extra)


def _chunks(items: list, size: int = 500):
    """Slices that fit in one statement's parameters (SQLite allows 999 in older builds)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def attribute(kind: str, name: str, applies: list[dict[str, Any]], detail: dict[str, Any] | None = None) -> str | None:
    """The trueup apply (``plan_hash[:12]:action``) that made a unit's change, or None: it came from outside.

    Applies and outside edits between the same two runs are told apart by what the action names and, for
    an action that covers a whole tree (import, upgrade), by the ledger: only a file now equal to what trueup
    recorded writing (or one that is gone) can be its doing; one that differs, or is untracked, came after."""
    for entry in reversed(applies):
        targets, type_ = entry["targets"], entry["type"]
        if kind == U.FILE:
            broad = type_ in ("upgrade", "import") or len(targets) >= 50
            hit = (name in targets or any(t.endswith("/") and name.startswith(t) for t in targets)
                   or (broad and (not detail or detail.get("ledger") == "equal")))
        elif kind == U.CONFIG:
            entry_key = name.split(":", 1)[-1]
            hit = type_ in ("upgrade", "accept-local", "restore-source") and (entry_key in targets or type_ == "upgrade"
                                                                              or name.rsplit(":", 1)[-1] in targets)
        elif kind == U.SERVICE:
            hit = type_ == "restart"
        else:  # a component changes when its files do: any apply of files in between
            hit = type_ != "restart"
        if hit:
            return f"{(entry['plan_hash'] or '')[:12]}:{entry['action']}"
    return None
