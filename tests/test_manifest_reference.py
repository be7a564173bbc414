"""docs/manifest.md is generated from the schemas and current; every manifest property is described with an example."""

from __future__ import annotations

from pathlib import Path

from trueup.schemas.reference import markdown, undocumented

DOC = Path(__file__).resolve().parents[1] / "docs" / "manifest.md"


def test_every_property_has_a_description_and_an_example():
    assert undocumented() == []


def test_docs_manifest_md_is_current():
    assert DOC.read_text("utf-8") == markdown(), "run scripts/gen-manifest-docs and commit docs/manifest.md"


def test_examples_validate_against_their_schema():
    """An example that the schema itself rejects would teach the wrong thing."""
    import json

    from jsonschema import Draft202012Validator

    from trueup.schemas.reference import PARTS, properties
    from trueup.schemas.validate import SCHEMA_DIR

    for name, _ in PARTS:
        schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
        for path, prop in properties(schema):
            if "$ref" in prop or "items" in prop and "$ref" in prop["items"]:
                continue  # checked where the referenced schema's own properties are
            for example in prop["examples"]:
                errors = list(Draft202012Validator({**prop, "$defs": schema.get("$defs", {})}).iter_errors(example))
                assert not errors, f"{name}: {path}: example {example!r}: {errors[0].message}"
