"""PM2 through its machine-readable interfaces: ``pm2 jlist`` and the saved list ``$PM2_HOME/dump.pm2``.

Only definitions and stable facts are kept; PM2's per-process ``env`` (which holds the operator's
secrets), memory, cpu, uptime counters and restart counts never leave this module.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

from trueup.runtime.spec import RuntimeSpec
from trueup.runtime.times import iso_from_ms
from trueup.runtime.transport import CommandResult, Transport, Unreachable

PM2_ENV = "TRUEUP_PM2"
NO_DAEMON = "__trueup_no_pm2_daemon__"

STATUS = {
    "online": "running",
    "launching": "starting",
    "waiting restart": "starting",
    "stopping": "stopped",
    "stopped": "stopped",
    "one-launch-status": "stopped",
    "errored": "errored",
}

# `pm2 jlist` would spawn a daemon when none runs, and observation must not start anything:
# ask only when the daemon's socket and pid are alive, otherwise report that no daemon runs.
_GUARDED = (
    'command -v "$0" >/dev/null 2>&1 || exit 127; '
    'h="${PM2_HOME:-$HOME/.pm2}"; '
    'if [ -S "$h/rpc.sock" ] && [ -f "$h/pm2.pid" ] && kill -0 "$(cat "$h/pm2.pid")" 2>/dev/null; '
    f'then exec "$0" "$@"; else echo {NO_DAEMON}; fi'
)
_DUMP = 'f="${PM2_HOME:-$HOME/.pm2}/dump.pm2"; test -f "$f" || exit 3; cat -- "$f"'


def pm2_binary(spec: RuntimeSpec, transport: Transport) -> str:
    """The manifest's ``pm2``, else $TRUEUP_PM2, else ``pm2`` (on PATH here, or the remote's PATH)."""
    explicit = spec.pm2 or os.environ.get(PM2_ENV)
    if explicit:
        return explicit
    if transport.is_local:
        return shutil.which("pm2") or "pm2"
    return "pm2"


def pm2_env(spec: RuntimeSpec) -> dict[str, str]:
    home = spec.pm2_home or os.environ.get("PM2_HOME")
    return {"PM2_HOME": home} if home else {}


def run_pm2(spec: RuntimeSpec, transport: Transport, *args: str, timeout: float = 20) -> CommandResult:
    return transport.run([pm2_binary(spec, transport), *args], env=pm2_env(spec), timeout=timeout)


def list_processes(spec: RuntimeSpec, transport: Transport) -> list[dict[str, Any]] | None:
    """The processes PM2 runs (see ``process_record``); None when no PM2 daemon runs."""
    binary = pm2_binary(spec, transport)
    result = transport.run(["sh", "-c", _GUARDED, binary, "jlist"], env=pm2_env(spec), timeout=20)
    if result.stdout.strip() == NO_DAEMON:
        return None
    if not result.ok:
        if result.returncode == 127:
            raise Unreachable(f"pm2 ({binary}) not found on {transport.describe()}")
        raise Unreachable(f"pm2 jlist failed on {transport.describe()}: {result.first_error_line()}")
    return [process_record(p) for p in parse_jlist(result.stdout)]


def read_dump(spec: RuntimeSpec, transport: Transport) -> list[dict[str, Any]] | None:
    """The saved process list (what `pm2 resurrect` brings back at boot); None when never saved."""
    result = transport.run(["sh", "-c", _DUMP], env=pm2_env(spec), timeout=15)
    if result.returncode == 3:
        return None
    if not result.ok:
        raise Unreachable(f"cannot read pm2 dump.pm2 on {transport.describe()}: {result.first_error_line()}")
    try:
        entries = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        raise Unreachable(f"pm2 dump.pm2 on {transport.describe()} is not JSON") from None
    return [definition(e) for e in entries if isinstance(e, dict)]


def parse_jlist(text: str) -> list[dict[str, Any]]:
    """The JSON array from ``pm2 jlist`` output; PM2 may print notices (e.g. "out-of-date") before it."""
    for line in reversed(text.splitlines()):
        if line.startswith("["):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, list):
                return data
    raise Unreachable("pm2 jlist printed no process list")


def _args(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value]


def definition(env: dict[str, Any]) -> dict[str, Any]:
    """What PM2 would start for an entry (jlist's pm2_env or a dump entry): the part `pm2 save` keeps."""
    return {
        "args": _args(env.get("args")),
        "cwd": env.get("pm_cwd"),
        "interpreter": env.get("exec_interpreter"),
        "name": env.get("name"),
        "node_args": _args(env.get("node_args")),
        "script": env.get("pm_exec_path"),
    }


def process_record(item: dict[str, Any]) -> dict[str, Any]:
    env = item.get("pm2_env") or {}
    raw_status = env.get("status")
    status = STATUS.get(raw_status, "unknown")
    uptime = env.get("pm_uptime")
    pid = item.get("pid") or None
    return {
        **definition(env),
        "name": item.get("name", env.get("name")),
        "pid": pid if status == "running" else None,
        "pm_id": item.get("pm_id", env.get("pm_id")),
        "started_at": iso_from_ms(uptime) if isinstance(uptime, (int, float)) and uptime > 0 else None,
        "state": raw_status,
        "status": status,
    }


def argv_of(record: dict[str, Any]) -> list[str]:
    """The command PM2 runs: interpreter, its options, script, arguments ("none" = the script runs itself)."""
    interpreter = record.get("interpreter")
    head = [] if interpreter in (None, "none") else [interpreter, *record.get("node_args", [])]
    return [*head, record.get("script") or "", *record.get("args", [])]


DEFINITION_KEYS = ("args", "cwd", "interpreter", "name", "node_args", "script")


def _definition_key(record: dict[str, Any]) -> str:
    return json.dumps({k: record.get(k) for k in DEFINITION_KEYS}, sort_keys=True)


def _same_definition(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return _definition_key(a) == _definition_key(b)


def saved_list_in_sync(processes: list[dict[str, Any]], dump: list[dict[str, Any]] | None) -> bool:
    """Whether `pm2 resurrect` would bring back exactly what runs now (all processes, not one service)."""
    if dump is None:
        return not processes
    return sorted(map(_definition_key, processes)) == sorted(map(_definition_key, dump))


def _rel_script(record: dict[str, Any]) -> str | None:
    script, cwd = record.get("script"), record.get("cwd")
    if not script or not cwd:
        return None
    return os.path.relpath(script, cwd)


def select(spec: RuntimeSpec, processes: list[dict[str, Any]]) -> tuple[dict | None, list[dict]]:
    """The service's process and the orphans: other processes running this component's script.

    An orphan is another process with the service's name, or one running the expected script file
    itself, or one running the same script (relative to its cwd) from a directory with the same name
    as the expected cwd — the typical leftover of an older install path.
    """
    named = sorted((p for p in processes if p["name"] == spec.service), key=lambda p: p.get("pm_id") or 0)
    chosen = next((p for p in named if p.get("cwd") == spec.cwd), named[0] if named else None)
    words = spec.command_words
    expected_rel = next((w for w in words if "/" in w or w.endswith((".js", ".mjs", ".cjs", ".ts"))), None)
    expected_abs = os.path.normpath(os.path.join(spec.cwd, expected_rel)) if expected_rel and spec.cwd else None
    chosen_rel = _rel_script(chosen) if chosen else None
    rel = os.path.normpath(expected_rel) if expected_rel else chosen_rel
    orphans = []
    for p in processes:
        if p is chosen:
            continue
        same_name = p["name"] == spec.service
        same_file = expected_abs is not None and p.get("script") == expected_abs
        moved_copy = (
            rel is not None
            and _rel_script(p) == rel
            and spec.cwd is not None
            and p.get("cwd") is not None
            and os.path.basename(p["cwd"]) == os.path.basename(spec.cwd)
        )
        if same_name or same_file or moved_copy:
            orphans.append(p)
    return chosen, sorted(orphans, key=lambda p: (p.get("pm_id") or 0, p["name"]))


def saved_state(chosen: dict | None, saved: dict | None, dump: list | None) -> str:
    """none (never saved) | in-sync | not-saved (runs, not in the list) | differs | saved-only."""
    if dump is None:
        return "none"
    if chosen is None:
        return "saved-only" if saved else "none"
    if saved is None:
        return "not-saved"
    return "in-sync" if _same_definition(chosen, saved) else "differs"


def pm2_facts(spec: RuntimeSpec, processes: list[dict] | None, dump: list[dict] | None) -> dict[str, Any]:
    """Facts about the service from jlist records and the dump (pure)."""
    if processes is None:
        return {"daemon": "not-running", "present": False, "status": "absent"}
    chosen, orphans = select(spec, processes)
    saved_candidates = [d for d in dump or [] if d.get("name") == spec.service]
    saved = next(
        (d for d in saved_candidates if chosen and d.get("cwd") == chosen.get("cwd")),
        saved_candidates[0] if saved_candidates else None,
    )
    facts: dict[str, Any] = {
        "daemon": "running",
        "orphans": [
            {"cwd": o.get("cwd"), "name": o["name"], "pid": o.get("pid"), "pm_id": o.get("pm_id"), "script": o.get("script")}
            for o in orphans
        ],
        "saved": saved_state(chosen, saved, dump),
    }
    if chosen is None:
        return {**facts, "present": False, "status": "absent"}
    return {
        **facts,
        "command": argv_of(chosen),
        "cwd": chosen.get("cwd"),
        "pid": chosen.get("pid"),
        "pm_id": chosen.get("pm_id"),
        "present": True,
        "script": chosen.get("script"),
        "started_at": chosen.get("started_at"),
        "state": chosen.get("state"),
        "status": chosen["status"],
    }


def observe_pm2(spec: RuntimeSpec, transport: Transport) -> dict[str, Any]:
    processes = list_processes(spec, transport)
    dump = read_dump(spec, transport) if processes is not None else None
    return pm2_facts(spec, processes, dump)
