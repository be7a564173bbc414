"""Shared fixtures: real git sources, real install directories, trueup run in-process through its CLI."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import Project


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from the current output")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden") or os.environ.get("TRUEUP_UPDATE_GOLDEN") == "1"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    # No test may read or write the real user's state: HOME and XDG dirs point into a temp dir.
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.delenv("TRUEUP_WORKSPACE", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TRUEUP_SELF_CHECK", "1")  # every plan built in a test is validated against its schema


@pytest.fixture
def project(tmp_path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def installed(project) -> Project:
    """The demo component at v1, installed by trueup and clean."""
    project.source({"v1": V1, "v2": V2})
    project.manifest(ref="v1")
    plan_file = str(project.root / "install-plan.json")
    code, out, _ = project.run("plan", "-o", plan_file)
    assert code == 0, out
    code, out, err = project.run("apply", plan_file, "--approve-all")
    assert code == 0, out + err
    return project


V1 = {
    "package.json": '{"name": "app", "version": "1.0.0"}\n',
    "server/index.js": "const a = 1;\nconst b = 2;\nconst c = 3;\nconsole.log(a + b + c);\n",
    "server/util.js": "module.exports = {};\n",
    "bin/run": ("#!/bin/sh\nexec node server/index.js\n", 0o755),
    "CLAUDE.md": "Claude is the agent.\n",
    "docs/old.md": "old docs\n",
}
V2 = {
    "package.json": '{"name": "app", "version": "2.0.0"}\n',
    "server/index.js": "const a = 1;\nconst b = 2;\nconst c = 30;\nconsole.log(a + b + c);\n",
    "server/util.js": "module.exports = {};\n",
    "server/new.js": "exports.n = 1;\n",
    "bin/run": ("#!/bin/sh\nexec node server/index.js \"$@\"\n", 0o755),
    "CLAUDE.md": "Claude is the agent.\nClaude is careful.\n",
}


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared")


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True)
