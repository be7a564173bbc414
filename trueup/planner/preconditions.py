"""Preconditions: re-observe the facts a plan's actions were made against, describe them, check them.

Shared by apply (which refuses a stale plan) and show (which warns about one). Component-wide facts
(manifest entry, ledger, resolved commit) are observed here; every other fact by the provider its key names.
"""

from __future__ import annotations

from typing import Any

from trueup import config, files, runtime
from trueup.errors import RefusedError, TrueupError
from trueup.manifest import ComponentSpec, Workspace
from trueup.model import keys
from trueup.model.keys import FactKey
from trueup.model.plan import Action, ActionType, Plan, TargetKind
from trueup.planner.document import recorded, verify_hash
from trueup.provider import RecheckContext

PROVIDERS = {keys.FILES: files, keys.CONFIG: config, keys.RUNTIME: runtime}

_COMPONENT_FACTS = {
    keys.MANIFEST: "the component's entry in trueup.yaml",
    keys.LEDGER: "the install ledger",
    keys.SOURCE_COMMIT: "the commit the source ref resolves to",
    keys.INSTALL_DIR: "the install directory",
    keys.TREE: "the install directory's content",
}


def observe_now(spec: ComponentSpec, key: FactKey, ctx: RecheckContext) -> Any:
    """The fact ``key`` names, observed now the way plan observed it.

    Each fact is observed once per check and remembered in ``ctx.seen``: a component-wide one (the resolved
    commit, the ledger, ...) shared by 3,000 actions is one ``git rev-parse``, not 3,000, and a path's fact
    shared by a drift's alternative actions (accept-local, restore-source) is read once.
    """
    memo = (spec.name, key.provider, key.fact, key.target)
    if memo not in ctx.seen:
        ctx.seen[memo] = _observe_now(spec, key, ctx)
    return ctx.seen[memo]


def _observe_now(spec: ComponentSpec, key: FactKey, ctx: RecheckContext) -> Any:
    if key == keys.MANIFEST:
        return spec.digest
    if key == keys.LEDGER:
        from trueup.state import ledger as ledgers

        return ledgers.digest(ledgers.read_bytes(spec.install_path))
    if key == keys.SOURCE_COMMIT:
        from trueup.source import Source, repo_location

        return Source(repo_location(spec, ctx.workspace.root, ctx.workspace.state_dir)).resolve(spec.ref)
    provider = PROVIDERS.get(key.provider)
    if provider is None:
        raise RefusedError(f"plan has an unknown precondition {key.encode()!r}", hint="run trueup plan again")
    return provider.recheck(spec, key, ctx)


def describe(key: FactKey) -> str:
    if key in _COMPONENT_FACTS:
        return _COMPONENT_FACTS[key]
    if key.provider == keys.FILES:
        return f"file {key.target}"
    if key.provider == keys.RUNTIME:
        return f"the running service ({key.fact})"
    if key.provider == keys.CONFIG:
        return f"config file {key.target}" if key.fact == "sha256" else f"the ownership registry of {key.target}"
    return key.encode()


A = ActionType
# The action types a provider proposes for each kind of target (the provider that runs an action is chosen by
# its target kind): any other pair is no plan trueup made.
TYPES_FOR = {
    TargetKind.FILE: {A.ACCEPT_LOCAL, A.RESTORE_SOURCE, A.REGENERATE, A.CLEANUP_BACKUPS, A.IMPORT, A.UPGRADE},
    TargetKind.CONFIG_ENTRY: {A.ACCEPT_LOCAL, A.RESTORE_SOURCE, A.UPGRADE},
    TargetKind.SERVICE: {A.RESTART},
}


def check_targets(spec: ComponentSpec, action: Action, seen: dict | None = None) -> None:
    """Targets a plan names must be ones this workspace could ask for: declared files, entries, services; a file
    action's every path (targets, details.files, beside, outputs) as safe as a target, its upgrade ops known."""
    if action.type not in TYPES_FOR.get(action.target_kind, ()):
        raise RefusedError(f"{action.type} {action.id} of {spec.name}: no {action.target_kind} action is of type "
                           f"{action.type}; refused before any change", hint="run trueup plan again")
    if action.target_kind == TargetKind.CONFIG_ENTRY:
        if not isinstance(action.details.get("config"), str):
            raise RefusedError(f"{action.type} {action.id} of {spec.name}: details.config names no config file; "
                               "refused before any change", hint="run trueup plan again")
        config.check_targets(spec, action)
    elif action.target_kind == TargetKind.SERVICE:
        runtime.check_targets(spec, action)
    else:
        files.check_targets(spec, action, seen if seen is not None else {})


def check_lineage(plan: Plan, lineage: str | None) -> None:
    """Refuse (exit 3) a plan made for another workspace, naming both lineages."""
    if plan.lineage != lineage:
        here = f"this workspace's is {lineage}" if lineage else "this workspace has none yet (no plan was made here)"
        raise RefusedError(f"{plan.where}: plan was made for another workspace: its lineage is {plan.lineage}, {here}",
                           hint="plan again in this workspace: trueup plan -o FILE")


def check(workspace: Workspace, actions: list[Action] | tuple[Action, ...]) -> None:
    """Refuse (exit 3) when any target is out of bounds or any precondition no longer holds."""
    ctx = RecheckContext(workspace)
    root = str(workspace.root)
    for action in actions:
        spec = workspace.component(action.component)
        check_targets(spec, action, ctx.seen)
        # Sorted as FactKey orders itself, without its generated comparison (most of the cost at 10,000 actions).
        for key, expected in sorted(action.preconditions.items(), key=lambda kv: (kv[0].provider, kv[0].fact,
                                                                                   kv[0].target or "")):
            if recorded(key, observe_now(spec, key, ctx), root) != expected:
                raise RefusedError(f"plan is stale: {describe(key)} of {spec.name} changed since the plan was made; "
                                   "run trueup plan again")


def staleness_warning(plan: Plan, workspace_dir) -> tuple[str, str] | None:
    """("warning", why) when a plan no longer describes this workspace (altered, made for another one, stale);
    ("note", ...) when there is no workspace to check it against; None when it holds. show warns, never refuses.

    The workspace is the one every command uses (--workspace, TRUEUP_WORKSPACE, the current directory), never a
    path the plan names: plans are portable, and one reviewed away from its workspace is no error.
    """
    from trueup.manifest import MANIFEST_NAME, find_workspace, load_workspace
    from trueup.state import lineage as lineages

    try:
        verify_hash(plan.document, plan.where)
        root = find_workspace(workspace_dir)
        if not (root / MANIFEST_NAME).is_file():
            return ("note", f"not checked for staleness: no {MANIFEST_NAME} here (pass --workspace DIR to check)")
        workspace = load_workspace(root)
        check_lineage(plan, lineages.read(workspace.state_dir, workspace.root))
        check(workspace, plan.actions)
    except TrueupError as exc:
        return ("warning", exc.message)
    return None
