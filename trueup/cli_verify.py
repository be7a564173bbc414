"""The CLI's verify command: each component's provenance proven offline (registered on the same app)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from trueup.cli_app import WorkspaceOpt, _print_json, _print_lines, _workspace, app
from trueup.errors import EXIT_DRIFT, EXIT_OK


@app.command()
def verify(
    component: Annotated[Optional[str], typer.Argument(help="the component to verify (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the verifications as JSON")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Prove where installed bytes came from, offline: the ref's signature (git verify-tag against trust:),
    moved tags, and the install's git tree against the signed commit's. Exit 2 when any component fails.

    Example: trueup verify recruit --json
    """
    from trueup.provenance import report

    ws = _workspace(workspace)
    results = report.verify_workspace(ws, [component] if component else None)
    if as_json:
        _print_json(report.document(ws, results))
    else:
        _print_lines(report.lines(ws, results))
    failing = any(report.unmet(ws.component(v.component).require, v) for v in results)
    return EXIT_DRIFT if failing else EXIT_OK


