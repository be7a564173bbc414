"""The `trueup` console script and `python -m trueup`: a plan a running `trueup watch` answers (trueup/served.py),
else the CLI."""

from __future__ import annotations

import os
import sys

from trueup.served import ask


def console() -> None:
    """A served plan, else the CLI (trueup.cli.console)."""
    code = ask(sys.argv[1:])
    if code is None:
        from trueup.cli import console as cli

        cli()
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)
