"""Load trueup's JSON Schemas and validate documents against them."""

from __future__ import annotations

import itertools
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The schemas ship inside the package directory; reading them by path spares importing importlib.resources.
SCHEMA_DIR = Path(__file__).parent

if TYPE_CHECKING:  # jsonschema is imported only to explain an invalid document: it is slow to load
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

_FILES = ("workspace", "component-file", "ledger", "plan")


@cache
def _registry() -> Registry:
    from referencing import Registry, Resource

    registry = Registry()
    for entry in SCHEMA_DIR.iterdir():
        if entry.name.endswith(".schema.json"):
            schema = json.loads(entry.read_text("utf-8"))
            resource = Resource.from_contents(schema)
            registry = registry.with_resources([(schema["$id"], resource), (entry.name, resource)])
    return registry


@cache
def validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text("utf-8"))
    return Draft202012Validator(schema, registry=_registry())


def module_name(schema: str) -> str:
    return schema.replace("-", "_")


def schemas_digest() -> str:
    """SHA-256 over every schema file: what a generated validator module must have been built from."""
    import hashlib

    h = hashlib.sha256()
    for entry in sorted(SCHEMA_DIR.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".schema.json"):
            h.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return h.hexdigest()


@cache
def _fast(name: str):
    """A compiled validator (fastjsonschema): ~10x faster than jsonschema on a 100k-entry ledger.

    Generated ahead of time (scripts/compile-schemas) when the module matches the schemas, else at run time.
    """
    import importlib

    try:
        module = importlib.import_module(f"{__package__}.compiled.{module_name(name)}")
        if module.SCHEMAS_SHA256 == schemas_digest():
            return module.validate
    except ImportError:
        pass
    import fastjsonschema

    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text("utf-8"))
    return fastjsonschema.compile(schema, handlers={"https": _resolve_local})


def _resolve_local(uri: str) -> dict:
    # Our schemas reference each other by $id (https://trueup.dev/schemas/NAME); serve them from the package,
    # never from the network. (Not through `referencing`: importing it costs more than the lookup.)
    name = uri.split("#", 1)[0].rsplit("/", 1)[-1]
    return json.loads((SCHEMA_DIR / name).read_text("utf-8"))


def is_valid(name: str, document: Any) -> bool:
    import fastjsonschema

    try:
        _fast(name)(document)
        return True
    except fastjsonschema.JsonSchemaException:
        return False


def first_error(name: str, document: Any) -> ValidationError | None:
    """The most relevant validation error (deepest, then first by path), or None when valid.

    The compiled validator answers "valid?"; jsonschema is loaded only to explain what is invalid.
    """
    if is_valid(name, document):
        return None
    # The first 100 are plenty to pick from: a file of a million bad items must not make a million error objects.
    errors = list(itertools.islice(validator(name).iter_errors(document), 100))
    if not errors:
        return None
    from jsonschema.exceptions import best_match

    return best_match(errors)


def field_path(error: ValidationError) -> str:
    """components[0].install.path: the dotted location of an error inside its document."""
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def error_line(name: str, document: Any) -> str | None:
    """The first violation by location as one line (``where: message``), or None when valid.

    For small documents read whole (a config item, an ownership registry), where the first problem in
    document order reads better than the deepest one.
    """
    errors = sorted(validator(name).iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    return f"{where}: {error.message}"
