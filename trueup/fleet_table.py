"""The fleet summary as plain text lines: one row a line, aligned columns, no box drawing.

On a terminal the table fits its width (long host, component and version cells are shortened in the middle);
piped (width None) every cell is whole, so `trueup fleet … | grep web-3` finds whole names.
"""

from __future__ import annotations

from typing import Any

from trueup.output import Line

_GAP = "  "
_ELLIPSIS = "…"


def _version(row: dict[str, Any]) -> str:
    installed, source = row["installed"], row["source"]
    if installed and source and installed != source:
        return f"{installed}->{source}"  # ASCII: a pipe into any locale stays readable
    return installed or (f"->{source}" if source else "-")


STALE = " (stale)"  # after the host, never shortened away


def _host(row: dict[str, Any]) -> str:
    return row["label"] + (STALE if row["stale"] and row["plan"] else "")


def _provenance(row: dict[str, Any]) -> str:
    counts = row.get("provenance") or {}  # one component a row: usually one verdict, counted once
    names = {"verified-signed": "signed"}  # fits the header's width (--json keeps the full name)
    return " ".join(names.get(k, k) if v == 1 else f"{names.get(k, k)}:{v}" for k, v in sorted(counts.items()) if v) or "-"


# (header, row → cell, right-aligned, shrinkable down to this width or None)
COLUMNS = [
    ("host", _host, False, 8),
    ("component", lambda r: r["component"] or "-", False, 8),
    ("status", lambda r: r["status"], False, None),
    ("version", _version, False, 7),
    ("patch", lambda r: str(r["local_patches"]), True, None),
    ("stale", lambda r: str(r["stale_processes"]), True, None),
    ("bak", lambda r: str(r["unreviewed_backups"]), True, None),
    ("warn", lambda r: str(len(r["warnings"])), True, None),
    ("hist", lambda r: str(r["oscillating"] + r["silent_rewrites"]), True, None),
]
PROVENANCE = ("provenance", _provenance, False, 8)
LEGEND = ("patch: local patches  stale: stale processes  bak: unreviewed backups",
          "warn: warnings (listed below)  hist: units oscillating or silently rewritten")


def _shorten(text: str, width: int) -> str:
    """Cut in the middle, keeping more of the head: a host's first label (web-3.eu-west…) tells hosts apart most."""
    if len(text) <= width:
        return text
    head = (2 * (width - 1) + 2) // 3
    return text[:head] + _ELLIPSIS + text[len(text) - (width - 1 - head):]


def _cell(text: str, width: int) -> str:
    if text.endswith(STALE) and len(text) > width:
        return _shorten(text[: -len(STALE)], width - len(STALE)) + STALE
    return _shorten(text, width)


def _fit(widths: list[int], columns: list, width: int, gap: str) -> list[int]:
    """Shrink the widest shrinkable column, one character at a time, until the table fits (or nothing can)."""
    widths = list(widths)
    floor = [None if c[3] is None else max(c[3], len(c[0])) for c in columns]  # a header stays whole
    floor[0] = max(floor[0], 4 + len(STALE))
    total = sum(widths) + len(gap) * (len(widths) - 1)
    while total > width:
        candidates = [i for i, f in enumerate(floor) if f is not None and widths[i] > f]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: (widths[i] - floor[i], -i))
        widths[widest] -= 1
        total -= 1
    return widths


def table(rows: list[dict[str, Any]], width: int | None) -> list[Line]:
    """The table's lines, then the legend, the unreachable hosts and every warning."""
    columns = COLUMNS + ([PROVENANCE] if any(r.get("provenance") for r in rows) else [])
    cells = [[column[1](row) for column in columns] for row in rows]
    widths = [max([len(column[0])] + [len(line[i]) for line in cells]) for i, column in enumerate(columns)]
    gap = _GAP
    if width is not None:
        fitted = _fit(widths, columns, width, gap)
        if sum(fitted) + len(gap) * (len(fitted) - 1) > width:
            gap = " "  # still too wide: one space between columns before giving up on the width
            fitted = _fit(widths, columns, width, gap)
        widths = fitted

    def line(values: list[str]) -> str:
        parts = [_cell(v, w).rjust(w) if c[2] else _cell(v, w).ljust(w) for v, w, c in zip(values, widths, columns)]
        return gap.join(parts).rstrip()

    out: list[Line] = [(line([c[0] for c in columns]), "bold")]
    for row, values in zip(rows, cells):
        style = "yellow" if row["stale"] else ("red" if row["drift"] else None)
        out.append((line(values), style))
    if not rows:
        out.append(("(no plans)", "dim"))
    out += [(text, "dim") for text in LEGEND]
    return out + notes(rows)


def notes(rows: list[dict[str, Any]]) -> list[Line]:
    """Below the table, whole (never shortened): each unreachable host, then each warning."""
    out: list[Line] = []
    done = set()
    for row in rows:
        if row["unreachable"] and (row["plan"], row["label"]) not in done:
            done.add((row["plan"], row["label"]))
            gone = row["unreachable"]
            known = (f"showing its last known plan ({row['plan']}, planned {row['planned_at']})" if row["plan"]
                     else "no plan of it was ever collected")
            out.append((f"{gone['reason']}: {row['label']} since {gone['since']} (last attempt {gone['last_attempt']}: "
                        f"{gone['message']}); {known}", "yellow"))
    out += [(f"warning: {r['label']} {r['component']}: {message}", "yellow") for r in rows for message in r["warnings"]]
    return out
