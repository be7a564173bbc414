"""Path safety as a pure rule: a path from a manifest or a plan names something below its root."""

from __future__ import annotations

from pathlib import PurePosixPath

from trueup.errors import UnsafePathError


def check_relative(root: object, rel: str) -> PurePosixPath:
    """``rel`` as a relative path with no way out of ``root``: not empty, not absolute, no '~', '..' or '\\'."""
    pure = PurePosixPath(rel)
    if not rel or pure.is_absolute() or rel.startswith("~") or ".." in pure.parts or "\\" in rel:
        raise UnsafePathError(f"unsafe target path {rel!r}: must be relative to {root} without '..'",
                              hint="a plan's targets come from trueup plan; do not edit them")
    return pure
