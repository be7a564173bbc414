"""One `config:` item of a component, validated and parsed into a frozen spec."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from trueup.errors import ManifestError
from trueup.config.redact import is_secret_name, secret_patterns
from trueup.schemas.validate import error_line
from trueup.config.selectors import parse_selector

ITSELF = "."


@frozen
class ListRule:
    """How items of the lists a selector matches are identified: key fields (or the item itself) and path fields."""

    selector: tuple[str, ...]
    source: str
    key: tuple[str, ...]  # (".",) = the item itself is its key
    paths: tuple[str, ...]

    @property
    def keyed_by_itself(self) -> bool:
        return self.key == (ITSELF,)


@frozen
class ConfigSpec:
    path: str
    format: str
    template: str
    lists: tuple[ListRule, ...]
    runtime_keys: tuple[str, ...]
    secret_patterns: tuple[str, ...]

    def rule_for(self, concrete: tuple[str, ...]) -> ListRule | None:
        from trueup.config.selectors import matches

        for rule in self.lists:
            if matches(rule.selector, concrete):
                return rule
        return None


def parse_spec(raw: dict[str, Any]) -> ConfigSpec:
    problem = error_line("config", raw)
    if problem:
        raise ManifestError(f"config entry {raw.get('path', '?')!r}: {problem}")
    patterns = secret_patterns(raw.get("secret_keys"))
    source = secret_keyed_list(raw)
    if source is not None:  # manifest.load_workspace refuses it first, naming trueup.yaml:line
        raise ManifestError(
            f"config {raw['path']!r}: list {source!r} is keyed by a secret-like field",
            hint="pick a non-secret key field, or leave the list unmanaged",
        )
    rules = []
    for source, rule in (raw.get("lists") or {}).items():
        key = (ITSELF,) if rule["key"] == ITSELF else tuple(rule["key"])
        rules.append(ListRule(selector=parse_selector(source), source=source, key=key, paths=tuple(rule.get("paths", ()))))
    return ConfigSpec(
        path=raw["path"],
        format=raw["format"],
        template=raw["template"],
        lists=tuple(rules),
        runtime_keys=tuple(raw.get("runtime_keys", ())),
        secret_patterns=patterns,
    )


def secret_keyed_list(raw: dict[str, Any]) -> str | None:
    """The first `lists:` selector of a (schema-valid) config item whose items are keyed by a secret-like field.

    A key field's value is written into entry keys, which plans show; a secret there would leak.
    """
    patterns = secret_patterns(raw.get("secret_keys"))
    for source, rule in (raw.get("lists") or {}).items():
        key = (ITSELF,) if rule["key"] == ITSELF else tuple(rule["key"])
        names = [*key] if key != (ITSELF,) else [t for t in parse_selector(source) if t not in ("*", "[]")]
        if any(is_secret_name(name, patterns) for name in names):
            return source
    return None
