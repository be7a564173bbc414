"""systemd through ``systemctl show --property=…`` (key=value lines), never the human ``status`` output.

Beyond the unit itself, observe reads what a real runtime audit found wrong around it: the unit file changed
since it was loaded (``NeedDaemonReload``) or since the process started (``stale-process``: after a
daemon-reload ``ExecStart`` shows the new argv while ``MainPID`` is still the old process), and other unit
files running the same command (two generations of one watchdog). A definition renamed
``.disabled`` is no unit file to systemd, so it is never seen.
"""

from __future__ import annotations

import posixpath
import re
from datetime import UTC, datetime
from typing import Any

from trueup.runtime.commands import same_command
from trueup.runtime.spec import RuntimeSpec
from trueup.runtime.times import iso_from_datetime, iso_from_ms
from trueup.runtime.transport import CommandResult, Transport, Unreachable

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
    "DropInPaths",
    "EnvironmentFiles",
    "NeedDaemonReload",
)
# What another unit is asked, to tell whether it runs the same command.
PEER_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "ExecStart", "WorkingDirectory", "FragmentPath")
# systemd (since v239) resolves a bare ExecStart program in this fixed, compiled-in path, not in $PATH.
SEARCH_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

STATUS = {
    "active": "running",
    "reloading": "running",
    "activating": "starting",
    "deactivating": "stopped",
    "inactive": "stopped",
    "failed": "errored",
}

_ARGV = re.compile(r"argv\[\]=(.*?) ;")
_PATH = re.compile(r"\bpath=(.*?) ;")
_FRACTION = re.compile(r"(\d\d:\d\d:\d\d)\.(\d+)")


def _scope(spec: RuntimeSpec) -> list[str]:
    return ["--user"] if spec.scope == "user" else []


def show_argv(spec: RuntimeSpec, *, timestamp: str = "us+utc") -> list[str]:
    # UTC timestamps: the host's local zone names (CET, PDT) are ambiguous to parse; microseconds, so a unit
    # file written in the second a process started is not mistaken for newer than it.
    return ["systemctl", *_scope(spec), "show", f"--timestamp={timestamp}", f"--property={','.join(PROPERTIES)}",
            "--", spec.service]


def parse_show(text: str) -> dict[str, str]:
    """``Key=value`` lines to a dict; a value may contain ``=``; a repeated key's values join with newlines."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            key = key.strip()
            out[key] = f"{out[key]}\n{value}" if key in out else value
    return out


def parse_show_units(text: str) -> list[dict[str, str]]:
    """``systemctl show`` of several units: one block of ``Key=value`` lines per unit, blank-line separated."""
    return [props for block in re.split(r"\n\s*\n", text) if (props := parse_show(block))]


def parse_exec_start(value: str) -> list[str]:
    """argv of the first command in an ExecStart property: ``{ path=… ; argv[]=/usr/bin/node a.js ; … }``.

    systemd joins argv without quoting, so an argument with a space reads as two: the best any reader can do.
    """
    match = _ARGV.search(value or "")
    return match.group(1).split() if match else []


def parse_exec_path(value: str) -> str | None:
    """The program an ExecStart runs (``path=``): argv[0] may differ (``@/bin/prog name …``)."""
    match = _PATH.search(value or "")
    return match.group(1) if match else None


def parse_timestamp(value: str | None) -> str | None:
    """``Sun 2026-11-22 01:52:24[.123456] UTC`` or ``@1795312549`` (``--timestamp=unix``) to ISO; empty/n/a → None."""
    if not value or value in ("n/a", "0"):
        return None
    if value.startswith("@"):
        return iso_from_ms(float(value[1:]) * 1000)
    parts = value.split()
    if len(parts) >= 3 and parts[-1] == "UTC":
        date_time = " ".join(parts[-3:-1])
        fraction = _FRACTION.search(date_time)
        micro = int(fraction.group(2)[:6].ljust(6, "0")) if fraction else 0
        try:
            moment = datetime.strptime(_FRACTION.sub(r"\1", date_time), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
        return iso_from_datetime(moment.replace(tzinfo=UTC, microsecond=micro))
    return None


def _first_exec(props: dict[str, str]) -> str:
    return props.get("ExecStart", "").split("\n")[0]


def _cwd(props: dict[str, str]) -> str | None:
    cwd = props.get("WorkingDirectory") or None
    return cwd.lstrip("-!") if cwd else None  # "-" (shown as "!") marks an optional directory in the unit


def systemd_facts(props: dict[str, str]) -> dict[str, Any]:
    """Facts from parsed ``systemctl show`` output (pure)."""
    load = props.get("LoadState", "")
    if load in ("not-found", "") or (load != "loaded" and not props.get("FragmentPath")):
        return {"load_state": load or None, "present": False, "status": "absent"}
    active = props.get("ActiveState", "")
    status = STATUS.get(active, "unknown")
    pid = int(props.get("MainPID") or 0) or None
    exec_start = _first_exec(props)
    argv = parse_exec_start(exec_start)
    env_files = [f.split(" ")[0] for f in (props.get("EnvironmentFiles") or "").split("\n") if f]
    fragment = props.get("FragmentPath") or None
    return {
        "command": argv,
        "cwd": _cwd(props),
        "definition_files": [p for p in [fragment, *(props.get("DropInPaths") or "").split()] if p],
        "env_files": env_files,
        "load_state": load,
        "need_daemon_reload": props.get("NeedDaemonReload") == "yes",
        "pid": pid if status == "running" else None,
        "present": True,
        "program": parse_exec_path(exec_start) or (argv[0] if argv else None),
        "result": props.get("Result") or None,
        "started_at": parse_timestamp(props.get("ExecMainStartTimestamp")),
        "state": f"{active}/{props.get('SubState', '')}",
        "status": status,
        "unit_file": fragment,
    }


def duplicates(facts: dict[str, Any], peers: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The other units whose ExecStart runs what this unit runs: same program, same files (pure)."""
    mine, cwd = facts.get("command") or [], facts.get("cwd")
    out = []
    for props in peers:
        if props.get("LoadState") != "loaded" or props.get("Id") == facts.get("id"):
            continue  # masked or removed: retired
        if mine and same_command(mine, cwd, parse_exec_start(_first_exec(props)), _cwd(props)):
            out.append({"definition": props.get("FragmentPath") or None, "unit": props.get("Id"),
                        "state": f"{props.get('ActiveState', '')}/{props.get('SubState', '')}"})
    return sorted(out, key=lambda d: str(d["unit"]))


# One round trip (ssh) for the other units that may run the same command. Asking systemd about every unit file
# costs ~5 ms a unit (0.5 s for a hundred), so only the unit files (and drop-ins) that contain the command's most
# telling word — which any spelling of it contains — are asked about: found with grep in the manager's own
# search path (UnitPath; a file renamed .disabled is no unit). Templates (x@.service) cannot run by themselves.
_PEERS_SCRIPT = r"""word=$1; shift
units=$(for d in $(systemctl "$@" show --value --property=UnitPath); do
  [ -d "$d" ] && grep -RlF -e "$word" "$d" 2>/dev/null
done | sed -n 's#^.*/\([^/]*\.service\)\(\.d/[^/]*\)\{0,1\}$#\1#p' | grep -v '@\.service$' | sort -u)
[ -z "$units" ] || exec systemctl "$@" show --property=PROPERTIES -- $units
""".replace("PROPERTIES", ",".join(PEER_PROPERTIES))


def _telling_word(argv: list[str]) -> str:
    """The longest file name among the command's words: every spelling of the command contains it."""
    return max((posixpath.basename(w) or w for w in argv), key=len)


def _peers(spec: RuntimeSpec, transport: Transport, argv: list[str]) -> list[dict[str, str]]:
    if not argv:
        return []
    result = transport.run(["sh", "-c", _PEERS_SCRIPT, "sh", _telling_word(argv), *_scope(spec)], timeout=30)
    return parse_show_units(result.stdout) if result.ok else []


def _show(spec: RuntimeSpec, transport: Transport) -> CommandResult:
    result = transport.run(show_argv(spec), timeout=15)
    if not result.ok and "timestamp" in (result.stderr or ""):  # systemd before 248: no us+utc, seconds only
        result = transport.run(show_argv(spec, timestamp="utc"), timeout=15)
    if not result.ok:
        raise Unreachable(f"systemctl show {spec.service} failed on {transport.describe()}: {result.first_error_line()}")
    return result


def observe_systemd(spec: RuntimeSpec, transport: Transport) -> dict[str, Any]:
    props = parse_show(_show(spec, transport).stdout)
    facts = systemd_facts(props)
    if not facts["present"]:
        return facts
    program = facts.get("program")
    bare = [f"{d}/{program}" for d in SEARCH_PATH] if program and "/" not in program else []
    stats = transport.path_facts(facts["definition_files"] + bare)
    if bare:
        found = next((p for p in bare if stats[p]["exists"]), None)
        facts["program"] = found or program
        if found is None:  # nothing to stat later: say here that the search found nothing
            facts["program_check"] = {"executable": False, "exists": False, "path": program}
    changed = [stats[p]["mtime"] for p in facts["definition_files"] if stats[p]["mtime"]]
    facts["definition_changed_at"] = max(changed) if changed else None  # ISO UTC strings sort as times
    facts["duplicates"] = duplicates({**facts, "id": props.get("Id")}, _peers(spec, transport, facts["command"]))
    return facts
