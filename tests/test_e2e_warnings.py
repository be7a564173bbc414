"""Warnings, not drift: version files that disagree inside the upstream tag are a property of the source the operator
cannot change. Shown in every view (text, markdown, JSON, fleet), counted, never drift; --strict makes them fail
--detailed-exitcode. Real git sources, the CLI in-process."""

from __future__ import annotations

import json

import pytest

from tests.conftest import V1

SPLIT = {**V1, "VERSION": "1.1.0\n"}  # package.json says 1.0.0, the tag v1, VERSION 1.1.0


@pytest.fixture
def split(project):
    """Installed and clean, from a source whose v1 declares two versions."""
    project.source({"v1": SPLIT})
    project.manifest(ref="v1")
    plan_file = project.root / "install.json"
    assert project.run("plan", "-o", str(plan_file))[0] == 0
    code, out, err = project.run("apply", str(plan_file), "--approve-all")
    assert code == 0, err
    return project


MESSAGE = "version files disagree in the source at v1: VERSION=1.1.0, package.json=1.0.0, tag=1 (trueup uses 1.0.0)"


def test_version_disagreement_is_a_warning_not_drift(split):
    document = split.plan()
    [component] = document["components"]
    assert component["status"] == "clean" and component["drift"] == []
    assert component["warnings"] == [{
        "class": "source", "kind": "version-disagreement", "path": None, "message": MESSAGE,
        "details": {"version": "1.0.0", "declarations": {"VERSION": "1.1.0", "package.json": "1.0.0", "tag": "1"}},
    }]
    assert document["summary"]["warnings"] == 1 and document["summary"]["drift"] == 0
    assert document["actions"] == []


def test_detailed_exitcode_passes_and_strict_fails_on_warnings(split):
    code, out, _ = split.run("plan", "--detailed-exitcode")
    assert code == 0
    assert f"warning: {MESSAGE}" in out
    assert "No drift. The installs match their sources and ledgers. 1 warning (not drift; --strict fails on them)." in out
    assert split.run("plan", "--detailed-exitcode", "--strict")[0] == 2
    assert split.run("plan", "--strict")[0] == 0  # --strict only sharpens --detailed-exitcode


def test_warnings_in_markdown_and_show(split):
    plan_file = split.write_plan(split.plan())
    code, out, _ = split.run("show", str(plan_file), "--markdown")
    assert code == 0
    assert "| component | status | drift | warnings | actions |" in out and "| app | clean | 0 | 1 | 0 |" in out
    assert f"> **warning** (version-disagreement): {MESSAGE}" in out
    code, out, _ = split.run("show", str(plan_file))
    assert f"warning: {MESSAGE}" in out


def test_fleet_shows_warnings_and_does_not_count_them_as_drift(split):
    plan_file = split.write_plan(split.plan(), "host-a.json")
    code, out, err = split.run("fleet", str(plan_file), "--json")
    assert code == 0, err
    [row] = json.loads(out)
    assert row["warnings"] == [MESSAGE] and row["drift"] == 0
    code, out, _ = split.run("fleet", str(plan_file))
    assert code == 0 and f"app: {MESSAGE}" in out
