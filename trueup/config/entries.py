"""A parsed config document → canonical entries, each with the identity trueup tracks ownership by.

- a mapping leaf is `setting:a.b`;
- an item of a declared list is `item:<parent>[<key fields>]`, its value being the item without its own
  declared sub-lists (so a user's hook inside a framework group does not make the group user-modified);
- a managed line is `line:NAME` for `NAME=value` lines, else `line:<the normalized line>`.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from attrs import field, frozen

from trueup.config.formats import Document, to_plain
from trueup.config.normalize import normalize_field, normalize_text
from trueup.config.redact import contains_secret, is_secret_name, is_secret_path
from trueup.config.selectors import EVERY_ITEM
from trueup.config.spec import ITSELF, ConfigSpec, ListRule

KEY_STEP = "k"
ITEM_STEP = "i"
_PLAIN_NAME = re.compile(r'^[^.\[\]"\\]+$')
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")


@frozen
class ConfigEntry:
    """One tracked unit of a config file. ``value`` is as written; ``norm`` is what identity and hashes use."""

    key: str
    steps: tuple[tuple[str, str], ...]
    names: tuple[str, ...]  # the mapping keys on the way, for runtime_keys / secret_keys matching
    value: Any
    norm: Any
    secret: bool
    runtime: bool = False
    ancestors: tuple[str, ...] = ()  # keys of enclosing list items, outermost first
    nested: tuple[str, ...] = ()  # fields of an item holding declared sub-lists (not part of its value)

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]


@frozen
class Slot:
    """Where an entry lives in the parsed document: ``container[position]``."""

    container: Any = field(eq=False)
    position: Any


@frozen(eq=False)
class EntryIndex:
    """Entries by key in document order; keys two live entries share are collisions, never merged."""

    entries: dict[str, ConfigEntry]
    slots: dict[str, Slot]
    collisions: dict[str, tuple[ConfigEntry, ...]]


def render_steps(steps: tuple[tuple[str, str], ...]) -> str:
    out = ""
    for kind, text in steps:
        if kind == ITEM_STEP:
            out += f"[{text}]"
        else:
            name = text if _PLAIN_NAME.match(text) else json.dumps(text, ensure_ascii=False)
            out += f".{name}" if out else name
    return out


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _field(item: Any, name: str) -> Any:
    node = item
    for part in name.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _normalized_item(item: Any, rule: ListRule, home: Path) -> Any:
    if ITSELF in rule.paths:
        return normalize_field(item, home)
    if not isinstance(item, dict) or not rule.paths:
        return item
    out = dict(item)
    for name in rule.paths:
        if name in out:
            out[name] = normalize_field(out[name], home)
    return out


def _identity(item: Any, norm: Any, rule: ListRule, home: Path) -> str:
    if rule.keyed_by_itself or not isinstance(item, dict):
        return _compact(norm)
    parts = []
    for name in rule.key:
        value = _field(item, name)
        if name in rule.paths or ITSELF in rule.paths:
            value = normalize_field(value, home)
        parts.append(f"{name}={_compact(value)}")
    return ",".join(parts)


class _Extractor:
    def __init__(self, spec: ConfigSpec, home: Path) -> None:
        self.spec = spec
        self.home = home
        self.entries: dict[str, ConfigEntry] = {}
        self.slots: dict[str, Slot] = {}
        self.collisions: dict[str, list[ConfigEntry]] = {}

    def add(self, entry: ConfigEntry, slot: Slot) -> None:
        if entry.key in self.collisions:
            self.collisions[entry.key].append(entry)
        elif entry.key in self.entries:
            self.collisions[entry.key] = [self.entries.pop(entry.key), entry]
            self.slots.pop(entry.key)
        else:
            self.entries[entry.key] = entry
            self.slots[entry.key] = slot

    def runtime(self, names: tuple[str, ...]) -> bool:
        dotted = ".".join(names)
        return any(fnmatchcase(dotted, pattern) for pattern in self.spec.runtime_keys)

    def secret(self, names: tuple[str, ...], value) -> bool:
        """Secret-like by its key path, or because it holds a secret-like key anywhere inside."""
        return is_secret_path(names, self.spec.secret_patterns) or contains_secret(value, self.spec.secret_patterns)

    def mapping(self, node: dict, steps: tuple, concrete: tuple, names: tuple, ancestors: tuple) -> None:
        for name, value in node.items():
            name = str(name)
            c_steps, c_concrete, c_names = steps + ((KEY_STEP, name),), concrete + (name,), names + (name,)
            rule = self.spec.rule_for(c_concrete) if isinstance(value, list) else None
            if rule is not None:
                self.items(value, rule, c_steps, c_concrete, c_names, ancestors)
            elif isinstance(value, dict):
                # An empty mapping is a container, not an entry: entries inside it create it when added.
                self.mapping(value, c_steps, c_concrete, c_names, ancestors)
            else:
                plain = to_plain(value)
                entry = ConfigEntry(
                    key="setting:" + render_steps(c_steps),
                    steps=c_steps,
                    names=c_names,
                    value=plain,
                    norm=plain,
                    secret=self.secret(c_names, plain),
                    runtime=self.runtime(c_names),
                    ancestors=ancestors,
                )
                self.add(entry, Slot(node, name))

    def items(self, seq: list, rule: ListRule, steps: tuple, concrete: tuple, names: tuple, ancestors: tuple):
        item_concrete = concrete + (EVERY_ITEM,)
        for index, item in enumerate(seq):
            nested = ()
            if isinstance(item, dict):
                nested = tuple(
                    str(k)
                    for k, v in item.items()
                    if isinstance(v, list) and self.spec.rule_for(item_concrete + (str(k),)) is not None
                )
            plain = to_plain(item)
            value = {k: v for k, v in plain.items() if k not in nested} if isinstance(plain, dict) else plain
            norm = _normalized_item(value, rule, self.home)
            item_steps = steps + ((ITEM_STEP, _identity(value, norm, rule, self.home)),)
            key = "item:" + render_steps(item_steps)
            entry = ConfigEntry(
                key=key,
                steps=item_steps,
                names=names,
                value=value,
                norm=norm,
                secret=self.secret(names, value),
                runtime=self.runtime(names),
                ancestors=ancestors,
                nested=nested,
            )
            self.add(entry, Slot(seq, index))
            for name in nested:
                sub = item[name]
                self.items(
                    sub,
                    self.spec.rule_for(item_concrete + (name,)),
                    item_steps + ((KEY_STEP, name),),
                    item_concrete + (name,),
                    names + (name,),
                    ancestors + (key,),
                )

    def index(self) -> EntryIndex:
        return EntryIndex(
            entries=self.entries,
            slots=self.slots,
            collisions={k: tuple(v) for k, v in self.collisions.items()},
        )


def line_entry(line: str, spec: ConfigSpec, home: Path) -> ConfigEntry:
    text = line.rstrip("\r\n")
    norm = normalize_text(text, home)
    assignment = _ASSIGNMENT.match(text)
    if assignment:
        name = assignment.group(1)
        key, names = f"line:{name}", (name,)
        secret = is_secret_name(name, spec.secret_patterns)
    else:
        key, names, secret = f"line:{norm}", (), False
    runtime = bool(names) and any(fnmatchcase(names[0], p) for p in spec.runtime_keys)
    return ConfigEntry(key=key, steps=(), names=names, value=text, norm=norm, secret=secret, runtime=runtime)


def lines_index(lines: list[str], spec: ConfigSpec, home: Path) -> EntryIndex:
    extractor = _Extractor(spec, home)
    for position, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            extractor.add(line_entry(line, spec, home), Slot(lines, position))
    return extractor.index()


def index_document(doc: Document, spec: ConfigSpec, home: Path) -> EntryIndex:
    """Every entry of a parsed document (json/yaml mapping, or the managed block of a lines file)."""
    if doc.format == "lines":
        return lines_index(doc.data.block or [], spec, home)
    extractor = _Extractor(spec, home)
    extractor.mapping(doc.data, (), (), (), ())
    return extractor.index()
