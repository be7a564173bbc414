"""The thin CLI: parse, call one function, render, return an exit code. No logic lives here."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from trueup.cli_app import (  # noqa: F401  (the app and the helpers command modules share; tests reach them here)
    APP_SETTINGS, WorkspaceOpt, _print_json, _print_lines, _state, _workspace, _write_view, app,
)
from trueup.errors import EXIT_DRIFT, EXIT_ERROR, EXIT_OK, LINE_LIMIT, SOFT_LIMIT, TrueupError, one_line
from trueup.output import print_line


@app.command()
def plan(
    components: Annotated[Optional[list[str]], typer.Argument(help="components to plan (default: all)")] = None,
    out: Annotated[Optional[Path], typer.Option("-o", "--out", help="write the plan document to this file ('-': stdout)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the plan document as JSON")] = False,
    detailed_exitcode: Annotated[bool, typer.Option("--detailed-exitcode", help="exit 2 when there is drift, 0 when none")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", "--paranoid", help="hash every file; neither read nor write the stat cache (history records the run as full-hash)")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="with --detailed-exitcode: warnings exit 2 too")] = False,
    read_only: Annotated[bool, typer.Option("--read-only", help="write nothing of trueup's own either (no stat cache, lineage or history): Ansible's check mode")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Observe (read-only), classify drift, and propose actions.

    Example: trueup plan -o plan.json   (CI: trueup plan --detailed-exitcode)
    """
    from trueup.planner import document as plans
    from trueup.planner import render
    from trueup.planner.plan import make_plan
    from trueup.state.canonical import canonical_json

    if out is not None:
        plans.check_destination(out)  # before the work of planning
    to_stdout = out is not None and plans.is_stdin(out)
    document = make_plan(_workspace(workspace), components or None, use_cache=not no_cache,
                         quiet=as_json or bool(_state.get("quiet")), read_only=read_only)
    if out is not None:
        plans.write(out, document)  # '-': then the document is all that goes to stdout
    if as_json and not to_stdout:
        sys.stdout.write(canonical_json(document))
    elif not (as_json or to_stdout):
        _print_lines(render.human(document, str(out) if out else None))
        if out is None and document["actions"] and not _state.get("quiet"):
            print_line("(save it with -o plan.json to approve and apply it)", "dim")
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
    as_html: Annotated[bool, typer.Option("--html", help="one self-contained HTML page (no network)")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="write the view to this file instead of stdout")] = None,
    workspace: WorkspaceOpt = None,
) -> int:
    """Render a plan file; warns when it is altered or stale.

    Example: trueup show plan.json --markdown > comment.md
    """
    from trueup.planner import document as plans
    from trueup.planner import render, render_markdown
    from trueup.planner.preconditions import staleness_warning
    from trueup.state.canonical import canonical_json

    plan = plans.load(plan_file)
    document = plan.document
    found = staleness_warning(plan, workspace)
    if found:
        level, message = found
        print_line(f"{level}: {message}", "yellow" if level == "warning" else "dim", stderr=True)
    if as_json or as_markdown or as_html:
        if as_html:
            from trueup.planner.render_html import plan_html

            text = plan_html(document)
        else:
            text = canonical_json(document) if as_json else render_markdown.markdown(document)
        _write_view(text, out)
    else:
        _print_lines(render.human(document, None if plans.is_stdin(plan_file) else str(plan_file)))
    return EXIT_OK


@app.command()
def diff(
    args: Annotated[Optional[list[str]], typer.Argument(metavar="[COMPONENT] [PATH]...", help="a component, then paths (default: all)")] = None,
    desired: Annotated[bool, typer.Option("--desired", help="against the source ref instead of the installed version")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the diffs as JSON")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Show live content against the installed version (like git diff); writes nothing.

    Example: trueup diff recruit server/index.js --desired
    """
    from trueup.planner.diff import diff_workspace, lines

    ws = _workspace(workspace)
    found = diff_workspace(ws, args or [], desired=desired)
    if as_json:
        _print_json([{"component": c, "path": p, "diff": d} for c, p, d in found])
    else:
        _print_lines(lines(found, multi=len(ws.components) > 1))
    return EXIT_OK


@app.command()
def approve(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN")],
    ids: Annotated[Optional[list[str]], typer.Argument(metavar="[ID]...", help="action ids to approve")] = None,
    all_: Annotated[bool, typer.Option("--all", help="approve the recommended action of every group")] = False,
    types: Annotated[Optional[list[str]], typer.Option("--type", help="approve the actions of this type in every group that offers one")] = None,
    with_gates: Annotated[bool, typer.Option("--with-gates", help="also approve the recommended action of each drift gating an approved upgrade")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print what was approved as JSON")] = False,
    policy: Annotated[bool, typer.Option("--policy", help="approve what trueup.yaml's policy allows, naming the rule (README, Policy)")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Write approvals into a plan file (atomically). Approvals do not change the plan hash.

    Example: trueup approve plan.json --all --type cleanup-backups
    """
    if policy:
        from trueup.cli_policy import approve_command

        return approve_command(plan_file, workspace, as_json, manual=bool(ids or all_ or types or with_gates))
    from trueup.actions.approve import approve_in_file, render_approval

    approval = approve_in_file(plan_file, ids or [], all_=all_, types=types or [], with_gates=with_gates)
    if as_json:
        _print_json({"plan": str(plan_file), "approved": approval.total,
                     "added": [{"id": a.id, "type": str(a.type), "component": a.component, "targets": list(a.targets)}
                               for a in approval.added]})
    else:
        _print_lines(render_approval(approval, plan_file))
    return EXIT_OK


@app.command()
def apply(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="a plan file ('-': stdin)")],
    approve_ids: Annotated[Optional[list[str]], typer.Option("--approve", metavar="ID", help="also approve this action")] = None,
    approve_all: Annotated[bool, typer.Option("--approve-all", help="approve every recommended action")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print what was applied and what drift remains as JSON")] = False,
    policy: Annotated[bool, typer.Option("--policy", help="approve what the policy allows, then apply; each plan once")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """Carry out the approved actions of a plan; refuses an altered or stale plan.

    Example: trueup apply plan.json   (or: trueup plan -o - | trueup apply - --approve-all)
    """
    if policy:
        from trueup.cli_policy import apply_command

        return apply_command(plan_file, workspace, as_json, manual=bool(approve_ids or approve_all))
    from trueup.actions.apply import apply_plan
    from trueup.actions.report import render_report, report_json
    from trueup.planner import document as plans

    plan = plans.load(plan_file)
    ws = _workspace(workspace)
    report = apply_plan(ws, plan, approve=approve_ids or [], approve_all=approve_all,
                        notify=lambda message: None if _state.get("quiet") else print_line(f"note: {message}", stderr=True))
    if as_json:
        _print_json(report_json(ws, report))
    else:
        _print_lines(render_report(ws, report))
    return EXIT_OK


@app.command()
def history(
    component: Annotated[Optional[str], typer.Argument(help="a component (default: a summary of all)")] = None,
    unit: Annotated[Optional[str], typer.Argument(metavar="[PATH|ENTRY|SERVICE]", help="one unit of it (default: its files as one set)")] = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many states, the newest")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """The timeline of a component or one unit: each state, first and last seen, what changed, by whom.

    Example: trueup history recruit server/index.js
    """
    from trueup.history.views import history_command

    data, lines = history_command(_workspace(workspace), component, unit, limit)
    _print_json(data) if as_json else _print_lines(lines)
    return EXIT_OK


@app.command()
def log(
    since: Annotated[Optional[str], typer.Option("--since", help="7d, 12h, 30m or a date")] = None,
    classes: Annotated[Optional[list[str]], typer.Option("--class", help="only changes of this history class")] = None,
    component: Annotated[Optional[str], typer.Option("--component", help="only this component")] = None,
    limit: Annotated[int, typer.Option("--limit", help="at most this many changes, newest first")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,
    workspace: WorkspaceOpt = None,
) -> int:
    """The changes history recorded across components, newest first.

    Example: trueup log --since 7d --class oscillating
    """
    from trueup.history.views import log_command

    data, lines = log_command(_workspace(workspace), since=since, classes=classes or [], component=component, limit=limit)
    _print_json(data) if as_json else _print_lines(lines)
    return EXIT_OK


@app.command()
def demo(
    directory: Annotated[Optional[Path], typer.Option("--dir", help="scratch directory (default: a new temp dir)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the demo workspace and its plan document as JSON")] = False,
) -> int:
    """Copy the bundled example to a scratch directory, plan it and show the plan.

    Example: trueup demo --dir /tmp/trueup-demo
    """
    from trueup.demo import run_demo

    if as_json:
        return run_demo(directory, lambda lines: None, lambda scratch, document: _print_json(
            {"workspace": str(scratch), "plan_file": str(scratch / "plan.json"), "plan": document}))
    return run_demo(directory, _print_lines)


def _app_for(args: list[str]) -> typer.Typer:
    """The app with only the command being run: typer builds every registered command's parameters on each start
    (~2 ms a command), and a new command must not make `trueup plan` start slower. Help, a mistyped command or
    no command get the whole app (its list and its suggestions)."""
    name = next((a for a in args if not a.startswith("-")), None)  # the root options are all flags
    registered = getattr(app, "registered_commands", None)
    if registered is None:  # not a typer app (a test's stand-in): run it as it is
        return app
    chosen = [c for c in registered if (c.name or c.callback.__name__.replace("_", "-")) == name]
    if not chosen:
        return app
    lean = typer.Typer(**APP_SETTINGS)
    lean.registered_callback = app.registered_callback
    lean.registered_commands = chosen
    return lean


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    _state.update(quiet=False, verbose=False)
    started = time.monotonic()
    try:
        result = _app_for(args)(args=args, prog_name="trueup", standalone_mode=False)
        code = result if isinstance(result, int) else EXIT_OK
        if _state.get("verbose"):
            command = next((a for a in args if not a.startswith("-")), "")
            print_line(f"trueup: {command}: exit {code} in {time.monotonic() - started:.2f} s", "dim", stderr=True)
        return code
    except TrueupError as exc:
        if debug:
            raise
        _error_line(f"trueup: error: {one_line(exc.message, exc.hint, LINE_LIMIT - 16, SOFT_LIMIT - 16)}", "red")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Usage errors come from the click that typer vendors; recognise them by their interface.
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            # The hint names the command that was run: `trueup plan --help`, not always `trueup --help`.
            command = getattr(getattr(exc, "ctx", None), "command_path", None) or "trueup"
            _error_line(f"trueup: error: {one_line(exc.format_message(), f'{command} --help', LINE_LIMIT - 16, SOFT_LIMIT - 16)}")
            return EXIT_ERROR
        if type(exc).__name__ in ("Exit", "Abort"):
            return getattr(exc, "exit_code", EXIT_ERROR)
        # A bug in trueup: one line unless --debug asks for the traceback.
        if debug or os.environ.get("TRUEUP_DEBUG"):
            raise
        _error_line("trueup: internal error: " + one_line(f"{type(exc).__name__}: {exc}", None, LINE_LIMIT - 62, SOFT_LIMIT - 62)
                    + " (run with --debug for the traceback)")
        return EXIT_ERROR


def _error_line(text: str, style: str | None = None) -> None:
    """The one line an error gets on stderr (already escaped and shortened: errors.one_line)."""
    print_line(text, style, stderr=True)


# What trueup watch runs to answer a caller's `trueup plan` (watch/serve.py): handed down through the CLI's state,
# not imported there, so the watcher's modules never import the CLI above them.
_state["run_command"] = main


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


# The other command modules register on the same app (cli_app.py) after the workflow above, so `trueup --help`
# lists plan, show, diff, approve, apply first. Setting up, checking, serving agents (cli_setup.py):
from trueup import cli_setup  # noqa: E402,F401
from trueup import cli_policy  # noqa: E402,F401  (policy explain; approve/apply --policy call into it)
from trueup import cli_fleet  # noqa: E402,F401  (trueup fleet: the summary of many hosts' plans)
from trueup import cli_watch  # noqa: E402,F401  (trueup watch: alerts, and heals by policy, as things drift)
from trueup import cli_verify  # noqa: E402,F401  (trueup verify: provenance proven offline)
