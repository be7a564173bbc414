"""What the walk found, reconciled with the ledger: missing paths, the ledger entries of notable paths, the live view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup.files.dirs import Holding
from trueup.files.ledger_view import LedgerView
from trueup.files.live import LiveTree
from trueup.files.probe import observe_in_root
from trueup.files.tree import TreeSnapshot
from trueup.model.facts import FileFact


class Settled:
    def __init__(self, install_path: Path, tree: TreeSnapshot, ledger: LedgerView, special: set[str]) -> None:
        self.tree, self.ledger = tree, ledger
        meta = tree.trusted_meta
        self.dirty: dict[str, dict[str, Any]] = meta["dirty"] if meta is not None else {}
        missing = None
        if meta is not None:
            # Every ledger path was clean in the cache or is in dirty: unseen dirty ones are all that can be missing.
            candidates = [p for p in self.dirty if p not in tree.tracked]
            if tree.tracked_seen + len(candidates) == meta["n_files"]:
                missing = candidates
        if missing is None:
            files = ledger.files()
            missing = [] if tree.tracked_seen == len(files) else sorted(files.keys() - tree.walked_paths())
        self.missing = missing
        # Tracked paths the walk did not meet, and generated outputs and templates it did not report: one by one.
        extra = {p: observe_in_root(install_path, p)
                 for p in sorted({*missing, *special} - tree.notable.keys() - tree.secrets.keys())}
        tracked = (tree.tracked & tree.notable.keys()) | set(missing)
        # A missing ledger path's directory holds it all the same: never one untracked item.
        holding = tree.holding if tree.holding is not None else Holding.of(tree.occupied_dirs())
        if missing:
            holding = holding.changed({p.rpartition("/")[0] + "/" for p in missing if "/" in p}, ())
        self.live = LiveTree({**tree.notable, **extra}, tracked, {p: self.expected(p) for p in tracked},
                             self._lookup, lambda: {**tree.files, **extra}, holding, tree.sizes)

    def expected(self, path: str) -> dict[str, Any]:
        """The ledger entry of a tracked path, from the cheapest place that knows it."""
        if not self.ledger.parsed:
            if path in self.dirty:
                return self.dirty[path]
            if path in self.tree.expected_old:
                return self.tree.expected_old[path]
        return self.ledger.files()[path]

    def _lookup(self, path: str) -> FileFact | None:
        if path in self.tree.secrets:
            return None  # secrets are never live facts: existence and mode only, in their own list
        return self.tree.files.get(path)

    def meta(self) -> dict[str, Any]:
        """What the stat cache remembers about this ledger, so the next plan need not parse it."""
        trusted = self.tree.trusted_meta
        if trusted is not None:
            rest, n_files = trusted["ledger"], trusted["n_files"]
        else:
            doc = self.ledger.document()
            rest = {k: v for k, v in doc.items() if k != "files"} if doc is not None else None
            n_files = len(doc["files"]) if doc is not None else 0
        not_clean = (self.tree.tracked - self.tree.clean) | set(self.missing)
        return {"ledger": rest, "n_files": n_files, "dirty": {p: self.expected(p) for p in sorted(not_clean)}}

    def document(self) -> dict[str, Any] | None:
        """The ledger as far as this plan needs it: without ``files`` when the stat cache made parsing unneeded."""
        trusted = self.tree.trusted_meta
        if trusted is not None and not self.ledger.parsed:
            return dict(trusted["ledger"]) if trusted["ledger"] is not None else None
        return self.ledger.document()
