"""The write guard: while a plan runs, a write outside the state dir's cache and sources raises."""

from __future__ import annotations

import os

import pytest

from trueup import config
from trueup.planner.write_guard import PlanWroteError, planning


def test_writes_outside_the_state_dirs_corners_raise(tmp_path):
    state = tmp_path / "state"
    outside = tmp_path / "install" / "a.txt"
    outside.parent.mkdir()
    outside.write_text("operator")
    with planning(state):
        (state / "cache").mkdir(parents=True)  # making the cache (and the state dir) is allowed
        (state / "cache" / "memo").write_text("ok")
        (state / "sources").mkdir()
        assert outside.read_text() == "operator"  # reading is never a write
        with pytest.raises(PlanWroteError, match="a.txt"):
            outside.write_text("changed")
        with pytest.raises(PlanWroteError):
            os.open(outside, os.O_WRONLY | os.O_APPEND)
        for mutate in (lambda: os.remove(outside), lambda: os.chmod(outside, 0o600),
                       lambda: os.rename(outside, tmp_path / "b.txt"), lambda: os.mkdir(tmp_path / "new"),
                       lambda: os.symlink("x", tmp_path / "link")):
            with pytest.raises(PlanWroteError):
                mutate()
    assert outside.read_text() == "operator" and oct(outside.stat().st_mode & 0o777) != "0o600"
    outside.write_text("after")  # outside a plan, nothing is guarded
    assert outside.read_text() == "after"


def test_a_provider_that_writes_while_planning_fails_the_plan(installed, monkeypatch):
    real = config.observe
    victim = installed.install / "server" / "index.js"
    before = victim.read_bytes()

    def writes(spec, ctx):
        victim.write_bytes(b"clobbered")
        return real(spec, ctx)

    monkeypatch.setattr(config, "observe", writes)
    code, _, err = installed.run("plan")
    assert code == 1 and "internal error" in err and "PlanWroteError" in err
    assert victim.read_bytes() == before


def test_the_interpreters_bytecode_cache_is_not_a_write_plan_makes(tmp_path, monkeypatch):
    """Where PYTHONDONTWRITEBYTECODE is unset, importing a module lazily during a plan writes its __pycache__/*.pyc
    (temp file, rename, maybe the directory): that must not fail the plan; a file beside it still does."""
    import importlib
    import sys

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    package = tmp_path / "lazy_mod_for_guard"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with planning(tmp_path / "state"):
        module = importlib.import_module("lazy_mod_for_guard")
        with pytest.raises(PlanWroteError):
            (package / "__pycache__" / "notes.txt").write_text("x")
    assert module.VALUE == 42 and list((package / "__pycache__").glob("__init__.*.pyc"))
