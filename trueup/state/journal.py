"""An append-only journal of what apply did, one JSON line per action, in the state dir."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from trueup.state.ledger import now_iso


def record(state_dir: Path, entry: dict[str, Any]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"at": now_iso(), **entry}, sort_keys=True) + "\n"
    with open(state_dir / "journal.jsonl", "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
