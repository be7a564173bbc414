"""`trueup validate`: every problem in trueup.yaml and the files it includes, without observing anything.

Loading a workspace stops at its first problem (a plan cannot go on with a broken manifest); a person fixing
one wants the whole list. This reports every schema error of every file, then, component by component, the
checks loading makes beyond the schema (paths, names, config specs), each as "file:line: field: problem".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup import manifest as m
from trueup.errors import ManifestError, TrueupError
from trueup.schemas.validate import validator

MAX_PROBLEMS = 100  # a file that is wrong everywhere is wrong: the first hundred say so


def _schema_problems(path: Path, document: Any, schema: str) -> list[tuple[str, str]]:
    out = []
    errors = sorted(validator(schema).iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors[:MAX_PROBLEMS]:
        field, problem, fix = m._describe(error)
        location = list(error.absolute_path)
        if error.validator == "additionalProperties":
            location += sorted(set(error.instance) - set(error.schema.get("properties", {})))[:1]
        line = m._line_of(document, location)
        out.append((f"{path.name}:{line}: {field}: {problem}" if line else f"{path.name}: {field}: {problem}", fix))
    return out


def problems(root: Path) -> list[tuple[str, str]]:
    """(problem, how to fix) of every problem found, in file order; empty when the workspace loads."""
    manifest = root / m.MANIFEST_NAME
    try:
        document = m._yaml_load(manifest)
    except TrueupError as exc:
        return [(exc.message, exc.hint or "")]
    if document is None:
        return [(f"{m.MANIFEST_NAME}: is empty", "start with 'version: 1' and a components: list")]
    found = _schema_problems(manifest, document, "workspace")
    if found:
        return found  # the rest reads the document as the schema describes it
    sources: list[tuple[Path, Any]] = [(manifest, document.get("components") or [])]
    for pattern in document.get("include") or []:
        try:
            matches = sorted(root.glob(pattern))
        except (NotImplementedError, ValueError, OSError):
            matches = []
        for included in matches:
            try:
                part = m._yaml_load(included)
            except TrueupError as exc:
                found.append((exc.message, exc.hint or ""))
                continue
            schema_found = _schema_problems(included, part, "component-file")
            found += schema_found
            if not schema_found:
                sources.append((included, part["components"] if isinstance(part, dict) else part))
    if found:
        return found
    for path, items in sources:
        for index, raw in enumerate(items):
            origin = f"{path.relative_to(root) if path.is_relative_to(root) else path}:{m._line_of(items, [index])}"
            try:
                spec = m._component(raw, root, origin)
                m._check_component(path, items, index, raw, spec)
            except ManifestError as exc:
                found.append((exc.message, exc.hint or ""))
    if not found:
        try:  # what only the whole workspace shows: duplicate names, include patterns, the state dir
            workspace = m.load_workspace(root)
            from trueup.policy import load_policy  # what the schema cannot say of policy: (cron, time zones)

            load_policy(workspace)
        except TrueupError as exc:
            found.append((exc.message, exc.hint or ""))
    return found[:MAX_PROBLEMS]
