"""The pure forward and reverse passes over (template entries, live entries, ownership registry).

Forward, per template entry: missing → add; registered and unmodified → update where it differs;
registered and modified → user-modified (kept); not registered and different → shadowed (the user's value
hides the framework's: reported until the operator takes one side); registered as the user's → untouched.
Reverse, per registered entry the template no longer ships: unmodified → remove; modified → kept and
reported; absent → forgotten silently. Nothing here reads or writes a file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from attrs import frozen

from trueup.config.entries import ConfigEntry, EntryIndex

FRAMEWORK = "framework"
USER = "user"

MISSING = "missing"
OUTDATED = "outdated"
USER_MODIFIED = "user-modified"
OBSOLETE = "obsolete"
OBSOLETE_USER_MODIFIED = "obsolete-user-modified"
COLLISION = "collision"
SHADOWED = "shadowed"
UNPARSEABLE = "unparseable"

KIND_ORDER = (COLLISION, MISSING, OUTDATED, USER_MODIFIED, SHADOWED, OBSOLETE, OBSOLETE_USER_MODIFIED)


class Owned(Protocol):
    owner: str
    hash: str


@frozen
class Finding:
    """One entry whose live state differs from what the framework wants, and how."""

    kind: str
    entry: str
    template: ConfigEntry | None = None
    live: ConfigEntry | None = None
    collided: tuple[ConfigEntry, ...] = ()
    reason: str | None = None


@frozen
class Reconciliation:
    findings: tuple[Finding, ...]
    forget: tuple[str, ...]  # registry entries to drop without noise (gone from template and file)
    rehash: tuple[str, ...]  # registered entries whose live value already equals the template again

    def finding(self, entry: str) -> Finding | None:
        return next((f for f in self.findings if f.entry == entry), None)


HashOf = Callable[[ConfigEntry], "str | None"]


def _unmodified(live: ConfigEntry, record: Any, hash_of: HashOf) -> bool:
    # An unknown hash (a secret with no HMAC key on record) counts as modified: never overwrite blind.
    live_hash = hash_of(live)
    return live_hash is not None and live_hash == record.hash


def reconcile(
    template: EntryIndex, live: EntryIndex, registry: Mapping[str, Owned], hash_of: HashOf
) -> Reconciliation:
    collided = set(live.collisions)
    findings: list[Finding] = []
    forget: list[str] = []
    rehash: list[str] = []

    def blocked(entry: ConfigEntry) -> bool:
        return entry.key in collided or any(a in collided for a in entry.ancestors)

    for key, entries in sorted(template.collisions.items()):
        findings.append(Finding(COLLISION, key, collided=entries, reason="template"))
    for key, entries in sorted(live.collisions.items()):
        if key in template.entries or key in registry:
            findings.append(Finding(COLLISION, key, template=template.entries.get(key), collided=entries))

    for key, want in template.entries.items():
        if blocked(want):
            continue
        have = live.entries.get(key)
        if have is None:
            findings.append(Finding(MISSING, key, template=want))
            continue
        record = registry.get(key)
        if want.runtime or have.runtime:
            continue  # the service's own value: untouched
        if record is None:
            if have.norm != want.norm:  # a value nobody recorded hides the framework's: say so, never overwrite
                findings.append(Finding(SHADOWED, key, template=want, live=have))
            continue
        if record.owner != FRAMEWORK:
            continue  # accepted as the user's: untouched
        if _unmodified(have, record, hash_of):
            if have.norm != want.norm:
                findings.append(Finding(OUTDATED, key, template=want, live=have))
        elif have.norm == want.norm:
            if hash_of(have) is not None:
                rehash.append(key)
        else:
            findings.append(Finding(USER_MODIFIED, key, template=want, live=have))

    removable: dict[str, ConfigEntry] = {}
    for key, record in registry.items():
        if key in template.entries or key in template.collisions or key in collided:
            continue
        have = live.entries.get(key)
        if have is None:
            forget.append(key)
        elif record.owner != FRAMEWORK or blocked(have):
            continue
        elif have.runtime:
            forget.append(key)
        elif _unmodified(have, record, hash_of):
            removable[key] = have
        else:
            findings.append(Finding(OBSOLETE_USER_MODIFIED, key, live=have))

    # Removing a list item removes what is inside it; keep an item that holds anything not being removed.
    changed = True
    while changed:
        changed = False
        for key in list(removable):
            if any(key in e.ancestors and e.key not in removable for e in live.entries.values()):
                findings.append(
                    Finding(OBSOLETE_USER_MODIFIED, key, live=removable.pop(key), reason="holds entries it does not own")
                )
                changed = True
    findings.extend(Finding(OBSOLETE, key, live=entry) for key, entry in removable.items())

    findings.sort(key=lambda f: (KIND_ORDER.index(f.kind), f.entry))
    return Reconciliation(tuple(findings), tuple(sorted(forget)), tuple(sorted(rehash)))
