"""The CLI of policy: ``approve PLAN --policy``, ``apply PLAN --policy`` (their options live on those commands in
cli.py, which call here) and ``trueup policy explain PLAN``. Registered on the same typer app."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from trueup.cli_app import WorkspaceOpt, _print_json, _print_lines, _state, _workspace, app
from trueup.errors import EXIT_OK, TrueupError
from trueup.output import print_line
from trueup.policy.windows import decision_time

policy_app = typer.Typer(no_args_is_help=True, help="Policy: which actions may be approved by rule, and why.")
app.add_typer(policy_app, name="policy")

MANUAL_AND_POLICY = TrueupError("--policy approves by rule alone", hint="approve ids by hand in another run, or "
                                "drop --policy (--all, --type and ids are the hand-picked way)")


def _decision_line(decision, targets: list[str]) -> str:
    shown = f"{len(targets)} paths" if len(targets) > 3 else ", ".join(targets)
    where = f"{decision.component}: {shown}" if shown else decision.component
    mode = "" if decision.enforcement == "enforce" else f" [{decision.enforcement}]"
    return (f"  {decision.effect:<16} {decision.action_id} {decision.type:<15} {where}\n"
            f"  {'':<16} {decision.rule}{mode}: {decision.reason}")


def explain_lines(document: dict, decisions, plan_name: str, now: datetime) -> list[tuple[str, str | None]]:
    targets = {a["id"]: a["targets"] for a in document["actions"]}
    style = {"auto": "green", "deny": "red", "require-approval": None}
    lines: list[tuple[str, str | None]] = [
        (f"Policy decisions for {plan_name} at {now.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')} "
         f"({len(decisions)} action{'s' if len(decisions) != 1 else ''}):", "bold")]
    for decision in decisions:
        lines.append((_decision_line(decision, targets[decision.action_id]),
                      style[decision.effect] if decision.enforcement == "enforce" else "dim"))
    counts = {e: sum(1 for d in decisions if d.effect == e and d.enforcement == "enforce")
              for e in ("auto", "require-approval", "deny")}
    noted = sum(1 for d in decisions if d.enforcement != "enforce")
    lines.append((f"{counts['auto']} approved by rule, {counts['require-approval']} left to a person, "
                  f"{counts['deny']} denied" + (f", {noted} warn/dry-run only" if noted else "") + ".", None))
    if counts["auto"]:
        lines.append((f"Approve them: trueup approve {plan_name} --policy", None))
    return lines


@policy_app.command("explain")
def explain(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", help="a plan file ('-': stdin)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the decisions as JSON")] = False,
    at: Annotated[Optional[str], typer.Option("--at", help="decide as if it were this time (ISO), for windows and soak")] = None,
    workspace: WorkspaceOpt = None,
) -> int:
    """Print the policy's decision for every action of a plan, and why; changes nothing.

    Example: trueup policy explain plan.json
    """
    from trueup.planner import document as plans
    from trueup.policy import decide, load_policy, load_state

    plan = plans.load(plan_file)
    ws = _workspace(workspace)
    now = decision_time(at)
    policy = load_policy(ws)
    decisions = decide(plan.document, policy, now, load_state(ws.state_dir))
    if as_json:
        _print_json({"plan": plans.plan_name(plan_file), "plan_hash": plan.plan_hash, "at": now.isoformat(),
                     "policy": policy is not None, "decisions": [d.to_json() for d in decisions]})
        return EXIT_OK
    if policy is None:
        print_line(f"note: {ws.manifest_path.name} has no policy:, so nothing is approved by rule (README, Policy)",
                   "dim", stderr=True)
    _print_lines(explain_lines(plan.document, decisions, plans.plan_name(plan_file), now))
    return EXIT_OK


def approve_command(plan_file: Path, workspace: Optional[Path], as_json: bool, manual: bool) -> int:
    """``trueup approve PLAN --policy``."""
    from trueup.policy import approve_by_policy

    if manual:
        raise MANUAL_AND_POLICY
    approval = approve_by_policy(plan_file, _workspace(workspace), datetime.now(UTC))
    if as_json:
        _print_json({"plan": str(plan_file), "approved": approval.total,
                     "added": [{"id": d.action_id, "type": d.type, "component": d.component, "rule": d.rule_index,
                                "rule_name": d.rule_name} for d in approval.added],
                     "decisions": [d.to_json() for d in approval.decisions]})
        return EXIT_OK
    _print_lines(_approval_lines(approval, str(plan_file)))
    return EXIT_OK


def _approval_lines(approval, plan_name: str) -> list[tuple[str, str | None]]:
    lines: list[tuple[str, str | None]] = []
    if approval.added:
        lines.append((f"{len(approval.added)} action{'s' if len(approval.added) != 1 else ''} approved by policy in "
                      f"{plan_name} ({approval.total} approved in all):", None))
        lines.extend((f"  + {d.action_id} {d.type} {d.component}: {d.rule}", None) for d in approval.added)
    else:
        lines.append((f"Nothing new approved by policy in {plan_name} ({approval.total} approved in all).", None))
    left = sum(1 for d in approval.decisions if not d.approves)
    if left:
        lines.append((f"{left} left to a person or denied; why: trueup policy explain {plan_name}", "dim"))
    if approval.total:
        lines.append((f"Next: trueup apply {plan_name}", None))
    return lines


def apply_command(plan_file: Path, workspace: Optional[Path], as_json: bool, manual: bool) -> int:
    """``trueup apply PLAN --policy``: approve by policy, then apply — each plan hash at most once."""
    from trueup.actions.report import render_report, report_json
    from trueup.planner import document as plans
    from trueup.policy.auto_apply import apply_by_policy, earlier_problem

    if manual:
        raise MANUAL_AND_POLICY
    plan = plans.load(plan_file)
    ws = _workspace(workspace)
    notify = (lambda message: None) if _state.get("quiet") else (lambda message: print_line(f"note: {message}", stderr=True))
    done = apply_by_policy(ws, plan, datetime.now(UTC), write_to=None if plans.is_stdin(plan_file) else plan_file,
                           notify=notify)
    if done.earlier is not None:
        problem = earlier_problem(done.earlier, str(plan_file))
        if problem is not None:
            raise problem
        message = f"This plan was applied automatically at {done.earlier.get('at')}; nothing to do (each plan is applied once)."
        return _said(message, as_json, done.earlier.get("at"))
    if done.report is None:
        return _said("The policy approves nothing in this plan; nothing was changed "
                     f"(why: trueup policy explain {plan_file}).", as_json)
    if as_json:
        _print_json({**report_json(ws, done.report), "policy": [d.to_json() for d in done.approval.decisions]})
    else:
        _print_lines(render_report(ws, done.report))
    return EXIT_OK


def _said(message: str, as_json: bool, already: str | None = None) -> int:
    if as_json:
        _print_json({"already_applied": already, "applied": [], "notes": [message], "remaining": None})
    else:
        _print_lines([(message, None)])
    return EXIT_OK
