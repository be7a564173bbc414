"""Runtime inside plan and apply: observe the declared service, and propose one restart when it helps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup.manifest import ComponentSpec
from trueup.planner.ids import action_id
from trueup.planner.model import Action, ActionType, Drift


def runtime_spec(spec: ComponentSpec, workspace: Path):
    from trueup.planner.runtime.spec import RuntimeSpec

    return RuntimeSpec.from_manifest(spec.runtime, install_path=spec.install_path, workspace=workspace)


def observe(spec: ComponentSpec, workspace: Path):
    """(RuntimeSpec, RuntimeObservation), or None when the component declares no runtime."""
    if not spec.runtime:
        return None
    from trueup.planner.runtime.observe import observe_runtime

    rspec = runtime_spec(spec, workspace)
    return rspec, observe_runtime(rspec)


def runtime_drift(runtime, ledger: dict[str, Any] | None) -> list[Drift]:
    if runtime is None:
        return []
    from trueup.planner.runtime.diff import diff_runtime

    rspec, robs = runtime
    return diff_runtime(rspec, robs, ledger)


def restart_action(component: str, runtime, drift: list[Drift], base_preconditions: dict[str, Any]) -> list[Action]:
    """One restart resolves every runtime drift a restart can fix (stale code, old env, stopped, unsaved)."""
    if runtime is None:
        return []
    from trueup.planner.runtime.diff import RESTART_RESOLVES, restart_preconditions

    rspec, robs = runtime
    kinds = sorted({d.kind for d in drift if d.cls == "runtime" and d.is_drift and d.kind in RESTART_RESOLVES})
    # A manager that does not know the service cannot restart it: trueup restarts, it does not define.
    if not kinds or not robs.reachable or robs.facts.get("present") is False:
        return []
    return [Action(
        id=action_id(component, ActionType.RESTART, (rspec.service,)), type=ActionType.RESTART, component=component,
        targets=(rspec.service,), group=f"{component}/runtime/{rspec.service}", recommended=True,
        preconditions={**base_preconditions, **restart_preconditions(robs)},
        reason=f"restart {rspec.service} through {rspec.manager} ({', '.join(kinds)})",
        details={"runtime": rspec.manager, "resolves": kinds, "save": "unsaved" in kinds},
    )]


def observe_runtime_fact(spec: ComponentSpec, key: str, workspace: Path, seen: dict) -> Any:
    """Re-observe a `runtime:*` precondition; one observation per component per apply."""
    from trueup.planner.runtime.diff import restart_preconditions

    if spec.name not in seen:
        seen[spec.name] = restart_preconditions(observe(spec, workspace)[1])
    return seen[spec.name].get(key)
