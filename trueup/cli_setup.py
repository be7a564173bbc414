"""The CLI's setup and tooling commands: version, init, validate, doctor, schema, mcp.

The plan → review → apply workflow lives in trueup/cli.py; these help an operator (or an agent) start a
workspace, check it and the machine, and read trueup from elsewhere. They register on the same typer app.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from trueup.cli_app import WorkspaceOpt, _print_json, _print_lines, _workspace, app
from trueup.errors import EXIT_ERROR, EXIT_OK, TrueupError


@app.command()
def version(as_json: Annotated[bool, typer.Option("--json", help="as JSON")] = False) -> int:
    """Print trueup's version (and, with --json, the plan format and schema digest it writes).

    Example: trueup version --json
    """
    from trueup import __version__

    if as_json:
        from trueup.planner.document import FORMAT_VERSION
        from trueup.schemas.validate import schemas_digest

        _print_json({"version": __version__, "plan_format": FORMAT_VERSION, "schemas_sha256": schemas_digest(),
                     "python": sys.version.split()[0]})
    else:
        sys.stdout.write(f"trueup {__version__}\n")
    return EXIT_OK


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="the install directory to manage (default: the current directory)")] = Path("."),
    source: Annotated[Optional[str], typer.Option("--source", help="git URL or path of its source (default: the checkout's origin)")] = None,
    ref: Annotated[Optional[str], typer.Option("--ref", help="tag or branch to track")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the path written as JSON")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Write a commented trueup.yaml for an existing install (never over one that exists).

    Example: trueup init ~/zylos/.claude/skills/recruit --source https://github.com/zz-howard/zylos-recruit --ref v0.2.19
    """
    from trueup.scaffold import init as scaffold

    root = (workspace or Path(os.environ.get("TRUEUP_WORKSPACE") or ".")).expanduser().resolve()
    written = scaffold(root, path.expanduser().resolve(), source, ref)
    if as_json:
        _print_json({"written": str(written)})
    else:
        _print_lines([(f"Wrote {written}.", "green"), ("Next: trueup validate, then trueup plan -o plan.json", None)])
    return EXIT_OK


@app.command()
def validate(
    as_json: Annotated[bool, typer.Option("--json", help="print the problems as JSON")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Check trueup.yaml and its includes without observing anything; lists every problem, not just the first.

    Example: trueup validate -w ~/zylos-ops
    """
    from trueup.manifest import find_workspace
    from trueup.manifest_check import problems

    root = find_workspace(workspace)
    found = problems(root)
    if as_json:
        _print_json({"workspace": str(root), "valid": not found,
                     "problems": [{"problem": p, "hint": h} for p, h in found]})
    elif found:
        _print_lines([(f"{p}" + (f" (hint: {h})" if h else ""), "red") for p, h in found]
                     + [(f"{len(found)} problem{'' if len(found) == 1 else 's'} in {root}.", "bold")])
    else:
        _print_lines([(f"{root / 'trueup.yaml'}: valid.", "green")])
    return EXIT_ERROR if found else EXIT_OK


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="print the checks as JSON")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Check this machine can plan and apply the workspace: git, service managers, ssh hosts, state dir.

    Example: trueup doctor
    """
    from trueup.doctor import checks, lines

    found = checks(_workspace(workspace))
    if as_json:
        _print_json([{"name": c.name, "ok": c.ok, "detail": c.detail, "needed_by": list(c.needed_by)} for c in found])
    else:
        _print_lines(lines(found))
    return EXIT_ERROR if any(c.failing for c in found) else EXIT_OK


@app.command()
def schema(
    name: Annotated[str, typer.Argument(help="workspace, plan, ledger, runtime or component-file")] = "workspace",
) -> int:
    """Print a JSON Schema trueup validates against (for editors: yaml-language-server, VS Code).

    Example: trueup schema workspace > .vscode/trueup.schema.json
    """
    from trueup.schemas.validate import SCHEMA_DIR

    path = SCHEMA_DIR / f"{name}.schema.json"
    if "/" in name or not path.is_file():
        names = sorted(p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json"))
        raise TrueupError(f"no schema named {name!r}", hint="one of: " + ", ".join(names))
    sys.stdout.write(path.read_text("utf-8"))
    return EXIT_OK


@app.command()
def mcp(workspace: WorkspaceOpt = None) -> int:
    """Serve read-only tools (plan, show, diff, fleet_summary, history, verify, policy_explain) to agents over MCP on stdio.

    Example: trueup mcp -w ~/zylos-ops   (in an MCP client's server config). Needs the optional extra: pip install 'trueup[mcp]'. There is no apply tool: nothing served changes anything.
    """
    try:
        from trueup.mcp_server import serve
        import mcp as _sdk  # noqa: F401
    except ImportError:
        raise TrueupError("the MCP server needs the mcp package", hint="pip install 'trueup[mcp]'") from None
    serve(workspace)
    return EXIT_OK
