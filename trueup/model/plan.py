"""The frozen plan model: drift items, actions, component results and the decoded plan. Nothing here does I/O."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from attrs import field, frozen

from trueup.model.ids import group_key
from trueup.model.keys import FactKey


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


class TargetKind(StrEnum):
    """What an action's targets name, and so which provider carries it out."""

    FILE = "file"  # paths inside the install directory (none for import)
    CONFIG_ENTRY = "config-entry"  # entries of one co-owned config file (details.config names the file)
    SERVICE = "service"  # the component's declared service


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
        return group_key(component, self.cls, self.kind, self.path)


@frozen
class PlanWarning:
    """Shown in every view and counted, but not drift: nothing the operator approves here could change it
    (version files that disagree inside the upstream tag; a config registry trueup cannot vouch for).
    ``trueup plan --strict`` makes warnings fail ``--detailed-exitcode``."""

    cls: DriftClass
    kind: str
    path: str | None
    message: str
    details: dict[str, Any] = field(factory=dict)

    def sort_key(self) -> tuple:
        return (str(self.cls), self.path or "", self.kind, self.message)


@frozen
class Action:
    """A proposed repair. ``reason`` explains it to people; apply never reads it."""

    id: str
    type: ActionType
    component: str
    target_kind: TargetKind
    targets: tuple[str, ...] = field(converter=_tuple)
    group: str
    recommended: bool
    preconditions: dict[FactKey, Any]
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
    warnings: tuple[PlanWarning, ...] = field(default=(), converter=_tuple)


@frozen
class Plan:
    """A plan file decoded: its hash, the lineage of the workspace it was made for, and its actions in file order.

    ``document`` is the JSON itself, which renderers read and approve rewrites (never compared).
    """

    where: str
    document: dict[str, Any] = field(eq=False, repr=False)
    plan_hash: str
    workspace: str
    lineage: str
    actions: tuple[Action, ...] = field(converter=_tuple)
