"""Where a component's co-owned config files are, and which one a plan names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup.errors import UnsafePathError
from trueup.manifest import ComponentSpec, resolve_user_path


def config_home() -> Path:
    """The runtime home that `~` and $HOME in config paths and path-valued entries expand to."""
    return Path.home()


def live_path(item: dict[str, Any], workspace: Path) -> Path:
    return resolve_user_path(item["path"], workspace)


def config_item(spec: ComponentSpec, path: str) -> dict[str, Any]:
    """The manifest item of a declared config file; a plan naming any other file is refused."""
    for item in spec.config:
        if item["path"] == path:
            return item
    raise UnsafePathError(f"{spec.name}: {path!r} is not a config file declared in {spec.origin}",
                          hint="a plan's config targets come from trueup.yaml; run trueup plan again")
