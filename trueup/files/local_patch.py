"""Drift of tracked paths: `local-patch` (content edited, or edited and then removed upstream: orphaned) and
`file` (missing, mode-changed, type-changed)."""

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
        kind = classify_tracked(FileFact.from_json(raw), fact, spec.exact_modes)
        if kind is not None:
            cls = DriftClass.LOCAL_PATCH if kind == "modified" else DriftClass.FILE
            items.append(Drift(cls, kind, path, plain(raw), fact.to_json()))
    return items


ORPHANED = "orphaned-patch"


def orphans(ledger: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Path → the upgrade's record of a locally edited file the source removed (kept, not yet decided on)."""
    return {p: r["orphaned"] for p, r in ledger["accepted"].items() if "orphaned" in r}


def diff_orphaned(ledger: dict[str, Any], live: LiveTree) -> list[Drift]:
    """`local-patch/orphaned-patch`: an edit that nothing loads any more stays visible until the operator accepts
    the file as theirs (accept-local) or deletes it (restore-source: saved as a recorded backup first)."""
    items = []
    for path, record in sorted(orphans(ledger).items()):
        fact = live.get(path)
        if fact.type != "absent":
            items.append(Drift(DriftClass.LOCAL_PATCH, ORPHANED, path, dict(record), fact.to_json()))
    return items


def without_orphaned(items: list[Drift], orphaned: list[Drift]) -> list[Drift]:
    """An orphan edited again is still one item: the orphan (not also an untracked file)."""
    paths = {d.path for d in orphaned}
    return [d for d in items if not (d.cls == DriftClass.FILE and d.kind == "untracked" and d.path in paths)]


def remove_orphan(ctx, rel: str) -> None:
    """restore-source of an orphaned patch: the source no longer has the file, so restoring it means removing
    it — the local content saved as a recorded backup first."""
    assert ctx.ledger is not None
    record = ctx.ledger["accepted"].get(rel, {}).get("orphaned", {})
    ctx.backup_local(rel, "orphaned-patch", from_commit=record.get("from_commit"), to_commit=record.get("to_commit"))
    if ctx.fact(rel).type != "absent":
        ctx.remove_file(rel)
    ctx.ledger["accepted"].pop(rel, None)
    ctx.notes.append(f"removed {rel} (removed from the source; local content saved as a backup)")
