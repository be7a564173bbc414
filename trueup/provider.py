"""The face every kind of truth shows the planner and apply: observe, diff, propose, recheck, apply.

A provider is a package (``trueup.files``, ``trueup.config``, ``trueup.runtime``) whose ``__init__``
exposes these five functions; ``trueup.planner`` loops over them. ``observe`` reads the world and returns
a fully resolved, read-only snapshot; ``diff``, ``propose`` and ``warnings`` (shown and counted, never
drift) are pure functions of the spec and that snapshot; ``recheck`` re-observes one precondition at apply;
``apply`` carries out one approved action.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from attrs import define, field, frozen

from trueup.manifest import ComponentSpec, Workspace
from trueup.model.keys import LEDGER, MANIFEST, SOURCE_COMMIT, FactKey
from trueup.model.plan import Action, Drift, PlanWarning
from trueup.source import Source


@frozen
class Basis:
    """What every provider of one component builds on: the source at the desired commit and the ledger.

    Observed once (by the files provider, which owns source and ledger) and handed to the others.
    """

    source: Source
    commit: str
    version: str | None
    ledger: dict[str, Any] | None
    # The component-wide facts every action is checked against: manifest entry, ledger bytes, resolved commit.
    preconditions: dict[FactKey, Any]


def basis_preconditions(spec: ComponentSpec, ledger_digest: str, commit: str) -> dict[FactKey, Any]:
    return {MANIFEST: spec.digest, LEDGER: ledger_digest, SOURCE_COMMIT: commit}


@frozen
class ObserveContext:
    workspace: Workspace
    cache_dir: Path | None = None  # the stat cache (None: hash everything)
    memo_dir: Path | None = None  # content-addressed memos (ledger validity, blob hashes)
    quiet: bool = True
    basis: Basis | None = None  # None only while the files provider observes
    # Fetch a remote source first (plan); apply checks a plan against the mirror as the plan saw it (no fetch).
    fetch: bool = True
    # From trueup watch: per install root (absolute path), a ChangedPaths naming all that may have changed.
    changed: dict[str, Any] | None = None


@define
class RecheckContext:
    """One apply's re-observation: the workspace and what was already observed (one observation per component)."""

    workspace: Workspace
    seen: dict[tuple[str, str], Any] = field(factory=dict)


@define
class ApplyContext:
    """What an action works with: the component, its source, its ledger (updated in place), a scratch dir, notes."""

    workspace: Workspace
    spec: ComponentSpec
    source: Source
    ledger: dict[str, Any] | None
    scratch: Path
    notes: list[str] = field(factory=list)


class Provider(Protocol):
    NAME: str

    def observe(self, spec: ComponentSpec, ctx: ObserveContext) -> Any: ...

    def diff(self, spec: ComponentSpec, snapshot: Any) -> list[Drift]: ...

    def propose(self, spec: ComponentSpec, snapshot: Any, drift: list[Drift]) -> list[Action]: ...

    def warnings(self, spec: ComponentSpec, snapshot: Any) -> list[PlanWarning]: ...

    def recheck(self, spec: ComponentSpec, key: FactKey, ctx: RecheckContext) -> Any: ...

    def apply(self, action: Action, ctx: ApplyContext) -> None: ...
