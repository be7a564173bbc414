"""What apply tells the operator: what it did, and what drift remains (re-observed, not assumed)."""

from __future__ import annotations

from typing import Any

from trueup.actions.apply import ApplyReport
from trueup.manifest import Workspace
from trueup.planner.render import plural


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
    from trueup.planner.plan import make_plan

    names = sorted({a.component for a in report.applied})
    after = make_plan(workspace, names, quiet=True)
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
