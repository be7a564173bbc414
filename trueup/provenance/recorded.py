"""Provenance as the ledger recorded it: an install trueup cannot vouch for, or whose commit the source lost.

Counted as drift only when the workspace sets ``require_verified``; otherwise listed as information. Pure.
(The files provider's diff reports these with the rest of what the ledger says; trueup/files/provenance.py.)
"""

from __future__ import annotations

from typing import Any

from trueup.model.plan import Drift, DriftClass


def diff_provenance(ledger: dict[str, Any] | None, source: Any, require_verified: bool) -> list[Drift]:
    """``source``: anything with ``installed_commit_exists`` (the files provider's SourceFacts)."""
    if ledger is None:
        return []
    provenance = ledger["provenance"]
    if provenance["status"] != "verified":
        return [Drift(DriftClass.PROVENANCE, "unverified", None, "verified",
                      {"status": provenance["status"], "verified_by": provenance["verified_by"]}, require_verified)]
    if not source.installed_commit_exists:
        return [Drift(DriftClass.PROVENANCE, "commit-missing", None, ledger["source"]["commit"],
                      "not in the source repository", require_verified)]
    return []
