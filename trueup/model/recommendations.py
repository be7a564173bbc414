"""The recommendation policy, in one table: for each drift, the action to recommend and its alternatives.

Conservative by rule: never recommend discarding an edit (a local change is accepted; restoring it is the
alternative), restore what is simply missing, regenerate what is derived. A drift not in this table has no
action of its own (it is informational, resolved by another drift's action, or needs the operator).
"""

from __future__ import annotations

from trueup.model.plan import ActionType as A
from trueup.model.plan import DriftClass as C

RECOMMENDATIONS: dict[tuple[C, str], tuple[A, tuple[A, ...]]] = {
    (C.LOCAL_PATCH, "modified"): (A.ACCEPT_LOCAL, (A.RESTORE_SOURCE,)),
    (C.FILE, "missing"): (A.RESTORE_SOURCE, (A.ACCEPT_LOCAL,)),
    (C.FILE, "mode-changed"): (A.RESTORE_SOURCE, (A.ACCEPT_LOCAL,)),
    (C.FILE, "type-changed"): (A.ACCEPT_LOCAL, (A.RESTORE_SOURCE,)),
    (C.FILE, "untracked"): (A.ACCEPT_LOCAL, ()),
    (C.GENERATED, "stale"): (A.REGENERATE, ()),
    (C.GENERATED, "missing"): (A.REGENERATE, ()),
    (C.GENERATED, "unrecorded"): (A.REGENERATE, (A.ACCEPT_LOCAL,)),
    (C.GENERATED, "edited"): (A.ACCEPT_LOCAL, (A.REGENERATE,)),
    (C.BACKUP, "unacknowledged"): (A.ACCEPT_LOCAL, (A.CLEANUP_BACKUPS,)),
    (C.SOURCE, "not-installed"): (A.UPGRADE, ()),
    (C.SOURCE, "outdated"): (A.UPGRADE, ()),
    (C.SOURCE, "unmanaged"): (A.IMPORT, ()),
    # Co-owned config entries: framework changes are upgraded; the user's own value is kept by default.
    (C.CONFIG, "missing"): (A.UPGRADE, ()),
    (C.CONFIG, "outdated"): (A.UPGRADE, ()),
    (C.CONFIG, "obsolete"): (A.UPGRADE, ()),
    (C.CONFIG, "user-modified"): (A.ACCEPT_LOCAL, (A.RESTORE_SOURCE,)),
    (C.CONFIG, "obsolete-user-modified"): (A.ACCEPT_LOCAL, (A.RESTORE_SOURCE,)),
    # A service running old code, an old environment, stopped, errored or not saved: one restart resolves them.
    (C.RUNTIME, "not-running"): (A.RESTART, ()),
    (C.RUNTIME, "errored"): (A.RESTART, ()),
    (C.RUNTIME, "stale-process"): (A.RESTART, ()),
    (C.RUNTIME, "version-mismatch"): (A.RESTART, ()),
    (C.RUNTIME, "env-stale"): (A.RESTART, ()),
    (C.RUNTIME, "unsaved"): (A.RESTART, ()),
}

# Drift an upgrade must not run over unless an action for it is approved too: it would bury a local change.
GATING: frozenset[tuple[C, str]] = frozenset({
    (C.LOCAL_PATCH, "modified"),
    (C.BACKUP, "unacknowledged"),
})


def options(cls: C, kind: str) -> tuple[tuple[A, bool], ...]:
    """(action type, recommended) for every action that resolves this drift; empty when none does."""
    if (cls, kind) not in RECOMMENDATIONS:
        return ()
    recommended, alternatives = RECOMMENDATIONS[(cls, kind)]
    return ((recommended, True), *((alt, False) for alt in alternatives))


def resolved_by(cls: C, action: A) -> frozenset[str]:
    """The kinds of ``cls`` an action of this type resolves (a restart: every runtime kind it can fix)."""
    return frozenset(k for (c, k), (rec, alts) in RECOMMENDATIONS.items() if c == cls and (rec == action or action in alts))
