"""launchd: the job's plist (plistlib) and ``launchctl list`` (tab-separated PID, Status, Label).

Other plists beside the definition that run the same program on the same files are reported (two generations
of one job, both loaded at login); one renamed ``.plist.disabled`` or marked ``Disabled`` is retired, not drift.
"""

from __future__ import annotations

import plistlib
import posixpath
from datetime import UTC, datetime
from typing import Any

from trueup.runtime.commands import same_command
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
        "disabled": plist.get("Disabled") is True,
        "label": plist.get("Label"),
        # Only the program is a path that must exist; later arguments (/health, URLs, flags) are data.
        "program": program,
    }


MAX_PEERS = 200  # plists read beside the definition (one read each): a LaunchAgents directory holds tens


def _plists_beside(path: str, transport: Transport) -> list[str]:
    """The other ``*.plist`` files in the definition's directory (a ``.plist.disabled`` is not one: retired)."""
    script = 'for f in "$1"/*.plist; do [ -f "$f" ] && printf "%s\\n" "$f"; done; true'
    result = transport.run(["sh", "-c", script, "sh", posixpath.dirname(path)], timeout=15)
    listed = [line for line in result.stdout.splitlines() if line and line != path] if result.ok else []
    return sorted(listed)[:MAX_PEERS]


def duplicates(spec: RuntimeSpec, definition: dict[str, Any], transport: Transport,
               jobs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Other enabled plists beside the definition whose program and arguments are this one's (two generations
    of one job, both loaded at login)."""
    mine = definition.get("command") or []
    out = []
    for path in _plists_beside(spec.definition, transport) if mine else []:
        data = transport.read_bytes(path)
        try:
            other = parse_plist(data) if data is not None else None
        except ValueError:
            continue  # not a job launchd would load either
        if other is None or other["disabled"] or other["label"] == definition.get("label"):
            continue
        if same_command(mine, definition.get("cwd"), other["command"], other["cwd"]):
            state = "loaded" if other["label"] in jobs else "not loaded"
            out.append({"definition": path, "state": state, "unit": other["label"]})
    return out


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
                definition = {"command": [], "cwd": None, "disabled": False, "label": None, "program": None,
                              "invalid": str(exc)}
    result = transport.run(["launchctl", "list"], timeout=15)
    if not result.ok:
        raise Unreachable(f"launchctl list failed on {transport.describe()}: {result.first_error_line()}")
    jobs = parse_list(result.stdout)
    facts = launchd_facts(definition, jobs.get(spec.service), spec.definition)
    if definition is not None and "invalid" not in definition:
        facts["duplicates"] = duplicates(spec, definition, transport, jobs)
    if facts.get("pid"):
        started = transport.run(start_time_argv(facts["pid"]), timeout=10)
        try:
            moment = datetime.strptime(" ".join(started.stdout.split()), "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
            facts["started_at"] = iso_from_datetime(moment)
        except ValueError:
            facts["started_at"] = None
    return facts
