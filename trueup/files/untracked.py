"""Paths the ledger does not track: `file/untracked` drift, or a backup file (see backups.py)."""

from __future__ import annotations

from typing import Any

from trueup.files import backups
from trueup.files.accepted import accepted_fact
from trueup.files.globs import spec_matcher
from trueup.files.live import LiveTree
from trueup.manifest import ComponentSpec
from trueup.model.plan import Drift, DriftClass


def diff_untracked(spec: ComponentSpec, ledger: dict[str, Any], live: LiveTree) -> list[Drift]:
    is_backup = spec_matcher(spec.backup_patterns)
    generated = {g.path for g in spec.generated}
    recorded = backups.records(ledger)
    items: list[Drift] = []
    for path, fact in live.notable.items():
        if path in live.tracked or path in generated or fact.type == "absent":
            continue
        if is_backup.match_file(path):
            items.append(backups.backup_drift(path, fact, recorded.get(path)))
            continue
        accepted = accepted_fact(ledger, path)
        if accepted is not None and accepted.matches(fact):
            continue
        items.append(Drift(DriftClass.FILE, "untracked", path, accepted.to_json() if accepted else None, fact.to_json()))
    return items
