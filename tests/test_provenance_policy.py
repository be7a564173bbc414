"""Provenance drift as policy sees it, on hand-built snapshots: what is drift, and that a moved tag's upgrade is
never recommended (so neither approve --all nor a policy rule that does not name it takes it)."""

from __future__ import annotations

from trueup import provenance
from trueup.model.plan import Action, ActionType, DriftClass, TargetKind
from trueup.model.recommendations import GATING, RECOMMENDATIONS
from trueup.planner.selection import choose
from trueup.provenance import ProvenanceSnapshot, Target
from trueup.provenance.check import Verification
from trueup.provenance.verdicts import Signature

OLD, NEW = "1" * 40, "2" * 40


class Spec:
    name, ref, require = "app", "v1", "any"


def upgrade() -> Action:
    return Action(id="u1", type=ActionType.UPGRADE, component="app", target_kind=TargetKind.FILE, targets=(),
                  group="app/source/outdated", recommended=True, preconditions={}, reason="upgrade to v1")


def test_kinds_and_is_drift():
    moved = ProvenanceSnapshot("any", moved={"tag": "v1", "installed": OLD, "now": NEW})
    mismatch = ProvenanceSnapshot("signed", installed=Verification("app", "mismatch", "src", "v1", OLD,
                                                                   tree="3" * 40, differing={"a.js": "modified"}))
    clean = ProvenanceSnapshot("signed", installed=Verification("app", "verified-signed", "src", "v1", OLD))
    assert [(d.cls, d.kind, d.is_drift, d.expected, d.actual) for d in provenance.diff(Spec, moved)] == [
        (DriftClass.PROVENANCE, "moved-tag", True, OLD, {"tag": "v1", "installed": OLD, "now": NEW})]
    assert [(d.kind, d.is_drift, d.actual) for d in provenance.diff(Spec, mismatch)] == [
        ("mismatch", True, {"a.js": "modified"})]
    assert provenance.diff(Spec, clean) == []


def test_no_provenance_kind_is_in_the_recommendation_or_gating_tables():
    # Nothing provenance reports has an action recommended for it: a person decides (policy: by explicit rule only).
    assert not [key for key in RECOMMENDATIONS if key[0] == DriftClass.PROVENANCE]
    assert not [key for key in GATING if key[0] == DriftClass.PROVENANCE]


def test_a_moved_tags_upgrade_is_filed_under_it_and_never_recommended():
    moved = ProvenanceSnapshot("any", moved={"tag": "v1", "installed": OLD, "now": NEW})
    [guarded] = provenance.guard(Spec, moved, [upgrade()])
    assert guarded.group == "app/provenance/moved-tag" and guarded.recommended is False
    assert "moved" in guarded.reason
    assert choose([guarded], all_recommended=True) == []  # approve --all
    assert choose([guarded], ["u1"]) == [guarded]  # its id, explicitly


def test_a_moved_tags_upgrade_needs_a_rule_that_names_it():
    from trueup.policy.subjects import subjects  # the policy engine's reading of a plan

    moved = ProvenanceSnapshot("any", moved={"tag": "v1", "installed": OLD, "now": NEW})
    [guarded] = provenance.guard(Spec, moved, [upgrade()])
    document = {"components": [{"name": "app", "drift": [{"class": "provenance", "kind": "moved-tag", "path": None,
                                                          "expected": OLD, "actual": moved.moved}]}],
                "actions": [{"id": guarded.id, "type": str(guarded.type), "component": "app", "group": guarded.group,
                             "targets": [], "recommended": guarded.recommended}]}
    [subject] = subjects(document)
    assert subject.cls == "provenance" and subject.needs_explicit_rule


def test_require_withholds_the_upgrade():
    unsigned = Target("v1", Signature("unsigned", reason="no signature"), pinned=True)
    assert provenance.guard(Spec, ProvenanceSnapshot("signed", target=unsigned), [upgrade()]) == []
    assert provenance.guard(Spec, ProvenanceSnapshot("pinned", target=unsigned), [upgrade()]) == [upgrade()]
    branch = Target("main", Signature("unsigned"), pinned=False)
    assert provenance.guard(Spec, ProvenanceSnapshot("pinned", target=branch), [upgrade()]) == []
    [warning] = provenance.warnings(Spec, ProvenanceSnapshot("signed", target=unsigned))
    assert warning.kind == "require-unmet" and "v1 is unsigned (no signature)" in warning.message
