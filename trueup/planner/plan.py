"""Make a plan: observe every selected component, diff, propose, and build the plan document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup.errors import ManifestError
from trueup.manifest import Workspace
from trueup.planner import diff, document, runtime_step
from trueup.planner.config_step import config_facts, config_warnings
from trueup.planner.model import Action, ComponentResult, Drift, Status
from trueup.planner.observe import Observation, observe_component
from trueup.planner.propose import propose


def assess(obs: Observation, require_verified: bool) -> tuple[ComponentResult, list[Action]]:
    """Drift items, status and proposed actions of one observed component."""
    spec = obs.spec
    items: list[Drift] = diff.diff_source(spec, obs.ledger, obs.source_facts, obs.install_exists, require_verified)
    if obs.ledger is not None:
        items += diff.diff_files(spec, obs.ledger, obs.live)
        items += diff.diff_generated(spec, obs.ledger, obs.live)
    items += diff.diff_secrets(obs.secrets)
    items = diff.sort_items(items) + [d for _, plan in obs.configs for d in plan.drift]
    items += runtime_step.runtime_drift(obs.runtime, obs.ledger)
    if obs.ledger is None:
        status = Status.UNMANAGED if obs.install_exists else Status.NOT_INSTALLED
    else:
        status = Status.DRIFTED if any(d.is_drift for d in items) else Status.CLEAN
    unobserved = None
    if obs.runtime is not None and not obs.runtime[1].reachable:
        # Files were observed, the running service was not: the component's truth is incomplete.
        status, unobserved = Status.UNREACHABLE, obs.runtime[1].unreachable_reason
    facts: dict[str, Any] = {
        "install_path": str(spec.install_path),
        "source": {"repo": spec.repo, "ref": spec.ref, "commit": obs.source_facts.commit,
                   "version": obs.source_facts.version},
        "installed": ({"commit": obs.ledger["source"]["commit"], "version": obs.ledger["version"]}
                      if obs.ledger else None),
        "accepted": sorted(obs.ledger["accepted"]) if obs.ledger else [],
    }
    if obs.configs:
        facts["config"] = config_facts(obs.configs)
        facts["warnings"] = config_warnings(obs.configs)
    if obs.runtime is not None:
        facts["runtime"] = {"manager": obs.runtime[1].manager, "where": obs.runtime[1].where, **obs.runtime[1].facts}
    return ComponentResult(spec.name, status, items, facts, unobserved), propose(obs, items)


def make_plan(workspace: Workspace, names: list[str] | None = None, *, use_cache: bool = True,
              quiet: bool = False) -> dict[str, Any]:
    specs = [workspace.component(n) for n in names] if names else list(workspace.components)
    if not specs:
        raise ManifestError(f"{workspace.manifest_path.name}: no components to plan",
                            hint="add a component under components:")
    # --no-cache turns off the stat cache only: the content-addressed memos there (ledger validity, git blob
    # hashes) are keyed by a digest of what they describe, so they cannot be stale.
    memo_dir = workspace.state_dir / "cache"
    cache_dir: Path | None = memo_dir if use_cache else None
    results: list[ComponentResult] = []
    actions: list[Action] = []
    for spec in specs:
        obs = observe_component(workspace, spec, cache_dir=cache_dir, memo_dir=memo_dir, quiet=quiet)
        result, proposed = assess(obs, workspace.require_verified)
        results.append(result)
        actions += proposed
    return document.build(workspace.root, results, actions)
