"""Make a plan: a loop over the providers of every selected component — observe, diff, propose — then the document."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from attrs import evolve

from trueup import config, files, history, provenance, runtime
from trueup.errors import ManifestError
from trueup.files import changed as files_changed
from trueup.files import content
from trueup.manifest import ComponentSpec, Workspace
from trueup.model.plan import Action, ComponentResult, Drift, Status
from trueup.planner import document
from trueup.planner.write_guard import planning
from trueup.provider import ObserveContext
from trueup.state import lineage as lineages
from trueup.state.atomic import remove_dead_leftovers


def _status(drift: list[Drift], ledger: dict[str, Any] | None, install_exists: bool) -> Status:
    if ledger is None:
        return Status.UNMANAGED if install_exists else Status.NOT_INSTALLED
    return Status.DRIFTED if any(d.is_drift for d in drift) else Status.CLEAN


# The providers after files, which observes the basis (source, commit, ledger) they build on.
BUILT_ON_FILES = (config, runtime, provenance)


def assess(spec: ComponentSpec, ctx: ObserveContext, require_verified: bool,
           budget: content.Budget | None = None, seen: list | None = None) -> tuple[ComponentResult, list[Action]]:
    """Drift items, status, facts and proposed actions of one component: observe, diff, propose per provider."""
    files_snap, basis = files.observe(spec, ctx)
    ctx = evolve(ctx, basis=basis)
    snapshots = {files: files_snap, **{p: p.observe(spec, ctx) for p in BUILT_ON_FILES}}
    drift_of = {files: files.diff(spec, files_snap, require_verified=require_verified),
                **{p: p.diff(spec, snapshots[p]) for p in BUILT_ON_FILES}}
    drift = [d for items in drift_of.values() for d in items]
    proposed = [a for p, snap in snapshots.items() for a in p.propose(spec, snap, drift_of[p])]
    # require: withholds an upgrade to a ref it refuses; a moved tag's upgrade is filed under it, not recommended.
    proposed = provenance.guard(spec, snapshots[provenance], proposed)
    # An upgrade changes what the declared service runs: the same plan carries the restart it will need.
    proposed = runtime.with_upgrade(spec, snapshots[runtime], proposed)
    # What each file action changes, as content: read only for the paths drift names, within the plan's budget.
    # (the merge is tried on copies in the state dir's cache, the only place plan writes)
    scratch = merge_scratch(ctx.memo_dir)
    diffs = content.diffs(spec, basis.source, files_snap, proposed, scratch, budget or content.Budget())
    # Every action is also checked against the component-wide facts: its manifest entry, ledger and commit.
    actions = [evolve(a, preconditions={**basis.preconditions, **a.preconditions},
                      **({"details": {**a.details, "diff": d}} if d else {})) for a, d in zip(proposed, diffs)]
    # Shown and counted, never drift: what no action here could change (version files disagreeing upstream).
    warnings = sorted((w for p, snap in snapshots.items() for w in p.warnings(spec, snap)), key=lambda w: w.sort_key())

    status = _status(drift, files_snap.ledger, files_snap.install_exists)
    unobserved = runtime.unobserved(snapshots[runtime])
    if unobserved is not None:
        # Files were observed, the running service was not: the component's truth is incomplete.
        status = Status.UNREACHABLE
    ledger = files_snap.ledger
    facts: dict[str, Any] = {
        "install_path": str(spec.install_path),
        "source": {"repo": spec.repo, "ref": spec.ref, "commit": basis.commit, "version": basis.version},
        "installed": {"commit": ledger["source"]["commit"], "version": ledger["version"]} if ledger else None,
        # An orphaned patch (files/local_patch.py) is kept, not accepted: it is drift until the operator decides.
        "accepted": sorted(p for p, r in ledger["accepted"].items() if "orphaned" not in r) if ledger else [],
    }
    for provider in BUILT_ON_FILES:
        facts.update(provider.facts(snapshots[provider]))
    if seen is not None:  # what history records of this component, once every component is observed
        seen.append(history.Observed(spec.name, files_snap.blocks, snapshots[config], snapshots[runtime], tuple(drift),
                                     files_snap.delta))
    return ComponentResult(spec.name, status, drift, facts, unobserved, warnings), actions


def merge_scratch(memo_dir: Path | None) -> Path:
    """Where a plan's merge previews run: the state dir's cache, or (read-only) the system temp dir."""
    return (memo_dir or Path(tempfile.gettempdir())) / f"trueup-diff-merge-{os.getpid()}"


NO_LINEAGE = "00000000-0000-0000-0000-000000000000"  # a read-only plan of a workspace never planned before


def make_plan(workspace: Workspace, names: list[str] | None = None, *, use_cache: bool = True,
              quiet: bool = False, read_only: bool = False, changed: dict[str, Any] | None = None,
              fetch: bool = True) -> dict[str, Any]:
    """The plan document. ``read_only`` (the MCP server's plan) writes nothing of its own: no lineage, stat
    cache, memos, history or leftover cleanup — only a remote source's mirror is refreshed, as any plan does.
    ``changed``: trueup watch's file events per install root (trueup.files.changed), so unchanged directories
    are not even listed; ``fetch`` False: a remote source's mirror as it is (watch fetches on its poll, not per edit)."""
    if changed is None:
        changed = files_changed.served()  # a `trueup plan` trueup watch runs for its caller: fed by its events
    specs = [workspace.component(n) for n in names] if names else list(workspace.components)
    if not specs:
        raise ManifestError(f"{workspace.manifest_path.name}: no components to plan",
                            hint="add a component under components:")
    # --no-cache turns off the stat cache only: the content-addressed memos there (ledger validity, git blob
    # hashes) are keyed by a digest of what they describe, so they cannot be stale.
    memo_dir = None if read_only else workspace.state_dir / "cache"
    ctx = ObserveContext(workspace=workspace, cache_dir=memo_dir if use_cache else None, memo_dir=memo_dir, quiet=quiet,
                         changed=changed, fetch=fetch)
    results: list[ComponentResult] = []
    actions: list[Action] = []
    # The workspace's first plan makes its lineage: before the guard, which allows writes to cache and sources only.
    if read_only:
        lineage = lineages.read(workspace.state_dir, workspace.root) or NO_LINEAGE
    else:
        lineage = lineages.ensure(workspace.state_dir, workspace.root)
        remove_dead_leftovers(workspace.state_dir)  # a killed run's temp files and scratch dirs: trueup's own, incomplete
    budget = content.Budget()
    seen: list[history.Observed] | None = None if read_only else []
    # gettempdir() probes the temp dir by writing a file: outside the guard. Read-only, merge previews go there.
    also = (merge_scratch(None),) if read_only else ()
    with planning(workspace.state_dir, also):
        for spec in specs:
            result, proposed = assess(spec, ctx, workspace.require_verified, budget, seen)
            results.append(result)
            actions += proposed
    built = document.build(workspace.root, lineage, results, actions)
    if seen is None:
        return built
    # After the guard: the history database is trueup's own record of what was observed (never fails a plan).
    recorded = history.record(workspace, seen, full_hash=not use_cache)
    return recorded.finish(built)
