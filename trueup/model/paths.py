"""Pure path rules: what a path from a manifest or a plan may name, and paths recorded relative to the workspace."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from trueup.errors import UnsafePathError


def check_relative(root: object, rel: str) -> PurePosixPath:
    """``rel`` as a relative path with no way out of ``root``: not empty, not absolute, no '~', '..' or '\\'."""
    pure = PurePosixPath(rel)
    if not rel or pure.is_absolute() or rel.startswith("~") or ".." in pure.parts or "\\" in rel:
        raise UnsafePathError(f"unsafe target path {rel!r}: must be relative to {root} without '..'",
                              hint="a plan's targets come from trueup plan; do not edit them")
    return pure


def relative_to_root(value: Any, root: str) -> Any:
    """``value`` with every string that is ``root`` or a path below it made relative to it ('.' for the root).

    Plans record paths inside the workspace this way, so the same state planned in two checkouts is one plan.
    """
    if isinstance(value, str):
        if value == root:
            return "."
        return value[len(root) + 1:] if value.startswith(root + "/") else value
    if isinstance(value, dict):
        return {k: relative_to_root(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [relative_to_root(v, root) for v in value]
    return value
