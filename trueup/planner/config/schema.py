"""Load and apply the config-related JSON Schemas shipped in trueup/schemas."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from trueup.schemas.validate import SCHEMA_DIR


@cache
def validator(name: str) -> Draft202012Validator:
    text = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    return Draft202012Validator(json.loads(text))


def first_error(name: str, document: Any) -> str | None:
    """The first schema violation as one line, or None when the document is valid."""
    errors = sorted(validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    return f"{where}: {error.message}"
