"""Typed precondition addresses: which provider observes a fact, about which target, and the one string codec.

A plan file stores each precondition under a string key (``file:server/index.js``,
``config:~/x/settings.json:sha256``, ``runtime:pid``). Code never builds or parses those strings itself:
it holds a ``FactKey`` and this module turns it into the string and back.
"""

from __future__ import annotations

from attrs import frozen

from trueup.errors import RefusedError

COMPONENT = "component"
FILES = "files"
CONFIG = "config"
RUNTIME = "runtime"


@frozen(order=True)
class FactKey:
    """The address of one observed fact: ``provider`` observes ``fact`` of ``target`` (None: the whole component)."""

    provider: str
    fact: str
    target: str | None = None

    def encode(self) -> str:
        return encode(self)


# Keys without a target, as the plan file spells them.
_BARE = {
    "manifest": FactKey(COMPONENT, "manifest"),
    "ledger": FactKey(COMPONENT, "ledger"),
    "source:commit": FactKey(COMPONENT, "source-commit"),
    "install:dir": FactKey(FILES, "install-dir"),
    "tree": FactKey(FILES, "tree"),
}
_BARE_NAMES = {key: name for name, key in _BARE.items()}

MANIFEST = _BARE["manifest"]
LEDGER = _BARE["ledger"]
SOURCE_COMMIT = _BARE["source:commit"]
INSTALL_DIR = _BARE["install:dir"]
TREE = _BARE["tree"]


def file_key(path: str) -> FactKey:
    return FactKey(FILES, "fact", path)


def config_key(path: str, fact: str) -> FactKey:
    return FactKey(CONFIG, fact, path)


def runtime_key(fact: str) -> FactKey:
    return FactKey(RUNTIME, fact)


def encode(key: FactKey) -> str:
    if ":" in key.fact:
        raise ValueError(f"fact names never hold ':' (decode could not read {key!r} back)")
    if key in _BARE_NAMES:
        return _BARE_NAMES[key]
    if key.provider == FILES and key.fact == "fact" and key.target:
        return f"file:{key.target}"
    if key.provider == CONFIG and key.target:
        return f"config:{key.target}:{key.fact}"
    if key.provider == RUNTIME and key.target is None:
        return f"runtime:{key.fact}"
    raise ValueError(f"no string form for {key!r}")


def decode(text: str) -> FactKey:
    """The key a plan file's string names; an unknown form is a plan this trueup cannot have made."""
    if text in _BARE:
        return _BARE[text]
    prefix, sep, rest = text.partition(":")
    if sep and rest:
        if prefix == "file":
            return file_key(rest)
        if prefix == "runtime" and ":" not in rest:
            return runtime_key(rest)
        if prefix == "config":
            path, sep2, fact = rest.rpartition(":")  # a path may hold ':', a fact name never does
            if sep2 and path and fact:
                return config_key(path, fact)
    raise RefusedError(f"plan has an unknown precondition {text!r}",
                        hint="it was made by another trueup version; run trueup plan again")
