"""The files provider's diff: a pure function of the spec and the snapshot (plain values in, drift out)."""

from __future__ import annotations

from trueup.files.backups import removed_backups
from trueup.files.conflicts import diff_conflicts, without_conflicted
from trueup.files.generated import diff_generated
from trueup.files.leftovers import diff_leftovers
from trueup.files.local_patch import diff_orphaned, diff_tracked, without_orphaned
from trueup.files.provenance import diff_provenance
from trueup.files.secrets import diff_secrets
from trueup.files.snapshot import FilesSnapshot
from trueup.files.source_drift import diff_source
from trueup.files.untracked import diff_untracked
from trueup.manifest import ComponentSpec
from trueup.model.plan import Drift


def diff(spec: ComponentSpec, snap: FilesSnapshot, *, require_verified: bool = False) -> list[Drift]:
    items = diff_source(snap.ledger, snap.source, snap.install_exists)
    items += diff_provenance(snap.ledger, snap.source, require_verified)
    if snap.ledger is not None:
        items += diff_tracked(spec, snap.ledger, snap.live)
        items += diff_untracked(spec, snap.ledger, snap.live, snap.secrets)
        items += removed_backups(spec, snap.ledger, snap.live)
        items += diff_generated(spec, snap.ledger, snap.live)
        orphaned = diff_orphaned(snap.ledger, snap.live)
        if orphaned:
            items = without_orphaned(items, orphaned) + orphaned
        conflicts = diff_conflicts(snap.ledger, snap.live)
        if conflicts:
            items = without_conflicted(items, conflicts) + conflicts
    items += diff_secrets(snap.secrets)
    items = diff_leftovers(items, snap.leftovers)
    return sorted(items, key=Drift.sort_key)
