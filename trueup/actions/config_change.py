"""Config actions (upgrade, accept-local, restore-source on entries of a co-owned config file)."""

from __future__ import annotations

from typing import Any

from trueup.actions.context import Context
from trueup.planner.config_step import config_home, config_item, live_path


def run(ctx: Context, action: dict[str, Any]) -> None:
    from trueup.actions.config_apply import apply_config

    item = config_item(ctx.spec, action["details"]["config"])
    commit = action["preconditions"]["source:commit"]
    version, _ = ctx.source.version(commit, ctx.spec.ref)
    result = apply_config(component=ctx.spec.name, spec=item, template=ctx.source.show(commit, item["template"]),
                          live_path=live_path(item, ctx.workspace.root), state_dir=ctx.workspace.state_dir,
                          home=config_home(), commit=commit, version=version or commit[:12],
                          option_type=action["type"], changes=action["details"]["changes"])
    what = "updated" if result.file_changed else "recorded"
    ctx.notes.append(f"{what} {len(action['targets'])} entr{'y' if len(action['targets']) == 1 else 'ies'} of {item['path']} ({action['type']})"
                     + (f"; previous file saved as {result.backup['backup']}" if result.backup else ""))
