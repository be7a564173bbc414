"""The CLI's fleet command: summarise plan documents collected from many hosts (registered on the same app)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from trueup.cli_app import _print_lines, _write_view, app


def _width() -> int | None:
    """A terminal's width; None when piped (then every cell is whole and one row is one line)."""
    try:
        if not sys.stdout.isatty():
            return None
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return None


@app.command()
def fleet(
    plan_files: Annotated[list[Path], typer.Argument(metavar="PLAN...", help="plan documents from many hosts, or directories of them (their *.json)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the summary rows as JSON")] = False,
    as_html: Annotated[bool, typer.Option("--html", help="one self-contained HTML page (no network)")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write the view to this file instead of stdout")] = None,
) -> int:
    """Summarise plans from many hosts: versions, local patches, stale processes, unreviewed backups.

    Example: trueup fleet plans/*.json   (exit 2: a host drifted; 8: some hosts unreachable; 5: none reachable)
    """
    import json

    from trueup.fleet import exit_code, summarise

    rows = summarise(plan_files)
    if as_json:
        _write_view(json.dumps(rows, indent=2, sort_keys=True) + "\n", out)
    elif as_html:
        from trueup.planner.render_html import fleet_html

        _write_view(fleet_html(rows), out)
    elif out is not None:
        from trueup.fleet_table import table

        _write_view("\n".join(text for text, _ in table(rows, None)) + "\n", out)
    else:
        from trueup.fleet_table import table

        _print_lines(table(rows, _width()))
    return exit_code(rows)
