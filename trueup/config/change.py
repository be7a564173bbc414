"""Config actions (upgrade, accept-local, restore-source on entries of a co-owned config file)."""

from __future__ import annotations

from trueup.config.apply_changes import apply_config
from trueup.config.locate import config_home, config_item, live_path
from trueup.model.keys import SOURCE_COMMIT
from trueup.model.plan import Action
from trueup.provider import ApplyContext


def run(action: Action, ctx: ApplyContext) -> None:
    item = config_item(ctx.spec, action.details["config"])
    commit = action.preconditions[SOURCE_COMMIT]
    version, _ = ctx.source.version(commit, ctx.spec.ref)
    result = apply_config(component=ctx.spec.name, spec=item, template=ctx.source.show(commit, item["template"]),
                          live_path=live_path(item, ctx.workspace.root), state_dir=ctx.workspace.state_dir,
                          home=config_home(), commit=commit, version=version or commit[:12],
                          option_type=action.type, changes=action.details["changes"])
    what = "updated" if result.file_changed else "recorded"
    n = len(action.targets)
    ctx.notes.append(f"{what} {n} entr{'y' if n == 1 else 'ies'} of {item['path']} ({action.type})"
                     + (f"; previous file saved as {result.backup['backup']}" if result.backup else ""))
