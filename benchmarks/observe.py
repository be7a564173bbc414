"""Time the tree layer of `trueup plan` alone (walk + stat cache + hashing + ledger verdicts), without the CLI.

Usage: python benchmarks/observe.py ROOT [--cache-dir DIR]   (no --cache-dir = cold, like --no-cache)

It observes ROOT against its own ledger exactly as a plan does (the files provider's tree step), so the
rows it produces show what belongs to the tree layer and what to the rest of plan.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pathspec

from trueup.files.ledger_view import LedgerView
from trueup.files.settle import Settled
from trueup.files.tree import observe_tree

ap = argparse.ArgumentParser()
ap.add_argument("root", type=Path)
ap.add_argument("--cache-dir", type=Path)
ap.add_argument("--memo-dir", type=Path, default=Path(".trueup-state/cache"),
                help="content-addressed memos (ledger validity), as plan uses them even with --no-cache")
args = ap.parse_args()
none = pathspec.PathSpec.from_lines("gitignore", [])
known = LedgerView(args.root, args.memo_dir)
settled: list[Settled] = []


def remember(snapshot):
    settled.append(Settled(args.root, snapshot, known, set()))
    return settled[0].meta()


snap = observe_tree(args.root, ignore=none, secrets=none, cache_dir=args.cache_dir, ledger_key=known.key,
                    ledger_files=known.files, meta=remember)
print(len(snap.notable), snap.tracked_seen)
