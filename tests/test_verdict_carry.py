"""Apply carries the stat cache's verdicts over to the ledger it writes (trueup.files.carry).

Without the carry, the walk after an apply (apply's own closing report, then the next plan) finds the
cache keyed to the old ledger and decides every entry again from the parsed new ledger. With it, that walk
trusts the cache; and a trusted walk must still see exactly what an uncached one sees.
"""

from __future__ import annotations

import json

import pytest

from trueup.files import tree
from trueup.state import stat_cache


@pytest.fixture
def walks(monkeypatch):
    """For each walk: whether it trusted the cache's verdicts (Verdicts without a parsed ledger)."""
    seen: list[bool] = []
    real = tree.Verdicts

    def recording(files, dirty, cached=None):
        seen.append(files is None)
        return real(files, dirty, cached)

    monkeypatch.setattr(tree, "Verdicts", recording)
    monkeypatch.setattr(stat_cache, "RACY_SLACK_NS", 0)
    return seen


def _comparable(document: dict) -> str:
    return json.dumps([c["drift"] for c in document["components"]] + [document["actions"]], sort_keys=True)


@pytest.mark.parametrize("case", ["upgrade", "accept-local", "restore-source", "cleanup-backups"])
def test_walk_after_apply_trusts_carried_verdicts_and_sees_the_truth(installed, walks, case):
    project = installed
    project.plan()  # a cache keyed to the installed ledger
    if case == "upgrade":
        project.manifest(ref="v2")
        (project.install / "server" / "util.js").write_text("module.exports = {patched: true};\n")
    elif case == "accept-local":
        (project.install / "server" / "util.js").write_text("module.exports = {patched: true};\n")
        (project.install / "notes.txt").write_text("mine\n")
    elif case == "restore-source":
        (project.install / "server" / "index.js").write_text("hot fix\n")
    else:
        (project.install / "package.json.bak").write_text("old\n")
    document = project.plan()
    assert any(a["type"] == case for a in document["actions"]), document["actions"]
    walks.clear()
    code, out, err = project.run("apply", str(project.write_plan(document)), "--approve-all")
    assert code == 0, out + err
    assert walks and all(walks), f"a walk after the new ledger decided every verdict again: {walks}"
    cached, uncached = project.plan(), project.plan("--no-cache")
    assert _comparable(cached) == _comparable(uncached)
    # accept-local changes ledger entries of files that did not change on disk: a wrong carried verdict shows here
    assert cached["summary"]["drift"] == 0, cached["components"]
