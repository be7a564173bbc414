"""Refuse an approved file or config action that this trueup would not propose for the workspace as it is now.

A plan is input: anyone can edit it and recompute ``plan_hash`` (the rule is public). Preconditions catch a
world that changed since the plan; this catches a plan that was changed. Before apply writes a byte, each
approved file or config action is compared with the one trueup proposes now from a fresh observation that trusts no
memo: the ledger is parsed and validated, and every source file the plan would write is hashed from git
(not taken from ``blob-sha256.json``). What only explains or selects an action is not compared: its reason,
group, recommendation and content diffs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from attrs import evolve

from trueup import config, files
from trueup.errors import RefusedError
from trueup.manifest import ComponentSpec, Workspace
from trueup.model import keys
from trueup.model.plan import Action, ActionType, TargetKind
from trueup.provider import ObserveContext
from trueup.state import blob_memo

# The actions compared: files and config entries (a restart's preconditions are the running process, rechecked;
# its target is the declared service, checked by runtime.check_targets).
COMPARED = (TargetKind.FILE, TargetKind.CONFIG_ENTRY)


def check_proposed(workspace: Workspace, actions: list[Action], notify: Callable[[str], None] = lambda m: None) -> None:
    """Refuse (exit 3) when any approved file or config action is not, field for field, one trueup proposes now."""
    by_component: dict[str, list[Action]] = defaultdict(list)
    for action in actions:
        if action.target_kind in COMPARED:
            by_component[action.component].append(action)
    for name in sorted(by_component):
        spec = workspace.component(name)
        # An import writes no source bytes (it hashes the commit it records from git itself), and finding the
        # commit an unmanaged directory is hashes hundreds of trees: that search may use the blob memo.
        importing = any(a.type == ActionType.IMPORT for a in by_component[name])
        with_config = any(a.target_kind == TargetKind.CONFIG_ENTRY for a in by_component[name])
        proposed = {a.id: a for a in proposals_now(workspace, spec, notify, blob_memo_ok=importing,
                                                   with_config=with_config)}
        for action in by_component[name]:
            _compare(spec, action, proposed.get(action.id))


def proposals_now(workspace: Workspace, spec: ComponentSpec, notify: Callable[[str], None], *,
                  blob_memo_ok: bool = False, with_config: bool = False) -> list[Action]:
    """The file (and config) actions trueup proposes for ``spec`` now, with the component-wide preconditions."""
    # memo_dir=None: no validation memo, no packed ledger index, no blob-sha256 memo. The stat cache stays: it
    # only decides which paths may be drift, and every path an action touches was re-observed directly already.
    cache = workspace.state_dir / "cache"
    ctx = ObserveContext(workspace=workspace, cache_dir=cache, memo_dir=cache if blob_memo_ok else None, quiet=True,
                         fetch=False)  # the mirror as the plan (and the precondition check) saw it
    snap, basis = files.observe(spec, ctx)
    if not blob_memo_ok:  # the hashes just taken from git are the truth the memo must agree with
        blob_memo.check(cache, {d.entry.blob: d.sha256 for d in snap.desired.values()}, notify)
    drift = files.diff(spec, snap, require_verified=workspace.require_verified)
    proposed = files.propose(spec, snap, drift)
    if spec.require != "any":  # an upgrade to a ref require: refuses is withheld, as plan withholds it
        from trueup import provenance

        proposed = provenance.guard(spec, provenance.observe(spec, evolve(ctx, basis=basis)), proposed)
    if with_config:
        csnap = config.observe(spec, evolve(ctx, basis=basis))
        proposed += config.propose(spec, csnap, config.diff(spec, csnap))
    return [evolve(a, preconditions={**basis.preconditions, **a.preconditions}) for a in proposed]


def comparable(action: Action) -> dict[str, Any]:
    """An action as apply acts on it: everything but its prose, its selection flags and its content diffs.

    Precondition values are left out: apply re-observed each one and compared it with the plan's just before.
    """
    details = {k: v for k, v in action.details.items() if k != "diff"}
    if isinstance(details.get("files"), dict):
        details["files"] = {p: {k: v for k, v in op.items() if k != "diff"} if isinstance(op, dict) else op
                            for p, op in details["files"].items()}
    out = {"id": action.id, "type": str(action.type), "component": action.component,
           "target_kind": str(action.target_kind), "targets": list(action.targets), "gated": sorted(action.gated),
           "preconditions": sorted(keys.encode(k) for k in action.preconditions), "details": details}
    return json.loads(json.dumps(out, sort_keys=True, default=_plain))


def _plain(value: Any) -> Any:
    if hasattr(value, "items"):  # a compact ledger Entry, a mapping
        return dict(value.items())
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _compare(spec: ComponentSpec, action: Action, fresh: Action | None) -> None:
    what = f"{action.type} {action.id} of {spec.name}"
    hint = "apply only plans trueup made, with only approval flags edited; run trueup plan again"
    if fresh is None:
        raise RefusedError(f"{what} is not an action trueup proposes for the workspace as it is; "
                           "refused before any change", hint=hint)
    mine, theirs = comparable(action), comparable(fresh)
    if mine != theirs:
        field = next(k for k in sorted(theirs) if mine.get(k) != theirs.get(k))
        if field == "details":
            field += "." + next(k for k in sorted({*mine["details"], *theirs["details"]})
                                if mine["details"].get(k) != theirs["details"].get(k))
        raise RefusedError(f"{what}: {field} is not what trueup proposes for the workspace as it is; "
                           "refused before any change", hint=hint)
