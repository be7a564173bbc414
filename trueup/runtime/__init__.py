"""The runtime provider: what a service manager (PM2, systemd, launchd, Docker) runs, observed read-only.

observe asks the manager (locally or over ssh); diff compares it with the declaration and the install
ledger (runtime/diff.py); propose offers one restart for every drift a restart resolves, and with_upgrade
the restart an upgrade of the component's files will need; apply restarts and waits until the service is
back (runtime/restart.py).
"""

from __future__ import annotations

from typing import Any

from trueup.errors import RefusedError
from trueup.manifest import ComponentSpec
from trueup.model.ids import action_id, group_key
from trueup.model.keys import FactKey
from trueup.model.plan import Action, ActionType, Drift, DriftClass, PlanWarning, TargetKind
from trueup.provider import ApplyContext, ObserveContext, RecheckContext

NAME = "runtime"


def _spec(spec: ComponentSpec, workspace):
    from trueup.runtime.spec import RuntimeSpec

    return RuntimeSpec.from_manifest(spec.runtime, install_path=spec.install_path, workspace=workspace)


def observe(spec: ComponentSpec, ctx: ObserveContext):
    """(RuntimeSpec, RuntimeObservation, ledger), or None when the component declares no runtime."""
    if not spec.runtime:
        return None
    from trueup.runtime.observation import observe_runtime

    rspec = _spec(spec, ctx.workspace.root)
    return rspec, observe_runtime(rspec), (ctx.basis.ledger if ctx.basis else None)


def diff(spec: ComponentSpec, snapshot) -> list[Drift]:
    if snapshot is None:
        return []
    from trueup.runtime.drift import diff_runtime

    rspec, robs, ledger = snapshot
    return diff_runtime(rspec, robs, ledger)


def propose(spec: ComponentSpec, snapshot, drift: list[Drift]) -> list[Action]:
    """One restart resolves every runtime drift a restart can fix (stale code, old env, stopped, unsaved)."""
    if snapshot is None:
        return []
    from trueup.runtime.drift import RESTART_RESOLVES

    rspec, robs, _ = snapshot
    # A compose service with its file declared is recreated from it (compose up): that resolves a missing
    # container and one on another image too.
    compose = bool(robs.reachable and robs.facts.get("compose_file"))
    resolves = RESTART_RESOLVES | ({"image-drift", "missing"} if compose else set())
    kinds = sorted({d.kind for d in drift if d.cls == DriftClass.RUNTIME and d.is_drift and d.kind in resolves})
    # A manager that does not know the service cannot restart it: trueup restarts, it does not define.
    if not kinds or not robs.reachable or (robs.facts.get("present") is False and not compose):
        return []
    if kinds == ["unsaved"]:
        return [_save(spec, rspec, robs)]  # a healthy process whose saved list is out of date: save, never restart
    return [_restart(spec, rspec, robs, kinds)]


def _save(spec: ComponentSpec, rspec, robs) -> Action:
    """``pm2 save`` alone: the saved list (what a reboot resurrects) made to match what runs."""
    from trueup.runtime.drift import restart_preconditions

    return Action(
        id=action_id(spec.name, ActionType.RESTART, (rspec.service,), "save"), type=ActionType.RESTART,
        component=spec.name, target_kind=TargetKind.SERVICE, targets=(rspec.service,),
        group=group_key(spec.name, DriftClass.RUNTIME, rspec.service), recommended=True,
        preconditions=restart_preconditions(robs),
        reason=f"save {rspec.manager}'s process list so a reboot brings back {rspec.service} as it runs now "
               f"(pm2 save; no restart)",
        details={"runtime": rspec.manager, "resolves": ["unsaved"], "resolution": "save", "save": True},
    )


def _label(version_or_commit: dict[str, Any] | None) -> str:
    if not version_or_commit:
        return "nothing installed"
    return version_or_commit.get("version") or str(version_or_commit.get("commit"))[:12]


def _restart(spec: ComponentSpec, rspec, robs, kinds: list[str], upgrade: Action | None = None) -> Action:
    from trueup.runtime.drift import restart_preconditions

    details: dict[str, Any] = {"runtime": rspec.manager, "resolves": kinds, "save": "unsaved" in kinds}
    if robs.facts.get("compose_file"):
        details["resolution"] = "compose-up"  # recreated from the compose file, not `docker restart`
    why = ", ".join(kinds)
    gated: tuple[str, ...] = ()
    if upgrade is not None:
        moves = {"from": upgrade.details.get("from"), "to": upgrade.details.get("to")}
        details["after_upgrade"] = {"group": upgrade.group, **moves}
        why += ("; " if why else "") + f"to run {_label(moves['to'])} after the upgrade from {_label(moves['from'])}"
        # Restarting for an upgrade that is not applied would restart the old code for nothing: refused alone.
        # A restart that repairs drift of its own (stopped, stale, unsaved) stands on its own.
        gated = () if kinds else (upgrade.group,)
    return Action(
        id=action_id(spec.name, ActionType.RESTART, (rspec.service,)), type=ActionType.RESTART, component=spec.name,
        target_kind=TargetKind.SERVICE, targets=(rspec.service,),
        group=group_key(spec.name, DriftClass.RUNTIME, rspec.service), recommended=True,
        preconditions=restart_preconditions(robs),
        reason=(f"recreate {rspec.service} from {rspec.compose_file} (compose up -d --no-deps --force-recreate; {why})"
                if details.get("resolution") == "compose-up" else f"restart {rspec.service} through {rspec.manager} ({why})"),
        gated=gated, details=details,
    )


def with_upgrade(spec: ComponentSpec, snapshot, actions: list[Action]) -> list[Action]:
    """``actions`` with the restart an upgrade of the files will need, so one plan and one apply end with the
    service running the new version (apply restarts last, after the upgrade).

    The restart's preconditions are what the manager reports of the running process (pid, start time,
    command): an upgrade rewrites files, not those, so applying the upgrade first leaves them as planned.
    """
    upgrade = next((a for a in actions if a.type == ActionType.UPGRADE and a.target_kind == TargetKind.FILE), None)
    if snapshot is None or upgrade is None:
        return actions
    rspec, robs, _ = snapshot
    if robs.skipped or not robs.reachable or not robs.facts.get("present"):
        return actions  # nothing known runs this component's code, or trueup cannot restart it
    # A planned restart (or save) folds into the one the upgrade needs: it saves too when the list was unsaved.
    planned = next((a for a in actions if a.type == ActionType.RESTART), None)
    kinds = list(planned.details["resolves"]) if planned is not None else []
    return [a for a in actions if a is not planned] + [_restart(spec, rspec, robs, kinds, upgrade)]


def warnings(spec: ComponentSpec, snapshot) -> list[PlanWarning]:
    return []


def facts(snapshot) -> dict[str, Any]:
    if snapshot is None:
        return {}
    rspec, robs, _ = snapshot
    found = {"manager": robs.manager, "where": robs.where, **robs.facts}
    if rspec.manager == "docker" and rspec.image and "@sha256:" in rspec.image and robs.facts.get("present"):
        # An image declared by digest carries that digest as its provenance: is the container running those bytes?
        from trueup.runtime.docker import image_matches

        found["image_provenance"] = {"pinned": rspec.image, "running": image_matches(rspec.image, robs.facts)}
    return {"runtime": found}


def unobserved(snapshot) -> str | None:
    """Why the running service could not be observed, or None."""
    if snapshot is None or snapshot[1].reachable:
        return None
    return snapshot[1].unreachable_reason


def recheck(spec: ComponentSpec, key: FactKey, ctx: RecheckContext) -> Any:
    """Re-observe a runtime fact; the service is observed once per component per apply."""
    from trueup.runtime.drift import restart_preconditions
    from trueup.runtime.observation import observe_runtime

    if not spec.runtime:
        raise RefusedError(f"{spec.name} declares no runtime; the plan's runtime facts cannot be checked",
                           hint="run trueup plan again")
    memo = (NAME, spec.name)
    if memo not in ctx.seen:
        ctx.seen[memo] = restart_preconditions(observe_runtime(_spec(spec, ctx.workspace.root)))
    return ctx.seen[memo].get(key)


def check_targets(spec: ComponentSpec, action: Action) -> None:
    declared = spec.runtime.get("service") or (spec.runtime.get("compose") or {}).get("service") if spec.runtime else None
    if not declared or list(action.targets) != [declared]:
        raise RefusedError(f"restart target {list(action.targets)} is not {spec.name}'s declared service")


def apply(action: Action, ctx: ApplyContext) -> None:
    from trueup.runtime.restart import run

    run(action, ctx)
