"""`source` drift (not installed, unmanaged, outdated against the desired commit) and the source's warnings
(version files that disagree inside the upstream tag: a property of the source nobody here can change)."""

from __future__ import annotations

from typing import Any

from trueup.files.snapshot import SourceFacts
from trueup.model.plan import Drift, DriftClass, PlanWarning
from trueup.model.versions import version_key


def source_warnings(ref: str, source: SourceFacts) -> list[PlanWarning]:
    """Version declarations (version files, the tag) that disagree at the desired commit: a warning, not drift."""
    if len({version_key(v) for v in source.declarations.values()}) <= 1:
        return []
    listed = ", ".join(f"{k}={v}" for k, v in sorted(source.declarations.items()))
    return [PlanWarning(DriftClass.SOURCE, "version-disagreement", None,
                        f"version files disagree in the source at {ref}: {listed} (trueup uses {source.version})",
                        {"version": source.version, "declarations": dict(sorted(source.declarations.items()))})]


def diff_source(ledger: dict[str, Any] | None, source: SourceFacts, install_exists: bool) -> list[Drift]:
    desired = {"commit": source.commit, "version": source.version}
    items: list[Drift] = []
    if ledger is None:
        if not install_exists:
            items.append(Drift(DriftClass.SOURCE, "not-installed", None, desired, None))
        else:
            # What the install really is (the commit it matches best), not what the manifest asks for.
            match = source.adoption
            actual = None if match is None else {
                "commit": match["commit"], "version": match["version"], "ref": match["ref"],
                "exact": match["exact"], "differences": len(match["differences"])}
            items.append(Drift(DriftClass.SOURCE, "unmanaged", None, desired, actual))
        return items
    installed = {"commit": ledger["source"]["commit"], "version": ledger["version"]}
    if installed["commit"] != source.commit:
        items.append(Drift(DriftClass.SOURCE, "outdated", None, desired, installed))
    return items
