"""systemd through ``systemctl show --property=…`` (key=value lines), never the human ``status`` output."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from trueup.runtime.spec import RuntimeSpec
from trueup.runtime.times import iso_from_datetime, iso_from_ms
from trueup.runtime.transport import Transport, Unreachable

# Counters (NRestarts, memory, CPU, *Monotonic uptimes) are deliberately not asked for.
PROPERTIES = (
    "Id",
    "LoadState",
    "ActiveState",
    "SubState",
    "Result",
    "MainPID",
    "ExecMainStartTimestamp",
    "ExecStart",
    "WorkingDirectory",
    "FragmentPath",
    "EnvironmentFiles",
    "NeedDaemonReload",
)

STATUS = {
    "active": "running",
    "reloading": "running",
    "activating": "starting",
    "deactivating": "stopped",
    "inactive": "stopped",
    "failed": "errored",
}

_ARGV = re.compile(r"argv\[\]=(.*?) ;")


def show_argv(spec: RuntimeSpec) -> list[str]:
    scope = ["--user"] if spec.scope == "user" else []
    # UTC timestamps: the host's local zone names (CET, PDT) are ambiguous to parse.
    return ["systemctl", *scope, "show", "--timestamp=utc", f"--property={','.join(PROPERTIES)}", "--", spec.service]


def parse_show(text: str) -> dict[str, str]:
    """``Key=value`` lines to a dict; a value may contain ``=``; a repeated key's values join with newlines."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            key = key.strip()
            out[key] = f"{out[key]}\n{value}" if key in out else value
    return out


def parse_exec_start(value: str) -> list[str]:
    """argv of the first command in an ExecStart property: ``{ path=… ; argv[]=/usr/bin/node a.js ; … }``."""
    match = _ARGV.search(value or "")
    return match.group(1).split() if match else []


def parse_timestamp(value: str | None) -> str | None:
    """``Sun 2026-11-22 01:52:24 UTC`` or ``@1795312549`` (``--timestamp=unix``) to ISO; empty/n/a → None."""
    if not value or value in ("n/a", "0"):
        return None
    if value.startswith("@"):
        return iso_from_ms(float(value[1:]) * 1000)
    parts = value.split()
    if len(parts) >= 3 and parts[-1] == "UTC":
        date_time = " ".join(parts[-3:-1])
        try:
            moment = datetime.strptime(date_time, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            return None
        return iso_from_datetime(moment)
    return None


def systemd_facts(props: dict[str, str]) -> dict[str, Any]:
    """Facts from parsed ``systemctl show`` output (pure)."""
    load = props.get("LoadState", "")
    if load in ("not-found", "") or (load != "loaded" and not props.get("FragmentPath")):
        return {"load_state": load or None, "present": False, "status": "absent"}
    active = props.get("ActiveState", "")
    status = STATUS.get(active, "unknown")
    pid = int(props.get("MainPID") or 0) or None
    argv = parse_exec_start(props.get("ExecStart", "").split("\n")[0])
    cwd = props.get("WorkingDirectory") or None
    env_files = [f.split(" ")[0] for f in (props.get("EnvironmentFiles") or "").split("\n") if f]
    return {
        "command": argv,
        "cwd": cwd.lstrip("-!") if cwd else None,  # "-" marks an optional directory in the unit
        "env_files": env_files,
        "load_state": load,
        "need_daemon_reload": props.get("NeedDaemonReload") == "yes",
        "pid": pid if status == "running" else None,
        "present": True,
        "program": argv[0] if argv else None,
        "result": props.get("Result") or None,
        "started_at": parse_timestamp(props.get("ExecMainStartTimestamp")),
        "state": f"{active}/{props.get('SubState', '')}",
        "status": status,
        "unit_file": props.get("FragmentPath") or None,
    }


def observe_systemd(spec: RuntimeSpec, transport: Transport) -> dict[str, Any]:
    result = transport.run(show_argv(spec), timeout=15)
    if not result.ok:
        raise Unreachable(f"systemctl show {spec.service} failed on {transport.describe()}: {result.first_error_line()}")
    return systemd_facts(parse_show(result.stdout))
