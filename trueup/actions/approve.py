"""Write approvals into a plan file; approvals are outside the plan hash, so review can flip them."""

from __future__ import annotations

from pathlib import Path

from attrs import frozen

from trueup.errors import TrueupError
from trueup.model.plan import Action
from trueup.planner import document as plans
from trueup.planner import selection
from trueup.planner.render import plural
from trueup.state.atomic import write_text
from trueup.state.canonical import canonical_json

SHOWN = 10  # added actions listed one by one; more are counted


@frozen
class Approval:
    """What one approve did: the actions it added (file order) and how many the plan now has approved."""

    added: tuple[Action, ...]
    total: int


def approve_in_file(path: Path, ids: list[str], *, all_: bool, types: list[str], with_gates: bool = False) -> Approval:
    if plans.is_stdin(path):
        raise TrueupError("approve writes the approvals back into the plan file, and standard input is no file",
                          hint="save the plan first (trueup plan -o plan.json), "
                               "or approve while applying: trueup apply - --approve ID (or --approve-all)")
    plan = plans.load(path)
    plans.verify_hash(plan.document, str(path))
    unknown = selection.unknown_ids(plan.actions, ids)
    if unknown:
        raise TrueupError(f"{path}: no action with id {unknown[0]}", hint="see the ids with trueup show " + str(path))
    if not (ids or all_ or types or with_gates):
        raise TrueupError("nothing to approve", hint="name action ids, or use --all or --type TYPE")
    chosen = selection.choose(plan.actions, ids, all_recommended=all_, types=types, with_gates=with_gates)
    # Said now, not at apply: a gated action approved without its gates is a plan apply would refuse.
    selection.check_gates(plan.actions, chosen, hint=f"approve an action for each too, or the recommended ones with "
                                                     f"trueup approve {path} --with-gates {{id}}")
    approved = {a.id for a in chosen}
    added = tuple(a for a in plan.actions if a.id in approved and not a.approved)
    if added:
        for action in plan.document["actions"]:
            action["approved"] = action["id"] in approved
        write_text(path, canonical_json(plan.document))
    return Approval(added=added, total=len(approved))


def render_approval(approval: Approval, path: Path) -> list[tuple[str, str | None]]:
    """What this approve added (not what the file held before), then the next step."""
    if not approval.added:
        return [(f"Nothing new approved in {path} ({approval.total} approved in all).", None)]
    lines: list[tuple[str, str | None]] = [
        (f"{plural(len(approval.added), 'action')} approved in {path} ({approval.total} approved in all):", None)]
    for action in approval.added[:SHOWN]:
        targets = f"{len(action.targets)} paths" if len(action.targets) > 3 else ", ".join(action.targets)
        lines.append((f"  + {action.id} {action.type} {action.component}: {targets}".rstrip(": "), None))
    if len(approval.added) > SHOWN:
        lines.append((f"  … and {len(approval.added) - SHOWN} more", None))
    if len(approval.added) > SHOWN or any(len(a.targets) > 3 for a in approval.added[:SHOWN]):
        # A receipt, not the review: the review lists every action and every path.
        lines.append((f"Every approved action and path: trueup show {path}", None))
    lines.append((f"Next: trueup apply {path}", None))
    return lines
