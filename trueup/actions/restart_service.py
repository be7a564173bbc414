"""restart: restart a component's service through its manager, then check it came back."""

from __future__ import annotations

from typing import Any

from trueup.actions.context import Context
from trueup.planner.runtime_step import runtime_spec


def run(ctx: Context, action: dict[str, Any]) -> None:
    from trueup.actions.restart import restart

    rspec = runtime_spec(ctx.spec, ctx.workspace.root)
    result = restart(rspec, save=True if action["details"].get("save") else None)
    ctx.notes.append(f"restarted {result.service} ({result.manager}, {result.where})"
                     + (f"; health reports {result.health_version}" if result.health_version else "")
                     + ("; saved the process list" if result.saved else ""))
