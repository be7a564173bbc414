"""One component's provenance, proven offline: its ref's signature, moved tags, and its bytes bound to the tree."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from attrs import asdict, evolve, field, frozen

from trueup.provenance import git_verify
from trueup.provenance.binding import Binding, bind, install_tree, skip_rule, walk
from trueup.git_ids import EXECUTABLE, FILE, SYMLINK
from trueup.provenance.verdicts import (LOCAL_UNVERIFIED, SIGNATURE_INVALID, UNSIGNED, VERIFIED_SIGNED, Signature,
                                        is_pinned, verdict)


@frozen
class Verification:
    """What ``trueup verify`` reports for a component, and what the ledger records (``record()``)."""

    component: str
    verdict: str | None  # None: not installed
    repo: str
    ref: str | None = None
    commit: str | None = None
    tag_object: str | None = None
    tree: str | None = None
    signer: str | None = None
    fingerprint: str | None = None
    allowed_signers_sha256: str | None = None
    reason: str = ""
    moved: dict[str, str] | None = None  # a tag that now names another commit: {tag, installed, now}
    differing: dict[str, str] = field(factory=dict)  # path → how it differs from the tree (mismatch)
    accepted: tuple[str, ...] = ()  # accepted local patches accounted for
    recorded: dict[str, Any] | None = None  # the ledger's provenance record, as written at install/upgrade/import

    def to_json(self) -> dict[str, Any]:
        out = asdict(self, recurse=False)
        out["accepted"] = list(self.accepted)
        return out


def signers_digest(trust: dict[str, Path]) -> str | None:
    path = trust.get("allowed_signers")
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else None


def source_entries(repo: Path, commit: str) -> dict[str, tuple[str, str]]:
    from trueup.source import Source

    return {p: (SYMLINK if e.type == "symlink" else EXECUTABLE if e.mode == "0755" else FILE, e.blob)
            for p, e in Source(repo).tree(commit).items()}


def check_ref(repo: Path, ref: str, trust: dict[str, Path], tmp: Path | None,
              commit: str | None = None) -> tuple[git_verify.RefFacts, Signature, str | None]:
    """A ref as it is now, its signature, and (with ``commit``) that commit's root tree id."""
    facts, tree = git_verify.ref_facts(repo, ref, commit)
    return facts, git_verify.verify(repo, facts, trust, tmp), tree


def _recorded_tag(repo: Path, ref: str, tag_object: str | None) -> git_verify.RefFacts | None:
    """The tag object installed, when the ref has moved since but the object is still in the repository."""
    if not tag_object:
        return None
    found = git_verify.objects(repo, [tag_object])[tag_object]
    if found is None or found[1] != "tag":
        return None
    target = git_verify.header(found[2], b"object")
    return git_verify.RefFacts(ref, True, tag_object, git_verify.header(found[2], b"tag"), target, found[2])


def verify_installed(spec, workspace_root: Path, repo: Path, ledger: dict[str, Any] | None,
                     tmp: Path | None = None) -> Verification:
    """The installed component's verdict: the recorded ref's signature (the tag object installed, if the tag has
    moved since), then its bytes against the installed commit's tree."""
    trust = git_verify.trust_files(spec.trust, workspace_root, spec.origin)
    if ledger is None:
        return Verification(spec.name, None, spec.repo, reason="not installed")
    ref, commit = ledger["source"]["ref"], ledger["source"]["commit"]
    recorded = ledger.get("provenance")
    facts, tree = git_verify.ref_facts(repo, ref, commit)
    if tree is None:  # the source lost the installed commit (history rewritten): nothing to check against
        return Verification(spec.name, LOCAL_UNVERIFIED, spec.repo, ref, commit, allowed_signers_sha256=signers_digest(
            trust), reason=f"the installed commit {commit[:12]} is not in the source", recorded=recorded)
    moved = None
    if facts.is_tag and facts.commit and facts.commit != commit:
        moved = {"tag": ref, "installed": commit, "now": facts.commit}
        facts = _recorded_tag(repo, ref, (recorded or {}).get("tag_object")) or evolve(
            facts, tag_object=None, commit=commit, signed_object=b"")
    signature = git_verify.verify(repo, facts, trust, tmp)
    if moved and not facts.tag_object:
        signature = Signature(UNSIGNED, reason=f"tag {ref} now names {moved['now'][:12]}; the tag installed is gone")
    elif facts.tag_object and tag_target(facts) not in (None, commit):
        # The tag object's own "object" line must be the installed commit, whatever the ref resolved to.
        signature = Signature(SIGNATURE_INVALID, reason=f"tag {ref} names {tag_target(facts)[:12]}, "
                              f"not the installed commit {commit[:12]}")
    skip = skip_rule(spec)
    accepted_records = ledger.get("accepted", {})
    live, live_facts = walk(spec.install_path, skip, wanted=accepted_records)
    if not accepted_records and tree is not None and install_tree(live) == tree:
        binding = Binding(tree, tree, {}, ())  # git's own id for these bytes: no need to list the commit's tree
    else:  # path by path, to account for accepted patches and name each difference
        binding = bind(source_entries(repo, commit), live, live_facts, accepted_records, skip, spec.exact_modes)
    # The commit's own tree id, unless the source holds paths provenance leaves out (ignored, secrets, generated):
    # then the id of the part compared.
    tree, differing, accepted = binding.tree, binding.differing, binding.accepted
    imported = (recorded or {}).get("status") == "local/unverified"
    pinned = is_pinned(ref, facts.is_tag) and not (moved and signature.outcome == UNSIGNED)
    result = verdict(imported_unverified=imported, pinned=pinned, signature=signature, mismatched=bool(differing))
    reason = signature.reason
    if imported:
        reason = "imported: " + (recorded or {}).get("verified_by", "")
    if differing:
        reason = f"{len(differing)} path{'s' if len(differing) > 1 else ''} differ from the tree: " + ", ".join(
            f"{p} ({how})" for p, how in list(differing.items())[:10])
    return Verification(spec.name, result, spec.repo, ref, commit, facts.tag_object, tree, signature.principal,
                        signature.fingerprint, signers_digest(trust), reason, moved, differing, accepted, recorded)


def tag_target(facts: git_verify.RefFacts) -> str | None:
    """The object an annotated tag names (its ``object`` header)."""
    return git_verify.header(facts.signed_object, b"object") if facts.tag_object else None


def record(spec, workspace_root: Path, repo: Path, ref: str, commit: str, *, imported: bool,
           verified_by: str, tmp: Path | None = None) -> dict[str, Any]:
    """The ledger's provenance record for bytes trueup just wrote (or imported) from ``commit``: their tree is the
    commit's by construction (every byte written was checked against the plan's hash), so only the ref is checked."""
    from trueup.state.ledger import INSTALLER, now_iso

    trust = git_verify.trust_files(spec.trust, workspace_root, spec.origin)
    facts, tree = git_verify.ref_facts(repo, ref, commit)
    signature = git_verify.verify(repo, facts, trust, tmp) if facts.commit == commit else Signature(
        UNSIGNED, reason=f"{ref} does not name {commit[:12]}")
    result = verdict(imported_unverified=imported, pinned=is_pinned(ref, facts.is_tag) and facts.commit == commit,
                     signature=signature, mismatched=False)
    out = {"status": "local/unverified" if imported else "verified", "repo": spec.repo, "commit": commit,
           "verified_by": verified_by, "ref": ref, "tag_object": facts.tag_object if facts.commit == commit else None,
           "tree": tree, "signer": signature.principal if result == VERIFIED_SIGNED else None,
           "fingerprint": signature.fingerprint, "allowed_signers_sha256": signers_digest(trust),
           "installer": INSTALLER, "verified_at": now_iso(), "verdict": result}
    if result == LOCAL_UNVERIFIED or signature.reason:
        out["reason"] = signature.reason if not imported else verified_by
    return out
