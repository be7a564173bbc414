"""Edges of the policy the literal tables in test_policy_tables.py do not reach, on plain values."""

from __future__ import annotations

import pytest
import trueup.files
import trueup.runtime
from attrs import evolve
from tests.plain import A, B, C, OLD, fact, files_snapshot, ledger, observation, runtime_snapshot, spec
from trueup.model.plan import ActionType, Drift, DriftClass
from trueup.errors import RefusedError
from trueup.model.recommendations import resolved_by
from trueup.planner import preconditions

GEN = "cp {template} {output}"
RECORD = {"template": "T.md", "command": GEN, "template_sha256": A, "output_sha256": B}


def test_resolved_by_counts_alternatives_too():
    assert resolved_by(DriftClass.BACKUP, ActionType.CLEANUP_BACKUPS) == {"unacknowledged"}
    assert resolved_by(DriftClass.LOCAL_PATCH, ActionType.RESTORE_SOURCE) == {"modified", "merge-conflict", "orphaned-patch"}
    assert resolved_by(DriftClass.FILE, ActionType.ACCEPT_LOCAL) == {"missing", "mode-changed", "type-changed",
                                                                     "untracked"}
    assert resolved_by(DriftClass.GENERATED, ActionType.REGENERATE) == {"stale", "missing", "unrecorded", "edited"}
    assert resolved_by(DriftClass.RUNTIME, ActionType.RESTART) == {
        "not-running", "errored", "unhealthy", "stale-process", "version-mismatch", "env-stale", "unsaved",
        "definition-not-loaded"}  # systemd: the restart daemon-reloads first


def test_an_accepted_edit_of_a_generated_output_is_not_drift_until_it_changes_again():
    led = ledger(files={"T.md": fact().to_json()}, generated={"OUT.md": RECORD},
                 accepted={"OUT.md": {"fact": fact(C).to_json(), "accepted_at": "t"}})
    live = {"T.md": fact(), "OUT.md": fact(C)}
    assert trueup.files.diff(spec(), files_snapshot(led, live, commit=OLD)) == []
    live["OUT.md"] = fact(A)
    assert [(d.cls, d.kind, d.path) for d in trueup.files.diff(spec(), files_snapshot(led, live, commit=OLD))] == [
        (DriftClass.GENERATED, "edited", "OUT.md")]


def test_a_generated_output_also_tracked_as_a_source_file_is_never_a_local_patch():
    # The source ships OUT.md (content A) and the generator rewrote it (content B, as recorded).
    led = ledger(files={"T.md": fact().to_json(), "OUT.md": fact(A).to_json()}, generated={"OUT.md": RECORD})
    live = {"T.md": fact(), "OUT.md": fact(B)}
    assert trueup.files.diff(spec(), files_snapshot(led, live, commit=OLD)) == []


def test_no_restart_is_offered_for_a_service_that_could_not_be_observed():
    stale = [Drift(DriftClass.RUNTIME, "stale-process", None)]
    assert trueup.runtime.propose(spec(), runtime_snapshot(observation(reachable=False)), stale) == []
    assert len(trueup.runtime.propose(spec(), runtime_snapshot(observation()), stale)) == 1


def test_a_restart_of_anything_but_the_declared_service_is_refused():
    component = spec(runtime={"manager": "pm2", "service": "app", "command": "node server/index.js"})
    stale = [Drift(DriftClass.RUNTIME, "stale-process", None)]
    [restart] = trueup.runtime.propose(component, runtime_snapshot(observation()), stale)
    preconditions.check_targets(component, restart)  # what plan proposes passes
    for targets in (("other",), ("app", "other"), ()):
        with pytest.raises(RefusedError, match="not app's declared service"):
            preconditions.check_targets(component, evolve(restart, targets=targets))
