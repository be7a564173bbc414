"""Paths the ledger does not track: `file/untracked` drift, or a backup file (see backups.py).

Like `git status`'s `?? dir/`, a directory below which nothing is tracked, generated, accepted on its own,
secret or a backup is ONE drift item (path ``dir/``, actual ``{type: dir, files, bytes, sha256}``): the
topmost such directory. A directory accepted as a whole (``accepted["dir/"]`` in the ledger) is from then
on treated like an ignored path: nothing below it is reported, whatever changes there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trueup.files import backups, dirs
from trueup.files.dirs import Holding, parents
from trueup.files.accepted import accepted_fact
from trueup.files.globs import spec_matcher
from trueup.files.live import LiveTree
from trueup.files.patterns import Matcher
from trueup.manifest import ComponentSpec
from trueup.model.facts import FileFact
from trueup.model.plan import Drift, DriftClass


def _under(path: str, roots: set[str]) -> bool:
    return bool(roots) and any(p in roots for p in parents(path))


class _Blocked:
    """Directories held by the ledger (``holding``) or blocked for another reason (``more``, which may grow)."""

    def __init__(self, holding: Holding, more: set[str]) -> None:
        self.holding, self.more = holding, more

    def __contains__(self, directory: str) -> bool:
        return directory in self.more or directory in self.holding

    def update(self, directories: Iterable[str]) -> None:
        self.more.update(directories)


def diff_untracked(spec: ComponentSpec, ledger: dict[str, Any], live: LiveTree,
                   secrets: Iterable[str] = ()) -> list[Drift]:
    is_backup = Matcher(spec_matcher(spec.backup_patterns))
    generated = {g.path for g in spec.generated}
    recorded = backups.records(ledger)
    accepted_dirs = {p for p in ledger["accepted"] if p.endswith("/")}
    # Directories that can never be one untracked item: something below them is the ledger's or the operator's.
    # (The ledger's: ``holding``, kept as it is — trueup watch updates it per cycle for the directories that changed.)
    holding = live.holding if live.holding is not None else Holding.of(
        p.rpartition("/")[0] + "/" for p in live.tracked if "/" in p)
    more: set[str] = set()
    for path in (*live.tracked, *generated, *(g.template for g in spec.generated), *secrets,
                 *(p for p in ledger["accepted"] if not p.endswith("/")), *(p.rstrip("/") for p in recorded)):
        more.update(parents(path))
    # A directory where a tracked or generated file was (type-changed): its files one by one, as before.
    more.update(p + "/" for p in (*live.tracked, *generated))
    sets_blocked = _Blocked(holding, set(more))
    blocked = _Blocked(holding, more)

    items: list[Drift] = []
    untracked: list[tuple[str, FileFact, FileFact | None]] = []
    backup_files: list[tuple[str, FileFact]] = []
    for path, fact in live.notable.items():
        if path in live.tracked or path in generated or fact.type == "absent" or _under(path, accepted_dirs):
            continue
        if is_backup(path):
            backup_files.append((path, fact))
            blocked.update(parents(path))
            continue
        accepted = accepted_fact(ledger, path)
        if accepted is not None and accepted.matches(fact):
            continue
        untracked.append((path, fact, accepted))

    groups: dict[str, list[tuple[str, FileFact, int]]] = {}
    for path, fact, accepted in untracked:
        top = next((d for d in parents(path) if d not in blocked), None)
        if top is not None:
            groups.setdefault(top, []).append((path, fact, live.sizes.get(path, 0)))
        else:
            items.append(Drift(DriftClass.FILE, "untracked", path, accepted.to_json() if accepted else None,
                               fact.to_json()))
    items += [Drift(DriftClass.FILE, "untracked", d, None, dirs.summary(entries)) for d, entries in groups.items()]
    items += backups.diff_backups(spec, backup_files, recorded, sets_blocked, live.sizes)
    return items
