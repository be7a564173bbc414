"""The provenance provider: where an install's bytes came from, proven offline with git alone.

It builds on the files provider's basis (source, desired commit, ledger) and reads the install directory itself.
Drift: ``moved-tag`` (the installed tag now names another commit: an upgrade to it is never recommended, so
``approve --all`` and a policy rule for upgrades never take it) and ``mismatch`` (the install's git tree differs
from the installed commit's beyond accepted patches). Warnings: a signature that fails, and an upgrade held back by
``require:``. It proposes no actions of its own: ``guard`` re-files or withholds the files provider's upgrade.

Cost: with ``require: any`` and no ``trust:`` a plan asks git nothing unless the installed tag may have moved;
otherwise each plan verifies the ref and re-reads the install's compared files (``trueup verify`` always does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attrs import evolve, frozen

from trueup.errors import RefusedError
from trueup.manifest import ComponentSpec
from trueup.model.keys import FactKey
from trueup.model.plan import Action, ActionType, Drift, DriftClass, PlanWarning
from trueup.provenance.check import Verification
from trueup.provenance.verdicts import (LOCAL_UNVERIFIED, MISMATCH, SIGNATURE_FAILURES, VERIFIED_SIGNED, Signature,
                                        is_pinned)
from trueup.provider import ObserveContext, RecheckContext

NAME = "provenance"
MOVED_TAG, MISMATCH_KIND = "moved-tag", "mismatch"


@frozen
class Target:
    """The ref an install or upgrade would take, checked against ``require:`` before it is proposed."""

    ref: str
    signature: Signature
    pinned: bool


@frozen
class ProvenanceSnapshot:
    require: str
    installed: Verification | None = None  # None: not checked (require: any, no trust:) or not installed
    moved: dict[str, str] | None = None
    target: Target | None = None


def cares(spec: ComponentSpec) -> bool:
    """Whether a plan proves this component's provenance in full (the operator declared trust or a requirement)."""
    return spec.trust is not None or spec.require != "any"


def scratch(ctx_memo: Path | None) -> Path | None:
    """Where git may write the signature it hands ssh-keygen: trueup's own cache, the one place plan writes."""
    return ctx_memo / "provenance-tmp" if ctx_memo is not None else None


def observe(spec: ComponentSpec, ctx: ObserveContext) -> ProvenanceSnapshot:
    from trueup.provenance import check, git_verify

    basis = ctx.basis
    assert basis is not None
    ledger, tmp = basis.ledger, scratch(ctx.memo_dir)
    installed = moved = target = None
    if ledger is not None and cares(spec):
        installed = check.verify_installed(spec, ctx.workspace.root, basis.source.repo, ledger, tmp)
        moved = installed.moved
    elif ledger is not None and ledger["source"]["ref"] == spec.ref and basis.commit != ledger["source"]["commit"]:
        # The same ref now names another commit: a moved tag if it is a tag (a branch moves by design).
        facts, _ = git_verify.ref_facts(basis.source.repo, spec.ref)
        if facts.is_tag:
            moved = {"tag": spec.ref, "installed": ledger["source"]["commit"], "now": basis.commit}
    if spec.require != "any" and (ledger is None or basis.commit != ledger["source"]["commit"]):
        trust = git_verify.trust_files(spec.trust, ctx.workspace.root, spec.origin)
        facts, signature, _ = check.check_ref(basis.source.repo, spec.ref, trust, tmp)
        target = Target(spec.ref, signature, is_pinned(spec.ref, facts.is_tag))
    return ProvenanceSnapshot(spec.require, installed, moved, target)


def diff(spec: ComponentSpec, snap: ProvenanceSnapshot) -> list[Drift]:
    items = []
    if snap.moved:
        items.append(Drift(DriftClass.PROVENANCE, MOVED_TAG, None, snap.moved["installed"], dict(snap.moved)))
    if snap.installed is not None and snap.installed.verdict == MISMATCH:
        items.append(Drift(DriftClass.PROVENANCE, MISMATCH_KIND, None, snap.installed.tree, dict(snap.installed.differing)))
    return items


def propose(spec: ComponentSpec, snap: ProvenanceSnapshot, drift: list[Drift]) -> list[Action]:
    """None of its own: a moved tag is resolved by the (explicitly approved) upgrade ``guard`` files under it, a
    mismatch by the files provider's accept-local or restore-source of each path it names."""
    return []


def blocked(snap: ProvenanceSnapshot) -> str | None:
    """Why ``require:`` allows no install or upgrade to the manifest's ref, or None."""
    target = snap.target
    if target is None:
        return None
    if snap.require == "signed" and target.signature.outcome != VERIFIED_SIGNED:
        return (f"require: signed, and {target.ref} is {target.signature.outcome}"
                + (f" ({target.signature.reason})" if target.signature.reason else ""))
    if snap.require == "pinned" and not target.pinned:
        return f"require: pinned, and {target.ref} is neither a tag nor a full commit id"
    return None


def guard(spec: ComponentSpec, snap: ProvenanceSnapshot, proposed: list[Action]) -> list[Action]:
    """The files provider's upgrade as provenance allows it: withheld when ``require:`` is not met; when the tag
    moved, filed under the moved-tag drift and not recommended (only an explicit approval of its id takes it)."""
    if blocked(snap):
        return [a for a in proposed if not (a.type == ActionType.UPGRADE and a.component == spec.name)]
    if snap.moved and snap.moved["tag"] == spec.ref:
        group = Drift(DriftClass.PROVENANCE, MOVED_TAG, None).group_key(spec.name)
        note = (f"tag {spec.ref} moved from {snap.moved['installed'][:12]} to {snap.moved['now'][:12]} after it was "
                "installed (re-created or force-pushed): approve this id only if the move is legitimate; ")
        return [evolve(a, group=group, recommended=False, reason=note + a.reason)
                if a.type == ActionType.UPGRADE and a.component == spec.name else a for a in proposed]
    return proposed


def warnings(spec: ComponentSpec, snap: ProvenanceSnapshot) -> list[PlanWarning]:
    """Properties of the upstream source no approval here changes: a signature that fails, a ref ``require:``
    refuses (the manifest or the upstream must change)."""
    out = []
    installed = snap.installed
    if installed is not None and installed.verdict in SIGNATURE_FAILURES:
        out.append(PlanWarning(DriftClass.PROVENANCE, installed.verdict, None,
                               f"{installed.ref}: {installed.verdict}: {installed.reason}",
                               {"fingerprint": installed.fingerprint}))
    elif installed is not None and ((snap.require == "signed" and installed.verdict not in (VERIFIED_SIGNED, MISMATCH))
                                    or (snap.require == "pinned" and installed.verdict == LOCAL_UNVERIFIED)):
        out.append(PlanWarning(DriftClass.PROVENANCE, "require-unmet", None,
                               f"require: {snap.require}, but the installed {installed.ref} is {installed.verdict}"
                               + (f" ({installed.reason})" if installed.reason else "")))
    why = blocked(snap)
    if why:
        out.append(PlanWarning(DriftClass.PROVENANCE, "require-unmet", None,
                               f"no upgrade proposed: {why}; sign the ref upstream, or point source.ref at one that "
                               "verifies"))
    return out


def facts(snap: ProvenanceSnapshot) -> dict[str, Any]:
    """The plan's component facts: the verdict and what it rests on (no timestamps: plans stay reproducible)."""
    if snap.installed is None and snap.moved is None:
        return {}
    out: dict[str, Any] = {"moved": snap.moved}
    if snap.installed is not None and snap.installed.verdict is not None:
        v = snap.installed
        out.update(verdict=v.verdict, ref=v.ref, commit=v.commit, tag_object=v.tag_object, tree=v.tree,
                   signer=v.signer, fingerprint=v.fingerprint, allowed_signers_sha256=v.allowed_signers_sha256,
                   reason=v.reason, differing=v.differing, accepted=list(v.accepted))
    return {"provenance": out}


def recheck(spec: ComponentSpec, key: FactKey, ctx: RecheckContext) -> Any:
    raise RefusedError(f"plan has an unknown provenance precondition {key.encode()!r}", hint="run trueup plan again")


def apply(action: Action, ctx) -> None:
    raise RefusedError(f"provenance carries out no actions ({action.type} {action.id})", hint="run trueup plan again")
