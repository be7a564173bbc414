"""Drift of tracked paths: `local-patch` (content edited) and `file` (missing, mode-changed, type-changed)."""

from __future__ import annotations

from typing import Any

from trueup.files.accepted import is_accepted
from trueup.files.globs import spec_matcher
from trueup.files.live import LiveTree
from trueup.manifest import ComponentSpec
from trueup.model.facts import FileFact, classify_tracked
from trueup.model.plan import Drift, DriftClass
from trueup.state.ledger_entry import plain


def diff_tracked(spec: ComponentSpec, ledger: dict[str, Any], live: LiveTree) -> list[Drift]:
    # Skipped tracked paths: generated outputs, ignored ones, and secrets (never read, so never compared).
    # Matching many paths against empty specs is not free (docs/performance.md), so only non-empty ones are built.
    skip = spec_matcher((*spec.ignore, *spec.secrets)) if spec.ignore or spec.secrets else None
    generated = {g.path for g in spec.generated}
    items: list[Drift] = []
    for path in sorted(live.tracked):
        raw = live.expected[path]
        fact = live.get(path)
        if fact.sha256 == raw.get("sha256") and fact.type == raw["type"] and fact.mode == raw.get("mode"):
            continue  # the common case, decided without building objects
        if path in generated or (skip is not None and skip.match_file(path)) or is_accepted(ledger, path, fact):
            continue
        kind = classify_tracked(FileFact.from_json(raw), fact)
        if kind is not None:
            cls = DriftClass.LOCAL_PATCH if kind == "modified" else DriftClass.FILE
            items.append(Drift(cls, kind, path, plain(raw), fact.to_json()))
    return items
