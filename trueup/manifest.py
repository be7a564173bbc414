"""Load and validate trueup.yaml (and the files it includes) into the desired state."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from attrs import Factory, frozen
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from trueup import manifest_limits as limits
from trueup.errors import ManifestError, escape
from trueup.errors import value as quoted
from trueup.readfile import read_text
from trueup.schemas.validate import field_path, first_error
from trueup.state.canonical import canonical_json

MANIFEST_NAME = "trueup.yaml"

# Common backup conventions recognised without configuration (gitignore syntax, via pathspec).
DEFAULT_BACKUP_PATTERNS = (
    "*.bak", "*.bak.*", "*.backup", "*.orig", "*.rej", "*~",
    "*.dpkg-old", "*.dpkg-dist", "*.dpkg-new", "*.rpmnew", "*.rpmsave", "*.ucf-*",
    ".backup/**", "*.trueup-*",
)


@frozen
class Generated:
    path: str
    template: str
    command: str


@frozen
class ComponentSpec:
    """The desired state of one component, with paths resolved."""

    name: str
    repo: str
    ref: str
    install_path: Path
    ignore: tuple[str, ...]
    secrets: tuple[str, ...]
    backups: tuple[str, ...]
    generated: tuple[Generated, ...]
    config: tuple[dict, ...]
    runtime: dict | None
    digest: str  # sha256 of the component's manifest entry: a changed manifest makes a plan stale
    origin: str  # "trueup.yaml:12", for messages
    # install.modes: "exact" compares every permission bit; by default only the executable bit (as git does).
    exact_modes: bool = False
    # Provenance (trueup/provenance/): whose signatures count, and what an install or upgrade must be.
    trust: dict | None = None
    require: str = "any"

    @property
    def backup_patterns(self) -> tuple[str, ...]:
        return DEFAULT_BACKUP_PATTERNS + self.backups


@frozen
class Workspace:
    root: Path
    manifest_path: Path
    state_dir: Path
    require_verified: bool
    components: tuple[ComponentSpec, ...]
    history: dict = Factory(dict)  # retention of the history database: keep_days, keep_runs
    policy: dict | None = None  # trueup.yaml's policy: as written; trueup/policy reads it (load_policy)

    def component(self, name: str) -> ComponentSpec:
        for spec in self.components:
            if spec.name == name:
                return spec
        raise ManifestError(f"{self.manifest_path.name}: no component named {name!r}",
                            hint="names: " + ", ".join(c.name for c in self.components))


def find_workspace(explicit: str | os.PathLike | None) -> Path:
    """--workspace, else TRUEUP_WORKSPACE, else the nearest directory at or above the current one with a
    trueup.yaml (trueup.served.find_root: the served plan finds its workspace by the same code)."""
    from trueup.served import find_root

    return Path(find_root(explicit))


def _yaml_load(path: Path) -> Any:
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # read_text says what is wrong with it
    if size > limits.MAX_BYTES:
        raise ManifestError(f"{path.name}: is {size} bytes, over the limit of {limits.MAX_BYTES}",
                            hint="a manifest holds settings, not data; split it with include:")
    text = read_text(path, ManifestError, missing="not found",
                     hint="run trueup in a directory with a trueup.yaml, or pass --workspace DIR")
    try:
        document = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError(f"{path.name}{line}: not valid YAML: {escape(str(problem))}",
                            hint="check indentation and quoting") from None
    except RecursionError:
        raise ManifestError(f"{path.name}: nested too deeply (the limit is {limits.MAX_DEPTH} levels)",
                            hint="a manifest is a few levels deep; remove the runaway brackets") from None
    limits.check(path.name, document, _line_of)
    return document


def _line_of(document: Any, location: list) -> int | None:
    """1-based line of the node at ``location`` in a ruamel round-trip document, or its nearest parent."""
    node, line = document, None
    for part in location:
        try:
            if isinstance(node, CommentedMap) and part in node:
                line = node.lc.key(part)[0] + 1
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line = node.lc.item(part)[0] + 1
            else:
                break
            node = node[part]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    if line is None and isinstance(document, (CommentedMap, CommentedSeq)):
        line = document.lc.line + 1
    return line


def _yaml_type(value: Any) -> str:
    for kind, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (dict, "mapping"), (list, "list")):
        if isinstance(value, kind):
            return name
    return "null" if value is None else type(value).__name__


def _describe(error) -> tuple[str, str, str]:
    """(field, what is wrong, how to fix) for a jsonschema error."""
    field = escape(field_path(error))
    validator, instance = error.validator, error.instance
    if validator == "required":
        missing = error.message.split("'")[1]
        return (f"{field}.{missing}" if error.absolute_path else missing, "is required", f"add {missing}:")
    if validator == "additionalProperties":
        extra = sorted(set(instance) - set(error.schema.get("properties", {})), key=str)
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        name = escape(str(extra[0]))[:80] if extra else "?"
        return (f"{field}.{name}" if error.absolute_path else name, "is not a known field", f"remove it or use one of: {allowed}")
    if validator == "type":
        return (field, f"must be {error.validator_value}, not {_yaml_type(instance)}", f"write a {error.validator_value}")
    if validator == "const":
        return (field, f"must be {error.validator_value!r}, not {quoted(instance)}", f"set it to {error.validator_value!r}")
    if validator == "enum":
        return (field, f"{quoted(instance)} is not one of {', '.join(map(str, error.validator_value))}", "use one of those values")
    if validator == "not" and "description" in error.schema:
        return (field, f"{quoted(instance)} is not {error.schema['description']}", "use a relative path inside the install directory")
    if validator == "pattern" and field.endswith("name"):
        return (field, f"{quoted(instance)} is not a valid name", "use letters, digits, '.', '_' and '-'")
    if validator == "minLength":
        return (field, "must not be empty", "give it a value")
    return (field, escape(error.message) if len(error.message) <= 200 else f"is not valid here ({error.validator})",
            "see the trueup.yaml reference in README.md")


def _validate(path: Path, document: Any, schema: str) -> None:
    error = first_error(schema, document)
    if error is None:
        return
    field, problem, fix = _describe(error)
    location = list(error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})), key=str)
        location += extra[:1]
    line = _line_of(document, location)
    where = f"{path.name}:{line}" if line else path.name
    raise ManifestError(f"{where}: {field}: {problem}", hint=fix)


def _plain(node: Any) -> Any:
    """ruamel round-trip containers → plain dicts/lists, for hashing and for the rest of trueup."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def resolve_user_path(value: str, base: Path) -> Path:
    """Manifest path semantics: ``~`` expands, absolute stays, relative is under ``base``."""
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else base / path


def _component(raw: CommentedMap, root: Path, origin: str) -> ComponentSpec:
    plain = _plain(raw)
    install = plain["install"]
    return ComponentSpec(
        name=plain["name"],
        repo=plain["source"]["repo"],
        ref=str(plain["source"]["ref"]),
        install_path=Path(os.path.normpath(resolve_user_path(install["path"], root))),
        ignore=tuple(install.get("ignore", ())),
        secrets=tuple(install.get("secrets", ())),
        backups=tuple(install.get("backups", ())),
        generated=tuple(Generated(**g) for g in install.get("generated", ())),
        config=tuple(plain.get("config", ())),
        runtime=plain.get("runtime"),
        digest=hashlib.sha256(canonical_json(plain).encode()).hexdigest(),
        origin=origin,
        exact_modes=install.get("modes") == "exact",
        trust=plain.get("trust"),
        require=plain.get("require", "any"),
    )


def _check_component(path: Path, items: Any, index: int, raw: Any, spec: ComponentSpec) -> None:
    """What the schema cannot say about one component: patterns that compile, an install path that can be a
    directory, config lists whose keys are not secrets. Each problem named by file:line and field."""

    def fail(location: list, problem: str, hint: str) -> None:
        line = _line_of(items, [index, *location])
        where = f"{path.name}:{line}" if line else path.name
        field = f"components[{index}]" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in location)
        raise ManifestError(f"{where}: {escape(field)[:120]}: {problem}", hint=hint)

    import pathspec  # the walk compiles these the same way (files/globs.py)

    for field in ("ignore", "secrets", "backups"):
        for position, pattern in enumerate(raw["install"].get(field) or ()):
            try:
                pathspec.GitIgnoreSpec.from_lines([pattern])
            except ValueError as exc:
                fail(["install", field, position], f"{quoted(pattern)} is not a gitignore pattern "
                     f"({escape(str(exc).split(':')[0])[:60]})", "escape a literal backslash or '!' with a backslash")
    problem = limits.path_problem(spec.install_path)
    if problem:
        fail(["install", "path"], f"{quoted(raw['install']['path'])} {problem}",
             "point install.path at a directory (made when missing)")
    for position, item in enumerate(raw.get("config") or ()):
        if not item.get("lists"):
            continue
        from trueup.config.spec import secret_keyed_list  # config semantics; imported only when lists are declared

        source = secret_keyed_list(_plain(item))
        if source is not None:
            fail(["config", position, "lists", source], f"list {quoted(source)} is keyed by a secret-like field",
                 "pick a non-secret key field, or leave the list unmanaged")


def load_workspace(root: Path) -> Workspace:
    manifest = root / MANIFEST_NAME
    document = _yaml_load(manifest)
    if document is None:
        raise ManifestError(f"{MANIFEST_NAME}: is empty", hint="start with 'version: 1' and a components: list")
    _validate(manifest, document, "workspace")
    sources: list[tuple[Path, Any]] = [(manifest, document.get("components") or [])]
    for index, pattern in enumerate(document.get("include") or []):
        try:
            matches = sorted(root.glob(pattern))
        except (NotImplementedError, ValueError, OSError) as exc:
            # pathlib refuses absolute patterns (NotImplementedError) and empty ones (ValueError).
            line = _line_of(document, ["include", index])
            raise ManifestError(f"{MANIFEST_NAME}:{line}: include[{index}]: {quoted(pattern)} is not a usable pattern "
                                f"({escape(str(exc))[:80]})", hint="write a pattern relative to the workspace, such as components/*.yaml") from None
        if not matches:
            line = _line_of(document, ["include"])
            raise ManifestError(f"{MANIFEST_NAME}:{line}: include: {quoted(pattern)} matches no file", hint="fix the pattern or remove it")
        for included in matches:
            part = _yaml_load(included)
            _validate(included, part, "component-file")
            sources.append((included, part["components"] if isinstance(part, dict) else part))

    components: list[ComponentSpec] = []
    seen: dict[str, str] = {}
    for path, items in sources:
        for index, raw in enumerate(items):
            origin = f"{path.relative_to(root) if path.is_relative_to(root) else path}:{_line_of(items, [index])}"
            spec = _component(raw, root, origin)
            _check_component(path, items, index, raw, spec)
            if spec.name in seen:
                raise ManifestError(f"{origin}: name: component {spec.name!r} is already defined at {seen[spec.name]}",
                                    hint="give each component a unique name")
            seen[spec.name] = origin
            components.append(spec)

    state = document.get("state_dir")
    state_dir = resolve_user_path(state, root) if state else default_state_dir()
    return Workspace(
        root=root,
        manifest_path=manifest,
        state_dir=state_dir,
        require_verified=bool(document.get("require_verified", False)),
        components=tuple(sorted(components, key=lambda c: c.name)),
        history=dict(document.get("history") or {}),
        policy=_plain(document["policy"]) if document.get("policy") is not None else None,
    )


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "trueup"
