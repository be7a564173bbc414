"""What apply tells the operator: what it did, and what drift remains (re-observed, not assumed)."""

from __future__ import annotations

from typing import Any

from trueup.actions.apply import ApplyReport
from trueup.manifest import Workspace
from trueup.planner.render import plural


def _after(workspace: Workspace, report: ApplyReport) -> dict[str, Any]:
    """The plan of the applied components now: what drift remains, observed again rather than assumed."""
    from trueup.planner.plan import make_plan

    return make_plan(workspace, sorted({a.component for a in report.applied}), quiet=True)


def report_json(workspace: Workspace, report: ApplyReport) -> dict[str, Any]:
    """``apply --json``: what was applied, the notes, and the drift that remains (each item as plan shows it)."""
    out: dict[str, Any] = {
        "already_applied": report.already_applied,
        "applied": [{"id": a.id, "type": str(a.type), "component": a.component, "targets": list(a.targets)}
                    for a in report.applied],
        "notes": list(report.notes),
        "remaining": None,
    }
    if report.applied:
        after = _after(workspace, report)
        out["remaining"] = {"drift": after["summary"]["drift"],
                            "items": [{**item, "component": comp["name"]} for comp in after["components"]
                                      for item in comp["drift"]]}
    return out


def render_report(workspace: Workspace, report: ApplyReport) -> list[tuple[str, str | None]]:
    if report.already_applied:
        return [(f"This plan was already applied at {report.already_applied}; nothing to do.", None)]
    if not report.applied:
        return [("No actions are approved in this plan; nothing was changed.", None),
                ("Approve with: trueup approve PLAN ID... (or --all), or pass --approve ID / --approve-all.", None)]
    lines: list[tuple[str, str | None]] = [(note, None) for note in report.notes]
    counts: dict[str, int] = {}
    for action in report.applied:
        counts[str(action.type)] = counts.get(str(action.type), 0) + 1
    lines.append((f"Apply complete: {plural(len(report.applied), 'action')} applied ("
                  + ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) + ").", "bold green"))
    names = sorted({a.component for a in report.applied})
    after = _after(workspace, report)
    remaining = after["summary"]["drift"]
    if remaining:
        lines.append((f"Drift remains: {plural(remaining, 'drift item')} in {', '.join(names)}. Run trueup plan to review them.", "yellow"))
        # What is left is resolved by a new plan's actions (this plan was applied; its ids are spent).
        for comp in after["components"]:
            for item in comp["drift"]:
                if item["class"] == "runtime" and item["kind"] == "stale-process":
                    ids = [a["id"] for a in after["actions"] if a["component"] == comp["name"] and a["type"] == "restart"]
                    lines.append((f"Installed files updated. Runtime drift remains: service of {comp['name']} started "
                                  "before this install; make a new plan (trueup plan -o plan.json) and approve "
                                  + (f"its restart {ids[0]}" if ids else "a restart") + ".", "yellow"))
                if item["kind"] == "merge-conflict":
                    lines.append((f"Merge conflict in {item['path']} of {comp['name']}: your file was kept, the new "
                                  f"version is beside it as {item['expected']['beside']}. Make a new plan and approve "
                                  "keep-local (recommended), take-new or resolved-by-hand.", "yellow"))
    else:
        lines.append(("No drift remains in " + ", ".join(names) + ".", "green"))
    return lines
