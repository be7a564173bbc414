"""What the files provider observed of one component: source, ledger and install tree, fully resolved."""

from __future__ import annotations

from typing import Any

from attrs import field, frozen

from trueup.files.live import LiveTree
from trueup.model.facts import FileFact
from trueup.source import TreeEntry


@frozen
class SourceFacts:
    """What the source says now: the commit the ref resolves to and the version it declares."""

    commit: str
    version: str | None
    declarations: dict[str, str]
    installed_commit_exists: bool = True
    # An unmanaged install: the commit it matches best and what import would accept there (files/adoption.py).
    adoption: dict[str, Any] | None = None


@frozen
class DesiredFile:
    """A file as the desired commit has it; ``sha256`` is what apply must write."""

    entry: TreeEntry
    sha256: str

    def fact(self) -> FileFact:
        return FileFact(self.entry.type, self.entry.mode, self.sha256)


@frozen
class FilesSnapshot:
    """Plain values only: ``diff`` and ``propose`` read nothing else.

    ``ledger`` is the install ledger; its ``files`` map is present whenever anything may need it (an install
    whose commit differs from the desired one) and may be left out when the stat cache vouched for every
    tracked path — ``live.expected`` carries the ledger entries of the paths that can be drift.
    """

    source: SourceFacts
    ledger: dict[str, Any] | None
    ledger_digest: str
    install_exists: bool
    live: LiveTree
    secrets: dict[str, FileFact]
    # Files of the desired commit that differ from the ledger (all of them when not installed).
    desired: dict[str, DesiredFile]
    removed: tuple[str, ...]  # ledger paths the desired commit no longer has
    # Removed ledger path → the desired commit's path git sees it renamed to (an upgrade carries a local patch over).
    renames: dict[str, str] = field(factory=dict)
    # Temp files a killed trueup left in the install or its ledger directory (files/leftovers.py).
    leftovers: dict[str, FileFact] = field(factory=dict)
    # Paths the upgrade touches below an ignore pattern: observed for it all the same (observation.with_ignored).
    ignored: frozenset[str] = frozenset()
    # The walk's packed per-directory records (stat cache format): history compares them directory by directory.
    blocks: bytes = field(default=b"", repr=False)
    # A walk fed by events: which blocks differ from the previous walk's (trueup.files.changed.WalkDelta), else None.
    delta: Any = field(default=None, repr=False)
