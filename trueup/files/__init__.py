"""The files provider: a component's git source, its install tree and its ledger (the last-written snapshot).

Drift classes here: source, file, local-patch, generated, backup, provenance — one module each
(source_drift, local_patch + untracked, generated, backups, provenance, secrets); actions: accept_local,
restore_source, generated (regenerate), backups (cleanup), import_install, upgrade.
"""

from __future__ import annotations

import os
from typing import Any

from trueup.errors import RefusedError
from trueup.manifest import ComponentSpec
from trueup.model.keys import INSTALL_DIR, TREE, FactKey
from trueup.model.plan import Action, ActionType, PlanWarning
from trueup.provider import ObserveContext, RecheckContext

NAME = "files"


def observe(spec: ComponentSpec, ctx: ObserveContext):
    from trueup.files.observation import observe as observe_files

    return observe_files(spec, ctx)


def diff(spec: ComponentSpec, snapshot, *, require_verified: bool = False):
    from trueup.files.drift import diff as diff_files

    return diff_files(spec, snapshot, require_verified=require_verified)


def propose(spec: ComponentSpec, snapshot, drift) -> list[Action]:
    from trueup.files.proposals import propose as propose_files

    return propose_files(spec, snapshot, drift)


def warnings(spec: ComponentSpec, snapshot) -> list[PlanWarning]:
    """What plan shows and counts but is not drift: version files that disagree inside the source."""
    from trueup.files.source_drift import source_warnings

    return source_warnings(spec.ref, snapshot.source)


def recheck(spec: ComponentSpec, key: FactKey, ctx: RecheckContext) -> Any:
    """Re-observe one files fact the way plan observed it."""
    from trueup.files import probe

    if key == INSTALL_DIR:
        return "absent-or-empty" if not probe.non_empty_dir(spec.install_path) else "present"
    if key == TREE:
        from trueup.files.globs import spec_matcher
        from trueup.files.import_install import tree_digest
        from trueup.files.tree import observe_tree

        tree = observe_tree(spec.install_path, ignore=spec_matcher(spec.ignore), secrets=spec_matcher(spec.secrets))
        return tree_digest(tree.files.items())
    if key.fact == "fact" and key.target is not None:
        from trueup.files.paths import safe_target_seen

        safe_target_seen(spec.install_path, key.target, ctx.seen)  # every parent a real directory (or absent)
        if key.target.endswith("/"):  # a directory as one item: its summary
            from trueup.files.dirs import observe_dir
            from trueup.files.globs import spec_matcher
            from trueup.files.patterns import Matcher

            return observe_dir(spec.install_path, key.target, Matcher(spec_matcher(spec.ignore)),
                               Matcher(spec_matcher(spec.secrets)))
        return probe.observe_path(os.path.join(spec.install_path, key.target)).to_json()  # type: ignore[arg-type]
    raise RefusedError(f"plan has an unknown files precondition {key.encode()!r}", hint="run trueup plan again")


def check_targets(spec: ComponentSpec, action: Action, seen: dict) -> None:
    """Every path a file action names anywhere, and its upgrade ops, checked before apply writes anything."""
    from trueup.files.validation import check_action

    check_action(spec, action, seen)


def apply(action: Action, ctx) -> None:
    from trueup.files import (accept_local, backups, conflicts, generated, import_install, leftovers, restore_source,
                              upgrade)

    if action.details.get("drift") == leftovers.DRIFT:  # a killed run's temp file, not a backup
        leftovers.run_cleanup(action, ctx)
        return
    if action.details.get("resolution"):  # keep-local, take-new or resolved-by-hand of a merge conflict
        conflicts.run(action, ctx)
        return
    runners = {
        ActionType.ACCEPT_LOCAL: accept_local.run,
        ActionType.RESTORE_SOURCE: restore_source.run,
        ActionType.REGENERATE: generated.run_regenerate,
        ActionType.CLEANUP_BACKUPS: backups.run_cleanup,
        ActionType.IMPORT: import_install.run,
        ActionType.UPGRADE: upgrade.run,
    }
    runners[action.type](action, ctx)
