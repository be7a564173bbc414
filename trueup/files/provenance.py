"""`provenance` drift: an install trueup cannot vouch for, or whose installed commit the source no longer has.

Counted as drift only when the workspace sets ``require_verified``; otherwise listed as information.
"""

from __future__ import annotations

from typing import Any

from trueup.files.snapshot import SourceFacts
from trueup.model.plan import Drift, DriftClass


def diff_provenance(ledger: dict[str, Any] | None, source: SourceFacts, require_verified: bool) -> list[Drift]:
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
