"""The CLI's app: its root options (--debug, --version, --no-color, -q, -v) and what every command module shares —
the workspace option, the run's state, and how output is printed. Command modules (cli.py, cli_setup.py,
cli_policy.py, cli_fleet.py, cli_watch.py, cli_verify.py) register on ``app``; cli.py imports them all and runs it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from trueup.errors import EXIT_OK
from trueup.output import print_lines

# suggest_commands off: click already suggests ("Did you mean 'plan'?"); typer's own would say it twice.
APP_SETTINGS = dict(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                    suggest_commands=False, context_settings={"help_option_names": ["-h", "--help"]},
                    help="trueup: what is this machine really running, what was changed by hand, what would an upgrade change?")
# Shell completion (typer's --install-completion / --show-completion) on the whole app only: a command's lean app
# (_app_for) is built for a run, and completion always starts with no command.
app = typer.Typer(**{**APP_SETTINGS, "add_completion": True})

WorkspaceOpt = Annotated[Optional[Path], typer.Option("--workspace", "-w", envvar="TRUEUP_WORKSPACE", show_envvar=True,
                                                      help="directory with trueup.yaml (default: the nearest one at or above the current directory)")]
_state = {"debug": False}


def _workspace(path: Optional[Path]):
    from trueup.manifest import find_workspace, load_workspace

    return load_workspace(find_workspace(path))


def _print_lines(lines) -> None:
    print_lines(lines)


def _print_version(wanted: bool) -> None:
    if wanted:
        from trueup import __version__

        sys.stdout.write(f"trueup {__version__}\n")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks for errors")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="print trueup's version and exit")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="no colour and no bold (as NO_COLOR=1 does)")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars, notes or next-step hints")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="say on stderr how long the command took")] = False,
) -> None:
    _state["debug"] = debug
    _state["quiet"] = quiet
    _state["verbose"] = verbose
    if no_color:
        os.environ["NO_COLOR"] = "1"  # read by trueup.output (and rich) wherever this process prints


def _write_view(text: str, out: Optional[Path]) -> None:
    """A rendered view to stdout, or atomically to ``-o FILE`` (into a directory that exists)."""
    if out is None or str(out) == "-":
        sys.stdout.write(text)
        return
    from trueup.planner.document import check_destination
    from trueup.state.atomic import write_text

    check_destination(out)
    write_text(out, text)


def _print_json(data) -> None:
    import json

    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
