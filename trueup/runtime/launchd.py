"""launchd: the job's plist (plistlib) and ``launchctl list`` (tab-separated PID, Status, Label)."""

from __future__ import annotations

import plistlib
from datetime import UTC, datetime
from typing import Any

from trueup.runtime.spec import RuntimeSpec
from trueup.runtime.times import iso_from_datetime
from trueup.runtime.transport import Transport, Unreachable


def parse_plist(data: bytes) -> dict[str, Any]:
    """The definition a plist declares: label, argv (ProgramArguments, or Program alone), cwd."""
    try:
        plist = plistlib.loads(data)
    except (plistlib.InvalidFileException, ValueError, TypeError) as exc:
        raise ValueError(f"not a property list: {exc}") from None
    if not isinstance(plist, dict):
        raise ValueError("not a property list dictionary")
    args = [str(a) for a in plist.get("ProgramArguments") or []]
    program = plist.get("Program") or (args[0] if args else None)
    if plist.get("Program") and not args:
        args = [plist["Program"]]
    return {
        "command": args,
        "cwd": plist.get("WorkingDirectory"),
        "label": plist.get("Label"),
        # Only the program is a path that must exist; later arguments (/health, URLs, flags) are data.
        "program": program,
    }


def _int_or_none(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None  # "-": no pid / no exit status yet


def parse_list(text: str) -> dict[str, dict[str, Any]]:
    """``launchctl list``: ``PID<TAB>Status<TAB>Label`` rows (PID ``-`` when not running)."""
    jobs: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] == "PID":
            continue
        pid, last_exit, label = parts
        jobs[label] = {"last_exit": _int_or_none(last_exit), "pid": _int_or_none(pid)}
    return jobs


def launchd_facts(definition: dict[str, Any] | None, job: dict[str, Any] | None, definition_path: str | None) -> dict[str, Any]:
    """Facts from the parsed plist and the job's ``launchctl list`` row (pure)."""
    facts: dict[str, Any] = {"definition": definition_path, "definition_found": definition is not None}
    if definition is not None:
        facts.update({k: definition[k] for k in ("command", "cwd", "label", "program")})
        if "invalid" in definition:
            facts["definition_invalid"] = definition["invalid"]
    if job is None:
        return {**facts, "present": False, "status": "absent"}
    pid = job.get("pid")
    # launchd keeps a loaded job with no pid; a nonzero last exit means it died.
    status = "running" if pid else ("errored" if job.get("last_exit") else "stopped")
    return {**facts, "last_exit": job.get("last_exit"), "pid": pid, "present": True, "status": status}


def start_time_argv(pid: int) -> list[str]:
    # `ps -o lstart` is on Linux and macOS; TZ and LC_ALL pin its format to one parsable form.
    return ["env", "TZ=UTC", "LC_ALL=C", "ps", "-o", "lstart=", "-p", str(pid)]


def observe_launchd(spec: RuntimeSpec, transport: Transport) -> dict[str, Any]:
    definition = None
    if spec.definition:
        data = transport.read_bytes(spec.definition)
        if data is not None:
            try:
                definition = parse_plist(data)
            except ValueError as exc:
                definition = {"command": [], "cwd": None, "label": None, "program": None, "invalid": str(exc)}
    result = transport.run(["launchctl", "list"], timeout=15)
    if not result.ok:
        raise Unreachable(f"launchctl list failed on {transport.describe()}: {result.first_error_line()}")
    facts = launchd_facts(definition, parse_list(result.stdout).get(spec.service), spec.definition)
    if facts.get("pid"):
        started = transport.run(start_time_argv(facts["pid"]), timeout=10)
        try:
            moment = datetime.strptime(" ".join(started.stdout.split()), "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
            facts["started_at"] = iso_from_datetime(moment)
        except ValueError:
            facts["started_at"] = None
    return facts
