"""Observe a component's runtime through its manager, read-only: never starts, stops or saves anything."""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

from trueup.runtime.docker import observe_docker
from trueup.runtime.health import fetch_health
from trueup.runtime.launchd import observe_launchd
from trueup.runtime.pm2 import observe_pm2
from trueup.runtime.spec import RuntimeSpec
from trueup.runtime.systemd import observe_systemd
from trueup.runtime.transport import Transport, Unreachable

OBSERVERS = {
    "pm2": observe_pm2,
    "systemd": observe_systemd,
    "launchd": observe_launchd,
    "docker": observe_docker,
}


@frozen
class RuntimeObservation:
    """What the manager reports for one service. ``facts`` is JSON-ready, key-sorted and free of counters."""

    manager: str
    service: str | None
    where: str  # "local" or the ssh://… host
    reachable: bool
    unreachable_reason: str | None = None
    skipped: bool = False
    facts: dict[str, Any] = field(factory=dict)


def sort_json(value: Any) -> Any:
    """Dicts with sorted keys, all the way down, so equal facts serialise to equal bytes."""
    if isinstance(value, dict):
        return {k: sort_json(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [sort_json(v) for v in value]
    return value


def _program_to_check(spec: RuntimeSpec, facts: dict[str, Any]) -> str | None:
    if spec.manager == "pm2":
        return facts.get("script")
    if spec.manager in ("systemd", "launchd"):
        return facts.get("program")
    return None  # docker: the program lives inside the image


def _env_files(spec: RuntimeSpec, facts: dict[str, Any]) -> list[str]:
    if spec.env_file:
        return [spec.env_file]
    return list(facts.get("env_files") or [])  # systemd declares its EnvironmentFile= itself


def _enrich(spec: RuntimeSpec, transport: Transport, facts: dict[str, Any]) -> dict[str, Any]:
    """Add program, env file and health facts — all checked where the service runs."""
    program = _program_to_check(spec, facts)
    env_files = _env_files(spec, facts)
    checked = [p for p in [program, *env_files] if p and p.startswith("/")]
    stats = transport.path_facts(checked) if checked else {}
    if program and program in stats:
        facts["program_check"] = {"path": program, **{k: stats[program][k] for k in ("executable", "exists")}}
    if env_files:
        facts["env_files"] = [{"mtime": stats.get(p, {}).get("mtime"), "path": p} for p in env_files]
    if spec.health_url and facts.get("status") == "running":
        facts["health"] = fetch_health(spec.health_url, spec.health_version_field, transport)
    return facts


def observe_runtime(spec: RuntimeSpec) -> RuntimeObservation:
    """Observe ``spec``'s service; an unreachable host or manager is an observation, not an exception."""
    transport = Transport.for_host(spec.host, spec.ssh_options)
    where = transport.describe()
    if spec.is_external:
        return RuntimeObservation(manager=spec.manager, service=spec.service, where=where, reachable=True, skipped=True)
    try:
        facts = OBSERVERS[spec.manager](spec, transport)
        if facts.get("present"):
            facts = _enrich(spec, transport, facts)
    except Unreachable as exc:
        return RuntimeObservation(
            manager=spec.manager, service=spec.service, where=where, reachable=False, unreachable_reason=exc.message
        )
    return RuntimeObservation(
        manager=spec.manager, service=spec.service, where=where, reachable=True, facts=sort_json(facts)
    )
