"""The ``restart`` action: restart a service through its manager and wait, bounded, until it is back.

"Back" means running with a new pid or start time and, when the manifest names a health endpoint,
answering it with a version. PM2's saved list is re-saved only when it matched what ran before, so
a restart never saves someone else's unsaved change unless asked to (``save=True``).
"""

from __future__ import annotations

import time
from typing import Any

from attrs import frozen

from trueup.errors import TrueupError
from trueup.model.plan import Action
from trueup.provider import ApplyContext
from trueup.runtime import pm2
from trueup.runtime.drift import restart_preconditions
from trueup.runtime.observation import RuntimeObservation, observe_runtime
from trueup.runtime.spec import RuntimeSpec
from trueup.runtime.transport import Transport, Unreachable

POLL_SECONDS = 0.25


@frozen
class RestartResult:
    """What a restart did: the preconditions-shaped facts before and after, and whether PM2 saved."""

    manager: str
    service: str
    where: str
    before: dict[str, Any]
    after: dict[str, Any]
    saved: bool = False
    health_version: str | None = None
    verb: str = "restarted"  # "started": a stopped systemd unit, started with the manager's start verb
    reloaded: bool = False  # systemd definitions reloaded (daemon-reload) first


def _systemd_scope(spec: RuntimeSpec) -> list[str]:
    return ["--user"] if spec.scope == "user" else []


def _systemd_verb(facts: dict[str, Any]) -> str:
    """``start`` for a unit that is not running (the manager's start verb), ``restart`` for one that is."""
    return "restart" if facts.get("status") in ("running", "starting") else "start"


def _reload_definitions(spec: RuntimeSpec, facts: dict[str, Any], transport: Transport, label: str) -> bool:
    """``systemctl daemon-reload`` when the unit file changed since systemd loaded it; else a restart would run
    the old definition again. Whether it reloaded."""
    if spec.manager != "systemd" or not facts.get("need_daemon_reload"):
        return False
    result = transport.run(["systemctl", *_systemd_scope(spec), "daemon-reload"], timeout=60)
    if not result.ok:
        raise TrueupError(f"daemon-reload before restarting {label} failed: {result.first_error_line()}")
    return True


def _restart_argv(spec: RuntimeSpec, facts: dict[str, Any], transport: Transport) -> list[str]:
    if spec.manager == "pm2":
        # The pm_id, not the name: PM2 restarts every process sharing a name, orphans included.
        target = str(facts["pm_id"]) if facts.get("pm_id") is not None else spec.service
        return [pm2.pm2_binary(spec, transport), "restart", target, "--update-env"]
    if spec.manager == "systemd":
        return ["systemctl", *_systemd_scope(spec), _systemd_verb(facts), "--", spec.service]
    if spec.manager == "docker" and spec.compose_file:  # recreated from its compose file, on the image it declares
        from trueup.runtime.docker import compose_argv

        return compose_argv(spec, "up", "-d", "--no-deps", "--force-recreate", spec.service)
    if spec.manager == "docker":
        return ["docker", "restart", "--", spec.service]
    if spec.manager == "launchd":
        return ["sh", "-c", 'exec launchctl kickstart -k "gui/$(id -u)/$1"', "sh", spec.service]
    raise TrueupError(f"runtime {spec.service or ''}: manager {spec.manager} is not restarted by trueup")


def _is_back(before: RuntimeObservation, now: RuntimeObservation, spec: RuntimeSpec) -> bool:
    facts = now.facts
    if not now.reachable or facts.get("status") != "running" or not facts.get("pid"):
        return False
    old = before.facts
    if facts.get("pid") == old.get("pid") and facts.get("started_at") == old.get("started_at"):
        return False
    if spec.health_url:
        health = facts.get("health") or {}
        return health.get("version") is not None and not health.get("error")
    return True


def _describe(obs: RuntimeObservation) -> str:
    if not obs.reachable:
        return f"unreachable: {obs.unreachable_reason}"
    health = obs.facts.get("health") or {}
    if obs.facts.get("status") == "running" and health.get("error"):
        return f"health {health['url']}: {health['error']}"
    return f"status {obs.facts.get('status')}"


def _pm2_saved_in_sync(spec: RuntimeSpec, transport: Transport) -> bool:
    processes = pm2.list_processes(spec, transport) or []
    return pm2.saved_list_in_sync(processes, pm2.read_dump(spec, transport))


def _present(spec: RuntimeSpec, verb: str, hint: str):
    """(transport, observation) of a service the manager knows and can be asked about; else one clear error."""
    label = f"{spec.manager} service {spec.service}"
    transport = Transport.for_host(spec.host, spec.ssh_options)
    before = observe_runtime(spec)
    if not before.reachable:
        raise Unreachable(f"cannot {verb} {label}: {before.unreachable_reason}")
    # A compose service with its file is created by compose up: the one service trueup may bring into being.
    if not before.facts.get("present") and not (verb == "restart" and spec.compose_file):
        raise TrueupError(f"cannot {verb} {label}: {spec.manager} has no such service on {before.where}", hint=hint)
    return transport, before


def restart(spec: RuntimeSpec, *, timeout: float = 30, save: bool | None = None) -> RestartResult:
    """Restart ``spec``'s service and wait up to ``timeout`` seconds for it to be back.

    ``save`` (PM2 only): None saves the process list when it was in sync before the restart; True
    always saves (repairs ``unsaved``); False never does. Raises TrueupError with one line on failure.
    """
    label = f"{spec.manager} service {spec.service}"
    if spec.is_external:
        raise TrueupError(f"runtime: manager external is not restarted by trueup ({spec.service or 'unnamed'})")
    transport, before = _present(spec, "restart",
                                 "start it once through the manager; trueup restarts services, it does not define them")
    should_save = False
    if spec.manager == "pm2":
        should_save = save if save is not None else _pm2_saved_in_sync(spec, transport)
    env = pm2.pm2_env(spec) if spec.manager == "pm2" else None
    reloaded = _reload_definitions(spec, before.facts, transport, label)
    result = transport.run(_restart_argv(spec, before.facts, transport), env=env, timeout=max(timeout, 5))
    if not result.ok:
        raise TrueupError(f"restart of {label} failed on {before.where}: {result.first_error_line()}")
    deadline = time.monotonic() + timeout
    now = observe_runtime(spec)
    while not _is_back(before, now, spec):
        if time.monotonic() >= deadline:
            raise TrueupError(f"{label} restarted but is not back within {timeout:g}s ({_describe(now)})")
        time.sleep(POLL_SECONDS)
        now = observe_runtime(spec)
    saved = False
    if should_save:
        saved_result = pm2.run_pm2(spec, transport, "save")
        if not saved_result.ok:
            raise TrueupError(f"{label} restarted, but pm2 save failed: {saved_result.first_error_line()}")
        saved = True
    return RestartResult(
        manager=spec.manager,
        service=spec.service or "",
        where=before.where,
        before=restart_preconditions(before),
        after=restart_preconditions(now),
        saved=saved,
        health_version=(now.facts.get("health") or {}).get("version"),
        verb=("recreated" if spec.compose_file
              else "started" if spec.manager == "systemd" and _systemd_verb(before.facts) == "start" else "restarted"),
        reloaded=reloaded,
    )


def save(spec: RuntimeSpec) -> None:
    """``pm2 save``: make the saved list (what ``pm2 resurrect`` brings back at boot) match what runs. No restart."""
    if spec.manager != "pm2":
        raise TrueupError(f"cannot save {spec.manager} service {spec.service}: only PM2 keeps a saved process list")
    transport, before = _present(spec, "save",
                                 "start it once through pm2; trueup saves what runs, it does not define services")
    result = pm2.run_pm2(spec, transport, "save")
    if not result.ok:
        raise TrueupError(f"pm2 save failed on {before.where}: {result.first_error_line()}")


def run(action: Action, ctx: ApplyContext) -> None:
    """Apply an approved restart: through the component's declared manager, saving PM2's list when planned;
    a ``save`` resolution only saves."""
    rspec = RuntimeSpec.from_manifest(ctx.spec.runtime, install_path=ctx.spec.install_path, workspace=ctx.workspace.root)
    resolution = action.details.get("resolution")
    # compose-up: the manifest's compose file recreates the service; the plan must say so exactly when it has one.
    if resolution not in (None, "save", "compose-up") or (resolution == "compose-up") != bool(rspec.compose_file):
        raise TrueupError(f"restart {action.id}: unknown resolution {resolution!r}; run trueup plan again")
    if resolution == "save":
        save(rspec)
        where = Transport.for_host(rspec.host).describe()
        ctx.notes.append(f"saved the process list with {rspec.service} ({rspec.manager}, {where})")
        return
    result = restart(rspec, save=True if action.details.get("save") else None)
    ctx.notes.append(("reloaded the unit definitions, " if result.reloaded else "")
                     + f"{result.verb} {result.service} ({result.manager}, {result.where})"
                     + (f"; health reports {result.health_version}" if result.health_version else "")
                     + ("; saved the process list" if result.saved else ""))
