"""Live facts as the diff sees them: the paths that may differ from the ledger, and the ledger entries they differ from.

A walk of a large tree decides most paths "unchanged and equal to the ledger" in bulk (see tree.py);
only the rest is handed over here, so the diff's work is proportional to drift, not to tree size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from trueup.files.dirs import Holding
from trueup.model.facts import ABSENT, FileFact


class LiveTree:
    """``notable``: facts of walked paths that may be drift; ``tracked``: ledger paths among them, plus
    tracked paths the walk did not meet; ``expected``: the ledger entry of every tracked path;
    ``get(path)``: the live fact of any path (decoding the walk's in-memory records only when a path is
    not notable — nothing here reads the disk); ``holding``: directories ('a/b/') with a ledger path the walk
    met at or below them (trueup.files.dirs.Holding; None: work them out from ``tracked``); ``sizes``: the size of notable
    untracked paths, where known.
    """

    def __init__(self, notable: dict[str, FileFact], tracked: set[str], expected: dict[str, dict[str, Any]],
                 lookup: Callable[[str], FileFact | None] | None = None,
                 everything: Callable[[], dict[str, FileFact]] | None = None,
                 holding: Holding | None = None, sizes: dict[str, int] | None = None) -> None:
        self.notable = notable
        self.tracked = tracked
        self.expected = expected
        self._lookup = lookup
        self._everything = everything
        self.holding = holding
        self.sizes = sizes if sizes is not None else {}

    @classmethod
    def of(cls, ledger_files: dict[str, dict[str, Any]], facts: dict[str, FileFact]) -> LiveTree:
        """Every fact notable and every ledger path tracked: small trees and unit tests."""
        holding = Holding.of(p.rpartition("/")[0] + "/" for p in ledger_files if "/" in p)
        return cls(dict(facts), set(ledger_files), dict(ledger_files), facts.get, lambda: dict(facts), holding)

    def get(self, path: str, default: FileFact = ABSENT) -> FileFact:
        fact = self.notable.get(path)
        if fact is None and self._lookup is not None:
            fact = self._lookup(path)
        return default if fact is None else fact

    def items(self) -> Iterator[tuple[str, FileFact]]:
        """Every live path and its fact, sorted (an import's tree digest)."""
        everything = self._everything() if self._everything is not None else {}
        return iter(sorted({**everything, **self.notable}.items()))
