"""Runtime drift: a pure function of the declared runtime, its observation and the install ledger."""

from __future__ import annotations

import os
import shlex
from typing import Any

from trueup.model.keys import FactKey, runtime_key
from trueup.model.plan import ActionType, Drift, DriftClass
from trueup.model.recommendations import resolved_by
from trueup.model.versions import same_version
from trueup.runtime.commands import command_matches
from trueup.runtime.docker import declared_version, desired_image, drift_summary, image_matches
from trueup.runtime.observation import RuntimeObservation
from trueup.runtime.spec import RuntimeSpec
from trueup.runtime.times import is_before, parse_iso

# Kinds a `restart` action repairs (unsaved alone: its `save` resolution, `pm2 save` without a restart; with
# other drift: the restart saves too, see runtime/restart.py). cwd-mismatch, command-mismatch, orphan,
# definition-target-missing, duplicate-definition, image-drift, restarting and missing need the service redefined, recreated or
# fixed, which a restart cannot do; plan says in one line what the operator must do
# (model/recommendations.py OPERATOR_STEPS).
RESTART_RESOLVES = resolved_by(DriftClass.RUNTIME, ActionType.RESTART)
ACTIVE = ("running", "starting")


def _drift(kind: str, expected: Any = None, actual: Any = None, *, is_drift: bool = True) -> Drift:
    return Drift(cls=DriftClass.RUNTIME, kind=kind, path=None, expected=expected, actual=actual, is_drift=is_drift)


def _same_path(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b)


def _program_problem(spec: RuntimeSpec, facts: dict[str, Any]) -> str | None:
    check = facts.get("program_check")
    if not check:
        return None
    if not check.get("exists"):
        return "missing"
    # A pm2 script is run by its interpreter; systemd and launchd exec the program itself.
    needs_exec = spec.manager != "pm2" or facts.get("command", [""])[0] == check.get("path")
    if needs_exec and not check.get("executable"):
        return "not executable"
    return None


def _definition_drift(spec: RuntimeSpec, facts: dict[str, Any]) -> list[Drift]:
    if spec.manager == "launchd" and spec.definition and not facts.get("definition_found"):
        return [_drift("definition-target-missing", spec.definition, {"definition": spec.definition, "problem": "missing"})]
    if facts.get("definition_invalid"):
        return [_drift("definition-target-missing", spec.definition, {"definition": spec.definition, "problem": facts["definition_invalid"]})]
    problem = _program_problem(spec, facts)
    if problem:
        path = facts["program_check"]["path"]
        return [_drift("definition-target-missing", path, {"path": path, "problem": problem})]
    return []


def _docker_liveness_drift(facts: dict[str, Any]) -> list[Drift] | None:
    """Docker's own kinds: no container at all, a restart loop, a failing health check; None for the rest."""
    if facts.get("status") == "absent":
        return [_drift("missing", "running", {"summary": "no such container on this engine", **_recreate(facts)})]
    if facts.get("state") == "restarting":
        count = facts.get("restart_count")
        loop = {"restart_count": count, "summary": f"restart loop, restarted {count} times"}
        return [_drift("restarting", "running", loop)]
    if facts.get("health_status") == "unhealthy" and facts.get("state") == "running":
        return [_drift("unhealthy", "healthy", {"summary": "running, its health check fails"})]
    return None


def _liveness_drift(spec: RuntimeSpec, facts: dict[str, Any]) -> list[Drift]:
    if spec.manager == "docker":
        docker = _docker_liveness_drift(facts)
        if docker is not None:
            return docker
    status = facts.get("status")
    if status in ("absent", "stopped"):
        return [_drift("not-running", "running", facts.get("state") or status)]
    if status == "errored":
        return [_drift("errored", "running", facts.get("state") or status)]
    health = facts.get("health")
    if status in ACTIVE and health and health.get("error"):
        return [_drift("errored", "healthy", f"health {health['url']}: {health['error']}")]
    return []


def _image_drift(desired: str, facts: dict[str, Any]) -> Drift:
    """Both sides of an image drift: the declared reference and what it resolves to now, and what runs."""
    declared = facts.get("declared_image") or {"ref": desired}
    expected = {"digests": declared.get("digests", []), "id": declared.get("id"), "ref": desired,
                "version": declared_version(declared)}
    actual = {"digests": facts.get("image_digests", []), "id": facts.get("image_id"),
              "summary": drift_summary(desired, facts), "version": facts.get("image_version"), **_recreate(facts)}
    return _drift("image-drift", expected, actual)


def _recreate(facts: dict[str, Any]) -> dict[str, Any]:
    """A compose service with its file declared: the restart action recreates it (compose up), so the drift
    needs no operator step."""
    return {"recreate": "compose up"} if facts.get("compose_file") else {}


def _shape_drift(spec: RuntimeSpec, facts: dict[str, Any]) -> list[Drift]:
    """How the service is defined: where it runs, what it runs, which image."""
    out = []
    cwd = facts.get("cwd")
    if spec.check_cwd and spec.cwd and cwd and not _same_path(spec.cwd, cwd):
        out.append(_drift("cwd-mismatch", spec.cwd, cwd))
    command = facts.get("command")
    if spec.command and command and not command_matches(spec.command_words, command, cwd):
        out.append(_drift("command-mismatch", spec.command, shlex.join(command)))
    desired = desired_image(spec, facts) if spec.manager == "docker" else None
    if desired and not image_matches(desired, facts):
        out.append(_image_drift(desired, facts))
    return out


def _latest(*times: str | None) -> str | None:
    """The latest of ISO timestamps written in different forms (the ledger's, the manager's); unknown ones skipped."""
    return max((t for t in times if parse_iso(t)), key=parse_iso, default=None)


def _age_drift(spec: RuntimeSpec, facts: dict[str, Any], ledger: dict[str, Any] | None) -> list[Drift]:
    """Whether the running process predates what is installed: code, version, environment."""
    if facts.get("status") not in ACTIVE:
        return []
    out = []
    started = facts.get("started_at")
    # The files it runs, or its own definition (a unit edited and daemon-reloaded: ExecStart already shows the
    # new argv, MainPID is still the old process), changed after it started: the later of the two counts.
    changed_at = _latest((ledger or {}).get("installed_at"), facts.get("definition_changed_at"))
    if is_before(started, changed_at):
        out.append(_drift("stale-process", f"started after {changed_at}", started))
    version = (facts.get("health") or {}).get("version")
    wanted = (ledger or {}).get("version")
    if version is not None and wanted is not None and not same_version(str(version), str(wanted)):
        out.append(_drift("version-mismatch", str(wanted), str(version)))
    changed = [f for f in facts.get("env_files") or [] if is_before(started, f.get("mtime"))]
    if changed:
        out.append(_drift("env-stale", f"unchanged since {started}", {f["path"]: f["mtime"] for f in changed}))
    return out


def _manager_drift(facts: dict[str, Any]) -> list[Drift]:
    out = []
    if facts.get("need_daemon_reload"):
        unit = facts.get("unit_file")
        out.append(_drift("definition-not-loaded", "loaded", {
            "definition": unit,
            "summary": f"{unit} changed on disk since systemd loaded it (NeedDaemonReload=yes); "
                       "the restart runs systemctl daemon-reload first"}))
    others = facts.get("duplicates") or []
    if others:
        names = ", ".join(f"{d.get('unit')} ({d.get('definition')}, {d.get('state')})" for d in others)
        out.append(_drift("duplicate-definition", [], {"definitions": others,
                                                         "summary": f"the same command is also defined by {names}"}))
    orphans = facts.get("orphans") or []
    if orphans:
        out.append(_drift("orphan", [], [{k: o.get(k) for k in ("cwd", "name", "pid", "script")} for o in orphans]))
    if facts.get("saved") in ("not-saved", "differs"):
        out.append(_drift("unsaved", "in-sync", facts["saved"]))
    return out


def diff_runtime(spec: RuntimeSpec, observation: RuntimeObservation, ledger: dict[str, Any] | None) -> list[Drift]:
    """Runtime drift items, sorted. ``skipped`` and ``unreachable`` are informational (is_drift False):
    an unobserved runtime is unknown, not drifted; plan reports it through its exit code (5/8)."""
    if observation.skipped:
        owner = "orchestrator external" if spec.orchestrator == "external" else f"manager {spec.manager}"
        return [_drift("skipped", None, f"{owner}: not observed", is_drift=False)]
    if not observation.reachable:
        return [_drift("unreachable", observation.where, observation.unreachable_reason, is_drift=False)]
    facts = observation.facts
    drifts = _liveness_drift(spec, facts) + _definition_drift(spec, facts) + _manager_drift(facts)
    if facts.get("present"):
        drifts += _shape_drift(spec, facts) + _age_drift(spec, facts, ledger)
    return sorted(drifts, key=lambda d: d.sort_key())


PRECONDITION_FACTS = ("pid", "started_at", "cwd", "command", "image_id")


def restart_preconditions(observation: RuntimeObservation) -> dict[FactKey, Any]:
    """The stable facts a restart was planned against; a service restarted in between changes them."""
    if observation.skipped or not observation.reachable:
        return {runtime_key("reachable"): observation.reachable and not observation.skipped}
    facts = observation.facts
    return {runtime_key(key): facts.get(key) for key in sorted(PRECONDITION_FACTS)}
