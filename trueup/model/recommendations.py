"""The recommendation policy, in one table: for each drift, the action to recommend and its alternatives.

Conservative by rule: never recommend discarding an edit (a local change is accepted; restoring it is the
alternative), restore what is simply missing, regenerate what is derived. A drift not in this table has no
action of its own (it is informational, resolved by another drift's action, or needs the operator).
"""

from __future__ import annotations

from trueup.model.plan import ActionType as A
from trueup.model.plan import DriftClass as C

# An offer is an action type, or (type, resolution) where one drift offers a type in more than one way: the
# resolution tells those apart (it is the action's ``details.resolution`` and part of its id).
Offer = A | tuple[A, str]

RECOMMENDATIONS: dict[tuple[C, str], tuple[Offer, tuple[Offer, ...]]] = {
    (C.LOCAL_PATCH, "modified"): (A.ACCEPT_LOCAL, (A.RESTORE_SOURCE,)),
    # An upgrade's three-way merge conflicted: the live file was kept and the new version written beside it
    # as <path>.trueup-new. Keep the local file (the new version is recorded as seen, so the next upgrade
    # merges from it), take the new one (the local file saved as a backup), or accept the live file as
    # merged by hand. Each removes <path>.trueup-new (saved as a backup if it was edited).
    (C.LOCAL_PATCH, "merge-conflict"): ((A.ACCEPT_LOCAL, "keep-local"),
                                        ((A.RESTORE_SOURCE, "take-new"), (A.ACCEPT_LOCAL, "resolved-by-hand"))),
    # A locally edited file the source removed (upstream deleted it, or renamed it and the edit could not
    # follow): accept it as an operator file, or delete it as the source did (saved as a backup first).
    (C.LOCAL_PATCH, "orphaned-patch"): (A.ACCEPT_LOCAL, (A.RESTORE_SOURCE,)),
    (C.FILE, "missing"): (A.RESTORE_SOURCE, (A.ACCEPT_LOCAL,)),
    (C.FILE, "mode-changed"): (A.RESTORE_SOURCE, (A.ACCEPT_LOCAL,)),
    (C.FILE, "type-changed"): (A.ACCEPT_LOCAL, (A.RESTORE_SOURCE,)),
    (C.FILE, "untracked"): (A.ACCEPT_LOCAL, ()),
    # A temp file a killed trueup left (files/leftovers.py): incomplete, and never the only copy of anything.
    (C.FILE, "leftover"): (A.CLEANUP_BACKUPS, ()),
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
    # A framework entry whose live value nobody recorded (adoption, an entry the user wrote first): keep theirs.
    (C.CONFIG, "shadowed"): (A.ACCEPT_LOCAL, (A.RESTORE_SOURCE,)),
    # A service running old code, an old environment, stopped (restart = the manager's start verb), errored or
    # failing its health check: one restart resolves them.
    (C.RUNTIME, "not-running"): (A.RESTART, ()),
    (C.RUNTIME, "errored"): (A.RESTART, ()),
    (C.RUNTIME, "unhealthy"): (A.RESTART, ()),
    (C.RUNTIME, "stale-process"): (A.RESTART, ()),
    (C.RUNTIME, "version-mismatch"): (A.RESTART, ()),
    (C.RUNTIME, "env-stale"): (A.RESTART, ()),
    # A systemd unit file edited but not daemon-reloaded: the restart reloads the definitions first, else it
    # would start the old definition again.
    (C.RUNTIME, "definition-not-loaded"): (A.RESTART, ()),
    # PM2's saved list out of date: `pm2 save` alone, never a restart of a healthy process (a restart planned for
    # other drift of the same service saves too).
    (C.RUNTIME, "unsaved"): ((A.RESTART, "save"), ()),
}

# What the operator must do, in one line, for runtime drift no action resolves (trueup restarts and saves
# services; it does not define, recreate or delete them). Shown after the drift in every view.
OPERATOR_STEPS: dict[tuple[C, str], str] = {
    (C.RUNTIME, "image-drift"): "recreate the container on the declared image (docker compose up -d --no-deps SERVICE, "
                                "or docker rm -f and docker run it again); a restart keeps the old image",
    (C.RUNTIME, "restarting"): "it exits right after starting: read docker logs, fix the cause, then restart it",
    (C.RUNTIME, "missing"): "no such container: create it (docker run or docker compose up -d); "
                            "trueup does not create containers",
    (C.RUNTIME, "cwd-mismatch"): "redefine the service in the declared directory (pm2 delete, then pm2 start there "
                                 "and pm2 save; or edit the unit and daemon-reload)",
    (C.RUNTIME, "command-mismatch"): "redefine the service with the declared command (pm2 delete, pm2 start, pm2 save; "
                                     "or edit the unit and daemon-reload)",
    (C.RUNTIME, "orphan"): "stop the leftover processes listed (pm2 delete ID), then pm2 save",
    (C.RUNTIME, "definition-target-missing"): "the definition runs a program that is missing or not executable: "
                                              "reinstall it or fix the path in the definition",
    (C.RUNTIME, "duplicate-definition"): "retire the other definition (systemctl disable --now UNIT, then remove its "
                                         "file or rename it .disabled and daemon-reload; launchd: launchctl bootout, "
                                         "then rename the plist .disabled)",
}
# A service its manager does not know (not-running, status absent): a restart has nothing to restart.
UNKNOWN_SERVICE_STEP = ("the manager does not know this service: start it once (pm2 start … --name NAME and "
                        "pm2 save, or systemctl enable --now UNIT); trueup restarts services, it does not define them")


def operator_step(cls: str, kind: str, actual: object = None) -> str | None:
    """The one line an operator needs for runtime drift no action resolves; None when an action does."""
    if str(cls) == C.RUNTIME and kind == "not-running" and actual == "absent":
        return UNKNOWN_SERVICE_STEP
    if isinstance(actual, dict) and actual.get("recreate"):  # a compose service: its restart recreates it
        return None
    return next((step for (c, k), step in OPERATOR_STEPS.items() if str(c) == str(cls) and k == kind), None)

# Drift an upgrade must not run over unless an action for it is approved too: it would bury a local change.
GATING: frozenset[tuple[C, str]] = frozenset({
    (C.LOCAL_PATCH, "modified"),
    (C.LOCAL_PATCH, "merge-conflict"),  # another merge would overwrite <path>.trueup-new
    (C.BACKUP, "unacknowledged"),
})


def _split(offer: Offer) -> tuple[A, str | None]:
    return (offer, None) if isinstance(offer, A) else offer


def offers(cls: C, kind: str) -> tuple[tuple[A, bool, str | None], ...]:
    """(action type, recommended, resolution or None) for every action that resolves this drift, recommended first."""
    if (cls, kind) not in RECOMMENDATIONS:
        return ()
    recommended, alternatives = RECOMMENDATIONS[(cls, kind)]
    return tuple((type_, i == 0, resolution)
                 for i, (type_, resolution) in enumerate(_split(o) for o in (recommended, *alternatives)))


def options(cls: C, kind: str) -> tuple[tuple[A, bool], ...]:
    """(action type, recommended) for every action that resolves this drift; empty when none does."""
    return tuple((type_, recommended) for type_, recommended, _ in offers(cls, kind))


def resolved_by(cls: C, action: A) -> frozenset[str]:
    """The kinds of ``cls`` an action of this type resolves (a restart: every runtime kind it can fix)."""
    return frozenset(k for (c, k), (rec, alts) in RECOMMENDATIONS.items()
                     if c == cls and action in {_split(o)[0] for o in (rec, *alts)})
