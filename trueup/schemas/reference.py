"""The manifest reference (docs/manifest.md), generated from the schemas so the two never disagree.

`scripts/gen-manifest-docs` writes it; tests/test_manifest_reference.py fails when it is out of date or when a
property has no description or example.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from trueup.schemas.validate import SCHEMA_DIR

# The schemas a trueup.yaml is made of, and the key each is found under.
PARTS = (("workspace", "trueup.yaml"), ("runtime", "components[].runtime"), ("config", "components[].config[]"),
         ("component-file", "a file named by include:"))


def _load(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text("utf-8"))


def properties(schema: dict[str, Any], prefix: str = "", root: dict[str, Any] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted path, property schema) of every property, depth first, following local $refs to $defs."""
    root = root or schema
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        schema = {**root["$defs"][ref.removeprefix("#/$defs/")], **{k: v for k, v in schema.items() if k != "$ref"}}
    for variant in schema.get("oneOf", []):
        if isinstance(variant, dict) and "properties" in variant:
            yield from properties(variant, prefix, root)
    for name, prop in (schema.get("properties") or {}).items():
        path = f"{prefix}{name}"
        yield path, prop
        yield from properties(prop, path + ".", root)
    items = schema.get("items")
    if isinstance(items, dict) and not items.get("$ref", "").startswith("workspace.schema.json"):
        yield from properties(items, prefix.rstrip(".") + "[].", root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        yield from properties(extra, prefix + "<key>.", root)


def undocumented() -> list[str]:
    """Properties without a description or an example (each should have both)."""
    return [f"{name}: {path}" for name, _ in PARTS for path, prop in properties(_load(name))
            if "description" not in prop or "examples" not in prop]


def _kind(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "$ref" in prop:
        return "path" if prop["$ref"].endswith("relpath") else "see below"
    kinds = prop.get("type") or [v.get("type", "?") for v in prop.get("oneOf", [])]
    return " \\| ".join(kinds) if isinstance(kinds, list) else kinds


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    out = ["# trueup.yaml reference", "",
           "Generated from `trueup/schemas/*.schema.json` by `scripts/gen-manifest-docs`; do not edit by hand "
           "(a test fails when it is out of date). `trueup schema NAME` prints a schema; `trueup validate` checks "
           "a manifest against them.", ""]
    for name, where in PARTS:
        schema = _load(name)
        out += [f"## {schema.get('title', name)}", "", f"Schema `{name}.schema.json`, at {where}.", "",
                "| property | type | description | example |", "|---|---|---|---|"]
        for path, prop in properties(schema):
            example = json.dumps(prop["examples"][0], ensure_ascii=False) if prop.get("examples") else ""
            out.append(f"| `{path}` | {_kind(prop)} | {_cell(prop.get('description', ''))} | "
                       f"{'`' + _cell(example) + '`' if example else ''} |")
        out.append("")
    return "\n".join(out)
