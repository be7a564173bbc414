"""`trueup doctor`: can this machine plan and apply the workspace? One line per check, what is missing named.

Checks only what the declared components need (pm2 only when a component runs under PM2, ssh only for the
hosts named), so a workspace of plain file installs is healthy without docker or systemd.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from attrs import frozen

from trueup.manifest import Workspace

# The program each service manager is asked through (launchctl cannot run on Linux: reported, not required).
MANAGER_PROGRAMS = {"pm2": "pm2", "systemd": "systemctl", "docker": "docker", "launchd": "launchctl"}


@frozen
class Check:
    name: str
    ok: bool
    detail: str
    needed_by: tuple[str, ...] = ()  # components that cannot be observed without it; empty: informational

    @property
    def failing(self) -> bool:
        return not self.ok and bool(self.needed_by)


def _version(argv: list[str], env: dict[str, str] | None = None) -> str | None:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=20,
                                env={**os.environ, **(env or {})})
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (result.stdout or result.stderr).strip().splitlines()
    return text[0][:80] if result.returncode == 0 and text else None


def _program(name: str, program: str, args: list[str], needed_by: tuple[str, ...]) -> Check:
    found = shutil.which(program) if os.sep not in program else (program if os.access(program, os.X_OK) else None)
    if not found:
        return Check(name, False, f"{program} not found on PATH", needed_by)
    version = _version([found, *args])
    return Check(name, version is not None, version or f"{found} does not answer {' '.join(args)}", needed_by)


def _writable(path: Path) -> Check:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent  # the state dir is created on first use: its nearest existing parent must allow it
    ok = os.access(probe, os.W_OK | os.X_OK)
    return Check("state dir", ok, f"{path} ({'writable' if ok else f'{probe} is not writable'})", ("all",))


def _ssh(host: str, options: tuple[str, ...], needed_by: tuple[str, ...]) -> Check:
    from trueup.runtime.transport import Transport, Unreachable

    try:
        Transport.for_host(host, options).run(["true"], timeout=15)
    except Unreachable as exc:
        return Check(f"ssh {host}", False, str(exc), needed_by)
    return Check(f"ssh {host}", True, "reachable (BatchMode, key authentication)", needed_by)


def checks(workspace: Workspace) -> list[Check]:
    from trueup.schemas.validate import schemas_digest

    names = tuple(c.name for c in workspace.components)
    out = [_program("git", "git", ["--version"], names), _writable(workspace.state_dir)]
    by_manager: dict[str, list[str]] = {}
    hosts: dict[str, tuple[tuple[str, ...], list[str]]] = {}
    pm2_binaries: dict[str, list[str]] = {}
    for spec in workspace.components:
        block: dict[str, Any] = spec.runtime or {}
        manager = block.get("manager")
        if not manager or manager == "external":
            continue
        if block.get("host"):
            options = block.get("ssh_options") or ()
            options = (options,) if isinstance(options, str) else tuple(options)
            hosts.setdefault(block["host"], (options, []))[1].append(spec.name)
            continue  # the manager runs on that host: ssh is what this machine needs
        if manager == "pm2":
            binary = block.get("pm2") or os.environ.get("TRUEUP_PM2") or "pm2"
            pm2_binaries.setdefault(binary, []).append(spec.name)
        else:
            by_manager.setdefault(manager, []).append(spec.name)
    for binary, users in sorted(pm2_binaries.items()):
        out.append(_program("pm2", binary, ["--version"], tuple(users)))
    for manager, users in sorted(by_manager.items()):
        program = MANAGER_PROGRAMS[manager]
        out.append(_program(manager, program, ["--version"] if manager != "launchd" else ["version"], tuple(users)))
    if hosts:
        out.append(_program("ssh", "ssh", ["-V"], tuple(sorted({u for _, us in hosts.values() for u in us}))))
        for host, (options, users) in sorted(hosts.items()):
            out.append(_ssh(host, options, tuple(users)))
    out.append(Check("schemas", True, f"workspace, plan and ledger schemas {schemas_digest()[:12]}"))
    return out


def lines(found: list[Check]) -> list[tuple[str, str | None]]:
    width = max(len(c.name) for c in found)
    out = []
    for check in found:
        mark, style = ("ok  ", "green") if check.ok else ("FAIL", "red") if check.failing else ("warn", "yellow")
        needed = f" (needed by {', '.join(check.needed_by)})" if not check.ok and check.needed_by else ""
        out.append((f"{mark} {check.name.ljust(width)}  {check.detail}{needed}", style))
    failing = [c for c in found if c.failing]
    out.append((f"{len(failing)} problem{'' if len(failing) == 1 else 's'} found." if failing
                else "Everything the declared components need is here.", "bold red" if failing else "bold green"))
    return out
