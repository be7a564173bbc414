"""Time apply's precondition check alone: decode a plan and re-observe every precondition of every action.

Usage: python benchmarks/recheck.py PLAN [WORKSPACE]   (what `trueup apply` does after its lock, before any write)
"""

from __future__ import annotations

import sys
from pathlib import Path

from trueup.manifest import load_workspace
from trueup.planner import document, preconditions

plan = document.load(Path(sys.argv[1]))
workspace = load_workspace(Path(sys.argv[2] if len(sys.argv) > 2 else "."))
preconditions.check(workspace, plan.actions)
print(len(plan.actions))
