"""The frozen plan model: drift items, actions, component results. Nothing here does I/O."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from attrs import field, frozen


class DriftClass(StrEnum):
    SOURCE = "source"
    FILE = "file"
    LOCAL_PATCH = "local-patch"
    GENERATED = "generated"
    CONFIG = "config"
    RUNTIME = "runtime"
    BACKUP = "backup"
    PROVENANCE = "provenance"


class ActionType(StrEnum):
    ACCEPT_LOCAL = "accept-local"
    RESTORE_SOURCE = "restore-source"
    RESTART = "restart"
    REGENERATE = "regenerate"
    CLEANUP_BACKUPS = "cleanup-backups"
    IMPORT = "import"
    UPGRADE = "upgrade"


# The order apply carries actions out in: records first, then content, then what depends on content
# (an upgrade may change a generator's template; a restart must run the new code).
APPLY_ORDER = (
    ActionType.IMPORT,
    ActionType.ACCEPT_LOCAL,
    ActionType.RESTORE_SOURCE,
    ActionType.CLEANUP_BACKUPS,
    ActionType.UPGRADE,
    ActionType.REGENERATE,
    ActionType.RESTART,
)


class Status(StrEnum):
    CLEAN = "clean"
    DRIFTED = "drifted"
    NOT_INSTALLED = "not-installed"
    UNMANAGED = "unmanaged"
    UNREACHABLE = "unreachable"


def _tuple(value: Any) -> tuple:
    return tuple(value)


@frozen
class Drift:
    """One observed difference. ``is_drift`` False marks an informational item (listed, not counted)."""

    cls: DriftClass
    kind: str
    path: str | None
    expected: Any = None
    actual: Any = None
    is_drift: bool = True

    def sort_key(self) -> tuple:
        return (str(self.cls), self.path or "", self.kind)

    def group_key(self, component: str) -> str:
        """Identity of the drift; alternative actions that resolve it share this group."""
        return "/".join([component, str(self.cls), self.kind] + ([self.path] if self.path else []))


@frozen
class Action:
    """A proposed repair. ``reason`` explains it to people; apply never reads it."""

    id: str
    type: ActionType
    component: str
    targets: tuple[str, ...] = field(converter=_tuple)
    group: str
    recommended: bool
    preconditions: dict[str, Any]
    reason: str
    approved: bool = False
    gated: tuple[str, ...] = field(default=(), converter=_tuple)
    details: dict[str, Any] = field(factory=dict)


@frozen
class ComponentResult:
    """What plan learned about one component."""

    name: str
    status: Status
    drift: tuple[Drift, ...] = field(converter=_tuple)
    facts: dict[str, Any] = field(factory=dict)
    unobserved: str | None = None
