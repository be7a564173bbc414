"""`source` drift: not installed, unmanaged, outdated against the desired commit, version files that disagree."""

from __future__ import annotations

from typing import Any

from trueup.files.snapshot import SourceFacts
from trueup.model.plan import Drift, DriftClass
from trueup.model.versions import version_key


def diff_source(ledger: dict[str, Any] | None, source: SourceFacts, install_exists: bool) -> list[Drift]:
    desired = {"commit": source.commit, "version": source.version}
    items: list[Drift] = []
    if len({version_key(v) for v in source.declarations.values()}) > 1:
        items.append(Drift(DriftClass.SOURCE, "version-disagreement", None, source.version, dict(source.declarations)))
    if ledger is None:
        items.append(Drift(DriftClass.SOURCE, "unmanaged" if install_exists else "not-installed", None, desired, None))
        return items
    installed = {"commit": ledger["source"]["commit"], "version": ledger["version"]}
    if installed["commit"] != source.commit:
        items.append(Drift(DriftClass.SOURCE, "outdated", None, desired, installed))
    return items
