"""``trueup verify``: every selected component's provenance, checked now (offline), as lines or JSON."""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from trueup.errors import TrueupError
from trueup.manifest import Workspace
from trueup.provenance.check import Verification, verify_installed
from trueup.provenance.verdicts import (LOCAL_UNVERIFIED, MISMATCH, PINNED_UNSIGNED, SIGNATURE_FAILURES,
                                        VERIFIED_SIGNED)


def verify_workspace(workspace: Workspace, names: list[str] | None = None) -> list[Verification]:
    """Read-only and offline: the source as trueup last saw it (a remote one's mirror is not fetched)."""
    from trueup.source import repo_location
    from trueup.state import ledger as ledgers

    specs = [workspace.component(n) for n in names] if names else list(workspace.components)

    def one(spec) -> Verification:
        repo = repo_location(spec, workspace.root, workspace.state_dir)
        if not repo.exists():
            raise TrueupError(f"{spec.name}: no local copy of its source at {repo}",
                              hint="run trueup plan once (it clones a remote source), then verify offline")
        ledger = ledgers.load(spec.install_path)  # validated here, whatever a memo says
        # tmp None: git's own temp file for ssh-keygen, in the system's temp dir; verify writes nothing of trueup's.
        return verify_installed(spec, workspace.root, repo, ledger, None)

    if len(specs) < 2:
        return [one(spec) for spec in specs]
    # Most of a verification is waiting for git and ssh-keygen: a few at once keep both CPUs busy.
    with ThreadPoolExecutor(max_workers=min(len(specs), 2 * (os.cpu_count() or 1))) as pool:
        return list(pool.map(one, specs))


def unmet(spec_require: str, v: Verification) -> str | None:
    """Why a verification fails what the component requires (and ``trueup verify`` exits 2), or None."""
    if v.verdict is None:
        return None
    if v.verdict == MISMATCH or v.verdict in SIGNATURE_FAILURES:
        return v.verdict
    if v.moved:
        return "moved-tag"
    if spec_require == "signed" and v.verdict != VERIFIED_SIGNED:
        return f"require: signed, but {v.verdict}"
    if spec_require == "pinned" and v.verdict == LOCAL_UNVERIFIED:
        return "require: pinned, but local-unverified"
    return None


def lines(workspace: Workspace, results: list[Verification]) -> list[tuple[str, str | None]]:
    """(text, style) lines: one head line per component, then its moved tag, differing paths, accepted patches."""
    out: list[tuple[str, str | None]] = []
    for v in results:
        if v.verdict is None:
            out.append((f"{v.component}: not installed", "dim"))
            continue
        problem = unmet(workspace.component(v.component).require, v)
        tag = f"tag {v.tag_object[:12]}, " if v.tag_object else ""
        head = f"{v.component}: {v.verdict} — {v.ref} ({tag}commit {(v.commit or '?')[:12]}, tree {(v.tree or '?')[:12]})"
        if v.verdict == VERIFIED_SIGNED:
            head += f", signed by {v.signer} with {v.fingerprint}"
        elif v.reason and v.verdict != MISMATCH:
            head += f": {v.reason}"
        out.append((head, "red" if problem else "green" if v.verdict == VERIFIED_SIGNED else None))
        if v.moved:
            out.append((f"  moved tag: {v.moved['tag']} now names {v.moved['now']}, installed {v.moved['installed']}",
                        "red"))
        out += [(f"  ! {path} ({how})", "red") for path, how in v.differing.items()]
        out += [(f"  = {path} (accepted local patch)", None) for path in v.accepted]
        if problem and problem not in (v.verdict, "moved-tag"):
            out.append((f"  {problem}", "red"))
    counts = summary(results)
    out.append(("verify: " + ", ".join(f"{n} {k}" for k, n in counts.items()) if counts else "verify: no components",
                None))
    return out


def summary(results: list[Verification]) -> dict[str, int]:
    return dict(sorted(Counter(v.verdict or "not-installed" for v in results).items()))


def document(workspace: Workspace, results: list[Verification]) -> dict[str, Any]:
    return {"components": [{**v.to_json(), "unmet": unmet(workspace.component(v.component).require, v)}
                           for v in results],
            "summary": summary(results)}


def fleet_counts(plan_document: dict[str, Any]) -> dict[str, int]:
    """Per host, for ``trueup fleet``: how many components a plan found verified-signed, pinned, local,
    mismatched or failing (from each component's ``facts.provenance``; components without one are not counted)."""
    bucket = {VERIFIED_SIGNED: "verified-signed", PINNED_UNSIGNED: "pinned", LOCAL_UNVERIFIED: "local",
              MISMATCH: "mismatched"}
    counts: Counter[str] = Counter()
    for component in plan_document.get("components", []):
        verdict = ((component.get("facts") or {}).get("provenance") or {}).get("verdict")
        if verdict:
            counts[bucket.get(verdict, "failed")] += 1
    return dict(sorted(counts.items()))
