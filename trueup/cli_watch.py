"""`trueup watch`: registered on the same typer app as the workflow (trueup/cli.py); the work is in trueup/watch/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from trueup.cli_app import WorkspaceOpt, _state, _workspace, app
from trueup.errors import TrueupError


@app.command()
def watch(
    components: Annotated[Optional[list[str]], typer.Argument(metavar="[COMPONENT...]", help="only these components")] = None,
    once: Annotated[bool, typer.Option("--once", help="one cycle, then exit as plan --detailed-exitcode does (cron, systemd timers)")] = False,
    alert_file: Annotated[Optional[Path], typer.Option("--alert-file", help="append each alert to this file as a JSON line")] = None,
    alert_command: Annotated[Optional[str], typer.Option("--alert-command", help="run this program for each alert, the JSON on its stdin (split like a shell would, never run by one)")] = None,
    interval: Annotated[float, typer.Option("--interval", min=0.5, help="a cycle at least this often, however quiet the files are: it polls the runtime managers and fetches remote sources (file changes make cycles of their own)")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="alerts on stdout as JSON lines (default: one readable line each)")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Watch installs and services: alert once on new drift, apply what the policy allows, stay quiet otherwise.

    While it runs, `trueup plan` in this workspace is answered by it (fed by its file events; TRUEUP_NO_SERVE=1: not).

    Example: trueup watch --json --alert-file ~/trueup-alerts.jsonl
    """
    from trueup.watch import alerts, loop

    if alert_file is not None and not alert_file.parent.is_dir():
        raise TrueupError(f"--alert-file {alert_file}: directory {alert_file.parent} does not exist",
                          hint="create it first, or name a file in an existing directory")
    ws = _workspace(workspace)
    names = components or None
    if names:
        for name in names:
            ws.component(name)  # an unknown name: the one clear error, before anything runs
    sinks = alerts.Sinks(as_json, alert_file, alert_command)
    if once:
        return loop.once(ws, names, sinks)
    return loop.run(ws, names, sinks, interval, quiet=bool(_state.get("quiet")), verbose=bool(_state.get("verbose")),
                    run_command=_state.get("run_command"))
