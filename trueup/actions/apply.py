"""The apply orchestrator: verify, lock, re-check preconditions, run approved actions through their providers, record."""

from __future__ import annotations

import json
from collections import defaultdict

from attrs import define, field

from trueup import config, files, runtime
from trueup.errors import TrueupError
from trueup.files.carry import VerdictCarry
from trueup.files.context import FilesContext
from trueup.manifest import ComponentSpec, Workspace
from trueup.model.plan import APPLY_ORDER, Action, Plan, TargetKind
from trueup.planner import honest, preconditions, selection
from trueup.planner.document import verify_hash
from trueup.source import Source, repo_location
from trueup.state import atomic, journal
from trueup.state import ledger as ledgers
from trueup.state import lineage as lineages
from trueup.state.lock import exclusive_lock

# Which provider carries out an action is decided by what its targets are, never by its details or prose.
PROVIDER_FOR = {TargetKind.FILE: files, TargetKind.CONFIG_ENTRY: config, TargetKind.SERVICE: runtime}


@define
class ApplyReport:
    applied: list[Action] = field(factory=list)
    notes: list[str] = field(factory=list)
    already_applied: str | None = None


def select(plan: Plan, approve: list[str], approve_all: bool) -> list[Action]:
    """The approved actions: flags in the file, plus --approve IDs, plus --approve-all (recommended ones)."""
    unknown = selection.unknown_ids(plan.actions, approve)
    if unknown:
        raise TrueupError(f"no action with id {unknown[0]} in this plan", hint="see the ids with trueup show PLAN")
    return selection.choose(plan.actions, approve, all_recommended=approve_all)


GATE_HINT = ("approve an action for each gate too (accept-local keeps a local change): "
             "trueup approve PLAN --with-gates {id}, or --approve ID here")


def _already_applied(workspace: Workspace, plan_hash: str, lineage: str) -> str | None:
    path = workspace.state_dir / "journal.jsonl"
    if not path.exists():
        return None
    for line in path.read_text("utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        # One plan_hash may be planned in several workspaces sharing a state dir: the lineage tells them apart.
        if (entry.get("event") == "plan-applied" and entry.get("plan_hash") == plan_hash
                and entry.get("lineage") == lineage):
            return entry.get("at")
    return None


def apply_plan(workspace: Workspace, plan: Plan, *, approve: list[str], approve_all: bool,
               notify=lambda message: None) -> ApplyReport:
    verify_hash(plan.document, plan.where)
    # A plan made for another workspace is refused whatever it holds; the workspace's first apply makes its lineage.
    preconditions.check_lineage(plan, lineages.ensure(workspace.state_dir, workspace.root))
    chosen = select(plan, approve, approve_all)
    report = ApplyReport()
    if not chosen:
        return report
    selection.check_gates(plan.actions, chosen, hint=GATE_HINT)
    with exclusive_lock(workspace.state_dir, notify):
        atomic.remove_dead_leftovers(workspace.state_dir)  # a killed run's temp files and scratch (state/atomic.py)
        when = _already_applied(workspace, plan.plan_hash, plan.lineage)
        if when:
            report.already_applied = when
            return report
        preconditions.check(workspace, chosen)
        by_component: dict[str, list[Action]] = defaultdict(list)
        for action in chosen:
            by_component[action.component].append(action)
        # Validate completely, then write: every ledger apply will rewrite (never on a memo's word), then every
        # approved file action against the one trueup proposes now. A refusal here has changed nothing.
        ledgers_now = {name: ledgers.load_for_rewrite(workspace.component(name).install_path,
                                                      workspace.state_dir / "cache", notify)
                       for name in sorted(by_component)}
        honest.check_proposed(workspace, chosen, notify)
        for name in sorted(by_component):
            _apply_component(workspace, workspace.component(name), by_component[name], plan.plan_hash, report,
                             ledgers_now[name])
        journal.record(workspace.state_dir, {"event": "plan-applied", "plan_hash": plan.plan_hash,
                                             "lineage": plan.lineage, "actions": [a.id for a in chosen]})
    return report


def _apply_component(workspace: Workspace, spec: ComponentSpec, actions: list[Action], plan_hash: str,
                     report: ApplyReport, ledger: dict | None) -> None:
    source = Source(repo_location(spec, workspace.root, workspace.state_dir))
    with atomic.scratch_dir(workspace.state_dir) as scratch:  # private (0700): merges copy operator files there
        carry = VerdictCarry(spec.install_path, workspace.state_dir / "cache", ledger)
        ctx = FilesContext(workspace=workspace, spec=spec, source=source, ledger=ledger, scratch=scratch)
        try:
            for action in sorted(actions, key=lambda a: APPLY_ORDER.index(a.type)):
                PROVIDER_FOR[action.target_kind].apply(action, ctx)
                journal.record(workspace.state_dir, {"event": "action", "plan_hash": plan_hash, "id": action.id,
                                                     "type": str(action.type), "component": spec.name,
                                                     "targets": list(action.targets[:50])})
                report.applied.append(action)
        finally:
            # Files first, ledger last: whatever was written is recorded even if a later action failed.
            if ctx.ledger is not None:
                carry.finish(ctx.ledger, ledgers.save(spec.install_path, ctx.ledger, workspace.state_dir / "cache"))
            report.notes.extend(f"{spec.name}: {n}" for n in ctx.notes)


__all__ = ["ApplyReport", "apply_plan", "select"]
