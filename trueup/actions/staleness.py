"""Is a plan file still true of the world? Used by show to warn, never to refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup.errors import TrueupError


def staleness_warning(document: dict[str, Any], where: str, workspace: Path | None) -> str | None:
    from trueup.actions.apply import check_preconditions
    from trueup.manifest import find_workspace, load_workspace
    from trueup.planner import document as plans

    try:
        plans.verify_hash(document, where)
        ws = load_workspace(find_workspace(workspace or document["workspace"]))
        check_preconditions(ws, document["actions"])
    except TrueupError as exc:
        return exc.message
    return None
