"""trueup fleet: summarise plan documents collected from many hosts (one `trueup plan --json` each)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup.planner import document as plans


def _count(component: dict[str, Any], cls: str, kind: str | None = None) -> int:
    return sum(1 for d in component["drift"] if d["class"] == cls and (kind is None or d["kind"] == kind))


def _history_count(document: dict[str, Any], component: str, kind: str) -> int:
    """How many units history warns about (a capped list ends in one warning counting the rest)."""
    from trueup.planner.render import history_warnings

    def units(w: dict[str, Any]) -> int:
        more = w.get("details", {}).get("more", 1) if isinstance(w.get("details", {}), dict) else 1
        return more if isinstance(more, int) else 1

    return sum(units(w) for w in history_warnings(document, component) if w.get("kind") == kind)


def summarise(paths: list[Path]) -> list[dict[str, Any]]:
    """One row per host and component: versions, status, local patches, stale processes, unreviewed backups."""
    rows = []
    for path in paths:
        document = plans.read(path)
        for comp in document["components"]:
            facts = comp.get("facts", {})
            installed = facts.get("installed") or {}
            rows.append({
                "host": document["meta"]["host"],
                "plan": str(path),
                "component": comp["name"],
                "status": comp["status"],
                "installed": installed.get("version") or (installed.get("commit") or "")[:12] or None,
                "source": (facts.get("source") or {}).get("version"),
                "local_patches": _count(comp, "local-patch") + len(facts.get("accepted", [])),
                "stale_processes": _count(comp, "runtime", "stale-process"),
                "unreviewed_backups": _count(comp, "backup", "unacknowledged"),
                "drift": len(comp["drift"]),
                # Shown, never counted as drift (no --strict here): what the host cannot change, e.g. its source's
                # version files disagreeing.
                "warnings": [w["message"] for w in comp.get("warnings", [])],
                # From the host's history (meta.history): units flipping between states, files rewritten unseen.
                "oscillating": _history_count(document, comp["name"], "oscillating"),
                "silent_rewrites": _history_count(document, comp["name"], "silent-rewrite"),
            })
    return sorted(rows, key=lambda r: (r["component"], r["host"], r["plan"]))


def render(rows: list[dict[str, Any]]):
    from rich.table import Table

    table = Table(title="trueup fleet", show_lines=False)
    for column in ("host", "component", "status", "installed", "source", "local patches", "stale processes",
                   "unreviewed backups", "oscillating", "silent rewrites", "warnings"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["host"], r["component"], r["status"], r["installed"] or "-", r["source"] or "-",
                      str(r["local_patches"]), str(r["stale_processes"]), str(r["unreviewed_backups"]),
                      str(r["oscillating"]), str(r["silent_rewrites"]), str(len(r["warnings"])))
    notes = [f"warning: {r['host']} {r['component']}: {message}" for r in rows for message in r["warnings"]]
    if not notes:
        return table
    from rich.console import Group
    from rich.text import Text

    return Group(table, *(Text(note, style="yellow") for note in notes))
