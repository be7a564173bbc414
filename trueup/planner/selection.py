"""Which actions of a plan are chosen: approved flags, ids named on the command line, actions of named types,
recommended ones of open groups, and the gates of a chosen action.

One rule everywhere (approve writes it into the file, apply reads it): at most one action per group, and
``--type`` and ``--all`` add an action only to groups nobody chose an action for yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from trueup.errors import RefusedError, TrueupError
from trueup.model.plan import APPLY_ORDER, Action


def unknown_ids(actions: Iterable[Action], ids: Iterable[str]) -> list[str]:
    known = {a.id for a in actions}
    return [i for i in ids if i not in known]


def check_types(types: Iterable[str]) -> None:
    known = [str(t) for t in APPLY_ORDER]
    for name in types:
        if name not in known:
            raise TrueupError(f"unknown action type {name!r}", hint="types: " + ", ".join(known))


def choose(actions: tuple[Action, ...] | list[Action], ids: Iterable[str] = (), *, all_recommended: bool = False,
           types: Iterable[str] = (), with_gates: bool = False) -> list[Action]:
    """Approved actions and ``ids`` (in file order); then, each only for a group not yet covered: actions of
    ``types`` (recommended or not), the recommended action of every group (``all_recommended``), and the
    recommended action of each group gating a chosen action (``with_gates``)."""
    ids, types = set(ids), set(types)
    check_types(types)
    chosen = [a for a in actions if a.approved or a.id in ids]
    covered = {a.group for a in chosen}

    def add(candidates: Iterable[Action]) -> None:
        for action in candidates:
            if action.group not in covered:
                chosen.append(action)
                covered.add(action.group)

    add(a for a in actions if a.type in types)
    if all_recommended:
        add(a for a in actions if a.recommended)
    while with_gates:  # until no gate is open: a restart's gate is an upgrade, which may have gates of its own
        before = len(chosen)
        gates = {g for a in chosen for g in a.gated}
        add(a for a in actions if a.recommended and a.group in gates)
        with_gates = len(chosen) > before
    check_groups(chosen)
    return chosen


def check_gates(actions: tuple[Action, ...] | list[Action], chosen: list[Action], hint: str) -> None:
    """Refuse (exit 3) a gated action (an upgrade over local changes, a restart awaiting its upgrade) chosen without
    an action for each of its gates, naming each gate's recommended action; ``{id}`` in ``hint`` becomes its id."""
    covered = {a.group for a in chosen}
    recommended = {a.group: a for a in actions if a.recommended}
    for action in chosen:
        gates = [g for g in action.gated if g not in covered]
        if not gates:
            continue
        named = [f"{g} ({recommended[g].id} {recommended[g].type})" if g in recommended else g for g in gates[:5]]
        more = f" and {len(gates) - 5} more" if len(gates) > 5 else ""
        raise RefusedError(f"{action.type} {action.id} of {action.component} is gated by {len(gates)} unapproved "
                           f"drift{'s' if len(gates) > 1 else ''}: {', '.join(named)}{more}",
                           hint=hint.replace("{id}", action.id))


def check_groups(chosen: list[Action]) -> None:
    by_group: dict[str, list[str]] = defaultdict(list)
    for action in chosen:
        by_group[action.group].append(f"{action.id} ({action.type})")
    for group, members in sorted(by_group.items()):
        if len(members) > 1:
            raise TrueupError(f"actions {' and '.join(members)} are alternatives for the same drift ({group}); approve one",
                              hint="trueup approve PLAN ID with a single id of that group")
