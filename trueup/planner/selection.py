"""Which actions of a plan are chosen: approved flags, ids named on the command line, recommended ones of open groups.

One rule everywhere (approve writes it into the file, apply reads it): at most one action per group, and
``--all`` adds the recommended action only of groups nobody chose an alternative for.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from trueup.errors import TrueupError
from trueup.model.plan import Action


def unknown_ids(actions: Iterable[Action], ids: Iterable[str]) -> list[str]:
    known = {a.id for a in actions}
    return [i for i in ids if i not in known]


def choose(actions: tuple[Action, ...] | list[Action], ids: Iterable[str] = (), *, all_recommended: bool = False,
           types: Iterable[str] = ()) -> list[Action]:
    """Approved actions and ``ids`` (in file order), then recommended ones (all, or of ``types``) of groups not yet covered."""
    ids, types = set(ids), set(types)
    chosen = [a for a in actions if a.approved or a.id in ids]
    covered = {a.group for a in chosen}
    chosen += [a for a in actions if a.recommended and a.group not in covered and (all_recommended or a.type in types)]
    check_groups(chosen)
    return chosen


def check_groups(chosen: list[Action]) -> None:
    by_group: dict[str, list[str]] = defaultdict(list)
    for action in chosen:
        by_group[action.group].append(f"{action.id} ({action.type})")
    for group, members in sorted(by_group.items()):
        if len(members) > 1:
            raise TrueupError(f"actions {' and '.join(members)} are alternatives for the same drift ({group}); approve one",
                              hint="trueup approve PLAN ID with a single id of that group")
