"""The validators generated ahead of time (scripts/compile-schemas) are current and judge like run-time ones."""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path

import fastjsonschema
import pytest

from trueup.schemas import validate
from trueup.state import ledger as ledgers



@pytest.mark.parametrize("name", ["workspace", "ledger", "plan"])
def test_generated_module_is_current(name):
    module = importlib.import_module(f"trueup.schemas.compiled.{validate.module_name(name)}")
    assert module.SCHEMAS_SHA256 == validate.schemas_digest(), "run scripts/compile-schemas after editing a schema"
    assert validate._fast(name) is module.validate


def _runtime(name):
    schema = json.loads((Path(validate.__file__).parent / f"{name}.schema.json").read_text())
    return fastjsonschema.compile(schema, handlers={"https": validate._resolve_local})


def _verdict(fn, doc) -> bool:
    try:
        fn(doc)
        return True
    except fastjsonschema.JsonSchemaException:
        return False


def _ledger() -> dict:
    doc = ledgers.new(name="app", version="1.0.0", repo="src/app", ref="v1", commit="a" * 40)
    doc["files"] = {"bin/run": {"type": "file", "mode": "0755", "sha256": "b" * 64}}
    return doc


def test_same_verdicts_as_run_time_compilation():
    valid = _ledger()
    bad_mode = copy.deepcopy(valid)
    bad_mode["files"]["bin/run"]["mode"] = "rwx"
    no_source = {k: v for k, v in valid.items() if k != "source"}
    for doc, expected in ((valid, True), (bad_mode, False), (no_source, False)):
        assert _verdict(validate._fast("ledger"), doc) is expected
        assert _verdict(_runtime("ledger"), doc) is expected


def test_stale_module_falls_back_to_run_time_compilation(monkeypatch):
    module = importlib.import_module("trueup.schemas.compiled.ledger")
    monkeypatch.setattr(module, "SCHEMAS_SHA256", "0" * 64)
    validate._fast.cache_clear()
    try:
        fn = validate._fast("ledger")
        assert fn is not module.validate and _verdict(fn, _ledger())
    finally:
        validate._fast.cache_clear()
