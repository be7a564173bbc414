"""Write approvals into a plan file; approvals are outside the plan hash, so review can flip them."""

from __future__ import annotations

from pathlib import Path

from trueup.actions.apply import check_groups
from trueup.errors import TrueupError
from trueup.planner import document as plans
from trueup.state.atomic import canonical_json, write_text


def approve_in_file(path: Path, ids: list[str], *, all_: bool, types: list[str]) -> int:
    document = plans.load(path)
    plans.verify_hash(document, str(path))
    known = {a["id"] for a in document["actions"]}
    for wanted in ids:
        if wanted not in known:
            raise TrueupError(f"{path}: no action with id {wanted}", hint="see the ids with trueup show " + str(path))
    if not (ids or all_ or types):
        raise TrueupError("nothing to approve", hint="name action ids, or use --all or --type TYPE")
    for action in document["actions"]:
        if action["id"] in ids:
            action["approved"] = True
    # --all / --type add recommended actions only where no alternative of the group is approved yet.
    covered = {a["group"] for a in document["actions"] if a["approved"]}
    for action in document["actions"]:
        if action["recommended"] and action["group"] not in covered and (all_ or action["type"] in types):
            action["approved"] = True
    check_groups([a for a in document["actions"] if a["approved"]])
    write_text(path, canonical_json(document))
    return sum(1 for a in document["actions"] if a["approved"])
