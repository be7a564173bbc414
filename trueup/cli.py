"""The thin CLI: parse, call one function, render, return an exit code. No logic lives here."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from trueup.errors import EXIT_DRIFT, EXIT_ERROR, EXIT_OK, TrueupError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="trueup: what is this machine really running, what was changed by hand, what would an upgrade change?")

WorkspaceOpt = Annotated[Optional[Path], typer.Option("--workspace", "-w", help="directory with trueup.yaml [env: TRUEUP_WORKSPACE]")]
_state = {"debug": False}


def _console(stderr: bool = False):
    from rich.console import Console

    # rich honours NO_COLOR and only colours a terminal; highlight off keeps paths and ids unstyled.
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _workspace(path: Optional[Path]):
    from trueup.manifest import find_workspace, load_workspace

    return load_workspace(find_workspace(path))


def _print_lines(lines) -> None:
    """Print (text, style) lines exactly as one ``console.print(text, style=style, markup=False)`` each would, at once.

    Without colour (not a terminal, or a dumb one) styles print nothing, so the text goes out in one write;
    otherwise one rich Text carries every line's style. The text is what rich makes of it either way: emoji codes
    replaced and control codes stripped here, tabs expanded by rich (text with a tab takes rich's path).
    """
    from rich._emoji_replace import _emoji_replace
    from rich.control import strip_control_codes

    console = _console()
    lines = [(_emoji_replace(text) if ":" in text else text, style) for text, style in lines]
    if not lines:
        return
    joined = strip_control_codes("\n".join(text for text, _ in lines))
    if console.color_system is None and "\t" not in joined:
        console.file.write(joined + "\n")
        console.file.flush()
        return
    from rich.text import Text

    out = Text()
    for index, (text, style) in enumerate(lines):
        if index:
            out.append("\n")
        out.append(text, style=style)
    console.print(out, markup=False)


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks for errors")] = False) -> None:
    _state["debug"] = debug


@app.command()
def plan(
    components: Annotated[Optional[list[str]], typer.Argument(help="components to plan (default: all)")] = None,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="write the plan document to this file ('-': stdout)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan document as JSON")] = False,
    detailed_exitcode: Annotated[bool, typer.Option("--detailed-exitcode", help="exit 2 when there is drift, 0 when none")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="hash every file; neither read nor write the stat cache")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="with --detailed-exitcode: warnings exit 2 too")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Observe (read-only), classify drift, and propose actions."""
    from trueup.planner import document as plans
    from trueup.planner import render
    from trueup.planner.plan import make_plan
    from trueup.state.atomic import canonical_json

    if out is not None:
        plans.check_destination(out)  # before the work of planning
    to_stdout = out is not None and plans.is_stdin(out)
    document = make_plan(_workspace(workspace), components or None, use_cache=not no_cache, quiet=as_json)
    if out is not None:
        plans.write(out, document)  # '-': then the document is all that goes to stdout
    if as_json and not to_stdout:
        sys.stdout.write(canonical_json(document))
    elif not (as_json or to_stdout):
        _print_lines(render.human(document, str(out) if out else None))
        if out is None and document["actions"]:
            _console().print("(save it with -o plan.json to approve and apply it)", style="dim")
    return _plan_exit(document, detailed_exitcode, strict)


def _plan_exit(document, detailed: bool, strict: bool = False) -> int:
    from trueup.planner.document import exit_for

    code = exit_for(document)
    if code != EXIT_OK:
        return code
    failing = document["summary"]["drift"] or (strict and document["summary"].get("warnings"))
    return EXIT_DRIFT if detailed and failing else EXIT_OK


@app.command()
def show(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="a plan file from trueup plan -o ('-': stdin)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the plan document")] = False,
    as_markdown: Annotated[bool, typer.Option("--markdown", help="markdown for a pull-request comment")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Render a plan file; warns when it is altered or stale."""
    from trueup.planner import document as plans
    from trueup.planner import render, render_markdown
    from trueup.planner.preconditions import staleness_warning
    from trueup.state.atomic import canonical_json

    plan = plans.load(plan_file)
    document = plan.document
    found = staleness_warning(plan, workspace)
    if found:
        level, message = found
        _console(stderr=True).print(f"{level}: {message}", style="yellow" if level == "warning" else "dim", markup=False)
    if as_json:
        sys.stdout.write(canonical_json(document))
    elif as_markdown:
        sys.stdout.write(render_markdown.markdown(document))
    else:
        _print_lines(render.human(document, None if plans.is_stdin(plan_file) else str(plan_file)))
    return EXIT_OK


@app.command()
def diff(
    args: Annotated[Optional[list[str]], typer.Argument(metavar="[COMPONENT] [PATH]...", help="a component, then paths (default: all)")] = None,
    desired: Annotated[bool, typer.Option("--desired", help="against the source ref instead of the installed version")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Show live content against the installed version (like git diff); writes nothing."""
    from trueup.planner.diff import diff_workspace, lines

    ws = _workspace(workspace)
    _print_lines(lines(diff_workspace(ws, args or [], desired=desired), multi=len(ws.components) > 1))
    return EXIT_OK


@app.command()
def approve(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN")],
    ids: Annotated[Optional[list[str]], typer.Argument(metavar="[ID]...", help="action ids to approve")] = None,
    all_: Annotated[bool, typer.Option("--all", help="approve the recommended action of every group")] = False,
    types: Annotated[Optional[list[str]], typer.Option("--type", help="approve the actions of this type in every group that offers one")] = None,
    with_gates: Annotated[bool, typer.Option("--with-gates", help="also approve the recommended action of each drift gating an approved upgrade")] = False,
) -> int:
    """Write approvals into a plan file (atomically). Approvals do not change the plan hash."""
    from trueup.actions.approve import approve_in_file, render_approval

    approval = approve_in_file(plan_file, ids or [], all_=all_, types=types or [], with_gates=with_gates)
    _print_lines(render_approval(approval, plan_file))
    return EXIT_OK


@app.command()
def apply(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="a plan file ('-': stdin)")],
    approve_ids: Annotated[Optional[list[str]], typer.Option("--approve", metavar="ID", help="also approve this action")] = None,
    approve_all: Annotated[bool, typer.Option("--approve-all", help="approve every recommended action")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Carry out the approved actions of a plan; refuses an altered or stale plan."""
    from trueup.actions.apply import apply_plan
    from trueup.actions.report import render_report
    from trueup.planner import document as plans

    plan = plans.load(plan_file)
    ws = _workspace(workspace)
    err = _console(stderr=True)
    report = apply_plan(ws, plan, approve=approve_ids or [], approve_all=approve_all,
                        notify=lambda message: err.print(f"note: {message}", markup=False))
    _print_lines(render_report(ws, report))
    return EXIT_OK


@app.command()
def fleet(
    plan_files: Annotated[list[Path], typer.Argument(metavar="PLAN...", help="plan documents from many hosts")],
    as_json: Annotated[bool, typer.Option("--json", help="print the summary rows as JSON")] = False,
) -> int:
    """Summarise plans from many hosts: versions, local patches, stale processes, unreviewed backups."""
    import json

    from trueup.fleet import render, summarise

    rows = summarise(plan_files)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, sort_keys=True) + "\n")
    else:
        _console().print(render(rows))
    return EXIT_DRIFT if any(r["drift"] for r in rows) else EXIT_OK


@app.command()
def demo(
    directory: Annotated[Optional[Path], typer.Option("--dir", help="scratch directory (default: a new temp dir)")] = None,
) -> int:
    """Copy the bundled example to a scratch directory, plan it and show the plan."""
    from trueup.demo import run_demo

    return run_demo(directory, _print_lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        result = app(args=args, prog_name="trueup", standalone_mode=False)
        return result if isinstance(result, int) else EXIT_OK
    except TrueupError as exc:
        if debug:
            raise
        _console(stderr=True).print(f"trueup: error: {exc}", markup=False, style="red")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Usage errors come from the click that typer vendors; recognise them by their interface.
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            _console(stderr=True).print(f"trueup: error: {exc.format_message()} (hint: trueup --help)", markup=False)
            return EXIT_ERROR
        if type(exc).__name__ in ("Exit", "Abort"):
            return getattr(exc, "exit_code", EXIT_ERROR)
        # A bug in trueup: one line unless --debug asks for the traceback.
        if debug or os.environ.get("TRUEUP_DEBUG"):
            raise
        _console(stderr=True).print(f"trueup: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                                    markup=False)
        return EXIT_ERROR


def console() -> None:
    """The ``trueup`` console script (and ``python -m trueup``): main(), then leave without finalization.

    Tearing the interpreter down frees every object a plan made, which at scale costs time for nothing
    (docs/performance.md, "Numbers behind the code"): all files trueup writes are closed by then, no thread
    runs, and stdio is flushed here first.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (trueup plan | head): what it read is all it wanted
        pass
    os._exit(code)
