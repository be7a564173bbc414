"""trueup fleet: summarise plan documents collected from many hosts (one `trueup plan --json` each).

A collection directory holds one `<host>.json` plan per host and, for a host the collector could not reach (or
whose trueup failed), a `<host>.unreachable.json` marker (written by the Ansible module in ansible/): that host's
plan, if any, is its last known one and is shown marked stale. Markers end in `.json` so that `trueup fleet plans/*.json` picks them up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trueup.errors import EXIT_DRIFT, EXIT_OK, EXIT_PARTIAL, EXIT_UNREACHABLE, PlanFileError
from trueup.planner import document as plans

MARKER_SUFFIX = ".unreachable.json"
MARKER_FORMAT = 1


def _count(component: dict[str, Any], cls: str, kind: str | None = None) -> int:
    return sum(1 for d in component["drift"] if d["class"] == cls and (kind is None or d["kind"] == kind))


def _history_count(document: dict[str, Any], component: str, kind: str) -> int:
    """How many units history warns about (a capped list ends in one warning counting the rest)."""
    from trueup.planner.render import history_warnings

    def units(w: dict[str, Any]) -> int:
        more = w.get("details", {}).get("more", 1) if isinstance(w.get("details", {}), dict) else 1
        return more if isinstance(more, int) else 1

    return sum(units(w) for w in history_warnings(document, component) if w.get("kind") == kind)


def provenance_counts(component: dict[str, Any]) -> dict[str, int] | None:
    """The component's provenance verdict as counts (verified-signed, pinned, local, mismatched, failed), from
    issue 13's provenance view; None where it is absent or found none. The table shows a `prov` column only
    when some row has them."""
    try:
        from trueup.provenance.report import fleet_counts
    except ImportError:
        return None
    return fleet_counts({"components": [component]}) or None


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for its `*.json` files (plans and markers), sorted."""
    out: list[Path] = []
    for path in paths:
        if not path.is_dir():
            out.append(path)
            continue
        found = sorted(path.glob("*.json"))
        if not found:
            raise PlanFileError(f"{path}: no plan files (*.json) in this directory",
                                hint="collect them first, e.g. with the Ansible module trueup.fleet.trueup_plan")
        out.extend(found)
    return out


def _identity(path: Path) -> tuple:
    """One identity per file, however it was spelled (./a.json, a.json, a symlink, a directory holding it)."""
    try:
        st = path.stat()
        return (st.st_dev, st.st_ino)
    except OSError:
        return (str(path.resolve()),)


def _read_marker(path: Path) -> dict[str, Any]:
    name = plans.plan_name(path)
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PlanFileError(f"{name}: not a readable unreachable-host marker ({exc.__class__.__name__})",
                            hint="delete it; the next collection writes it again if the host is still unreachable") from None
    if not (isinstance(marker, dict) and marker.get("format") == MARKER_FORMAT and isinstance(marker.get("host"), str)
            and isinstance(marker.get("since"), str)):
        raise PlanFileError(f"{name}: not an unreachable-host marker of format {MARKER_FORMAT} (format, host, since)",
                            hint="delete it; the next collection writes it again if the host is still unreachable")
    # Its strings reach a terminal: printable, one line, bounded, whatever the file holds.
    return {k: _printable(v) if isinstance(v, str) else v for k, v in marker.items()}


def _printable(text: str, limit: int = 500) -> str:
    text = "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii") for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def collect(paths: list[Path]) -> tuple[list[tuple[Path, dict[str, Any]]], dict[str, tuple[Path, dict[str, Any]]]]:
    """The distinct plan files (each read once) and the unreachable markers keyed by the plan path they stand beside."""
    seen: set[tuple] = set()
    documents: list[tuple[Path, dict[str, Any]]] = []
    markers: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in _expand(paths):
        identity = _identity(path)
        if identity in seen:
            continue
        seen.add(identity)
        if path.name.endswith(MARKER_SUFFIX):
            plan_path = path.with_name(path.name[: -len(MARKER_SUFFIX)] + ".json")
            markers[str(plan_path.resolve())] = (path, _read_marker(path))
        else:
            documents.append((path, plans.read(path)))
    # A marker given without its plan (`trueup fleet h5.unreachable.json`): the last known plan beside it counts.
    for _, (marker_path, _) in list(markers.items()):
        beside = marker_path.with_name(marker_path.name[: -len(MARKER_SUFFIX)] + ".json")
        if beside.is_file() and _identity(beside) not in seen:
            seen.add(_identity(beside))
            documents.append((beside, plans.read(beside)))
    return documents, markers


def _labels(documents: list[tuple[Path, dict[str, Any]]]) -> dict[Path, str]:
    """The host name, or `host (plan file)` where two plan files name one host (cloned machines, re-plans)."""
    by_host: dict[str, list[Path]] = {}
    for path, document in documents:
        by_host.setdefault(document["meta"]["host"], []).append(path)
    labels = {}
    for host, files in by_host.items():
        names = [p.name for p in files]
        for path in files:
            if len(files) == 1:
                labels[path] = host
            else:
                labels[path] = f"{host} ({path.name if names.count(path.name) == 1 else path})"
    return labels


def _component_row(path: Path, label: str, document: dict[str, Any], comp: dict[str, Any]) -> dict[str, Any]:
    facts = comp.get("facts", {})
    installed = facts.get("installed") or {}
    return {
        "host": document["meta"]["host"],
        "label": label,
        "plan": str(path),
        "planned_at": document["meta"].get("created_at"),
        "stale": False,
        "unreachable": None,
        "marker": None,
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
        "provenance": provenance_counts(comp),
    }


def _unreachable(marker: dict[str, Any]) -> dict[str, Any]:
    # reason: "unreachable" (no connection) or "failed" (connected, but trueup plan failed there)
    return {"reason": "failed" if marker.get("reason") == "failed" else "unreachable", "since": marker["since"],
            "last_attempt": marker.get("last_attempt") or marker["since"],
            "message": str(marker.get("message") or "unreachable")}


def _never_reached(path: Path, marker: dict[str, Any]) -> dict[str, Any]:
    """A host the collector never reached: one row, no plan, no counts."""
    return {"host": marker["host"], "label": marker["host"], "plan": None, "planned_at": None, "stale": True,
            "unreachable": _unreachable(marker), "component": None, "status": "unreachable", "installed": None,
            "source": None, "local_patches": 0, "stale_processes": 0, "unreviewed_backups": 0, "drift": 0,
            "warnings": [], "oscillating": 0, "silent_rewrites": 0, "provenance": None, "marker": str(path)}


def summarise(paths: list[Path]) -> list[dict[str, Any]]:
    """One row per host and component: versions, status, local patches, stale processes, unreviewed backups;
    a host that could not be reached keeps its last known plan's rows, marked stale."""
    documents, markers = collect(paths)
    labels = _labels(documents)
    rows = []
    for path, document in documents:
        found = markers.pop(str(path.resolve()), None)
        for comp in document["components"]:
            row = _component_row(path, labels[path], document, comp)
            if found:
                row.update(stale=True, unreachable=_unreachable(found[1]), marker=str(found[0]))
            rows.append(row)
    rows += [_never_reached(path, marker) for path, marker in markers.values()]
    # By component, so one component's versions across hosts read down a column; hosts never reached last.
    return sorted(rows, key=lambda r: (r["component"] is None, r["component"] or "", r["label"], r["plan"] or ""))


def exit_code(rows: list[dict[str, Any]]) -> int:
    """As plan's: 5 when no host could be reached, 8 when some could not (or a host's plan observed only part),
    else 2 when any host drifted, 0 when none. Warnings never count."""
    hosts: dict[str, bool] = {}
    for row in rows:
        key = row["plan"] or row["marker"]
        hosts[key] = hosts.get(key, True) and not row["stale"]
    if hosts and not any(hosts.values()):
        return EXIT_UNREACHABLE
    if not all(hosts.values()) or any(r["status"] == "unreachable" for r in rows):
        return EXIT_PARTIAL
    return EXIT_DRIFT if any(r["drift"] for r in rows) else EXIT_OK
