"""Write approvals into a plan file; approvals are outside the plan hash, so review can flip them."""

from __future__ import annotations

from pathlib import Path

from trueup.errors import TrueupError
from trueup.planner import document as plans
from trueup.planner import selection
from trueup.state.atomic import canonical_json, write_text


def approve_in_file(path: Path, ids: list[str], *, all_: bool, types: list[str]) -> int:
    plan = plans.load(path)
    plans.verify_hash(plan.document, str(path))
    unknown = selection.unknown_ids(plan.actions, ids)
    if unknown:
        raise TrueupError(f"{path}: no action with id {unknown[0]}", hint="see the ids with trueup show " + str(path))
    if not (ids or all_ or types):
        raise TrueupError("nothing to approve", hint="name action ids, or use --all or --type TYPE")
    approved = {a.id for a in selection.choose(plan.actions, ids, all_recommended=all_, types=types)}
    for action in plan.document["actions"]:
        action["approved"] = action["id"] in approved
    write_text(path, canonical_json(plan.document))
    return len(approved)
