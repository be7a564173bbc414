"""Time observe_tree alone (the walk + stat cache + hashing layer of `trueup plan`), without the CLI.

Usage: python benchmarks/observe.py ROOT [--cache-dir DIR]   (no --cache-dir = cold, like --no-cache)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pathspec

from trueup.planner.tree import observe_tree

ap = argparse.ArgumentParser()
ap.add_argument("root", type=Path)
ap.add_argument("--cache-dir", type=Path)
args = ap.parse_args()
none = pathspec.PathSpec.from_lines("gitignore", [])
snap = observe_tree(args.root, ignore=none, secrets=none, cache_dir=args.cache_dir)
print(len(snap.files))
