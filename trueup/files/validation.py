"""What a file action in a plan may name, checked before apply writes anything: every path it names anywhere
(targets, an upgrade's ``details.files`` and their ``from``/``to``/``renamed_to``, a conflict's ``beside``,
outputs to regenerate, a template) with the same path safety as targets, and every upgrade ``op`` against the
ops an upgrade can carry. Whether the action is the one trueup would propose now is planner/honest.py's check.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trueup.errors import RefusedError
from trueup.files.paths import safe_target_seen
from trueup.manifest import ComponentSpec
from trueup.model.plan import Action, ActionType

# Every op upgrade.upgrade_plan can write into details.files.
UPGRADE_OPS = frozenset({"add", "replace", "merge", "keep-beside", "remove", "keep", "forget", "rename-merge",
                         "renamed"})
HINT = "run trueup plan again"


def _refuse(action: Action, problem: str) -> RefusedError:
    return RefusedError(f"{action.type} {action.id} of {action.component}: {problem}; refused before any change",
                        hint=HINT)


def named_paths(action: Action) -> Iterator[str]:
    """Every install path ``action`` names, wherever it names it."""
    yield from action.targets
    details = action.details
    files = details.get("files")
    if files is not None:
        if not isinstance(files, dict):
            raise _refuse(action, "details.files is not a map of paths")
        for rel, op in files.items():
            yield rel
            if not isinstance(op, dict):
                raise _refuse(action, f"details.files[{rel!r}] is not an object")
            for key in ("from", "to", "renamed_to"):
                if key in op and action.type == ActionType.UPGRADE:
                    yield op[key]
    for key in ("beside", "template"):
        if key in details:
            yield details[key]
    regenerate = details.get("regenerate", [])
    if not isinstance(regenerate, list):
        raise _refuse(action, "details.regenerate is not a list of paths")
    yield from regenerate


def check_action(spec: ComponentSpec, action: Action, seen: dict) -> None:
    """Refuse (exit 3) a file action naming an unsafe path anywhere, or an upgrade op no upgrade carries."""
    for rel in named_paths(action):
        if not isinstance(rel, str):
            raise _refuse(action, f"a path it names is not a string ({type(rel).__name__})")
        safe_target_seen(spec.install_path, rel, seen)
    if action.type == ActionType.UPGRADE:
        files: dict[str, Any] = action.details.get("files") or {}
        for rel, op in files.items():
            if op.get("op") not in UPGRADE_OPS:
                raise _refuse(action, f"details.files[{rel!r}] has an unknown op {op.get('op')!r}")
    elif action.type == ActionType.CLEANUP_BACKUPS:
        from trueup.files.backups import check_cleanup

        check_cleanup(spec, action)
