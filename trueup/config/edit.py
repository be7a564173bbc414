"""Carry change ops out on a parsed document, touching only the entries they name.

The document is re-indexed before every op, so positions never go stale after an insert or removal.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from trueup.errors import TrueupError
from trueup.config.entries import ITEM_STEP, EntryIndex, index_document, render_steps
from trueup.config.formats import Document, new_list, new_mapping
from trueup.config.proposals import ADD, REMOVE, RESTORE, UPDATE
from trueup.config.spec import ConfigSpec

WRITING_OPS = (ADD, UPDATE, RESTORE, REMOVE)


def _ordered(ops: list[tuple[str, str]], template: EntryIndex, live: EntryIndex) -> list[tuple[str, str]]:
    """Removals innermost first, then updates, then additions parents-first in template order."""
    order = {key: n for n, key in enumerate(template.entries)}

    def depth(key: str) -> int:
        entry = live.entries.get(key)
        return len(entry.ancestors) if entry else 0

    removals = sorted((o for o in ops if o[0] == REMOVE), key=lambda o: (-depth(o[1]), o[1]))
    updates = sorted(o for o in ops if o[0] in (UPDATE, RESTORE))
    additions = sorted((o for o in ops if o[0] == ADD), key=lambda o: order[o[1]])
    return removals + updates + additions


def _resolve(doc: Document, steps: tuple, live: EntryIndex, key: str, want_list: bool) -> Any:
    """The container at ``steps``, creating missing mappings (and a final list) on the way."""
    node = doc.data
    for n, (kind, text) in enumerate(steps):
        last = n == len(steps) - 1
        if kind == ITEM_STEP:
            slot = live.slots.get("item:" + render_steps(steps[: n + 1]))
            if slot is None:
                raise TrueupError(f"cannot add {key}: its enclosing list item is not in the file")
            node = slot.container[slot.position]
            continue
        if not isinstance(node, dict):
            raise TrueupError(f"cannot add {key}: {render_steps(steps[:n])} is not a mapping")
        if text not in node:
            node[text] = new_list(doc) if last and want_list else new_mapping(doc)
        node = node[text]
    if want_list != isinstance(node, list) or not want_list and not isinstance(node, dict):
        raise TrueupError(f"cannot add {key}: {render_steps(steps)} is not a {'list' if want_list else 'mapping'}")
    return node


def _add(doc: Document, key: str, template: EntryIndex, live: EntryIndex) -> None:
    want = template.entries[key]
    value = copy.deepcopy(want.value)
    if doc.format == "lines":
        if doc.data.block is None:
            doc.data.block = []
        block = doc.data.block
        if block and not block[-1].endswith("\n"):
            block[-1] += doc.data.newline
        block.append(value + doc.data.newline)
    elif want.kind == "item":
        _resolve(doc, want.steps[:-1], live, key, want_list=True).append(value)
    else:
        _resolve(doc, want.steps[:-1], live, key, want_list=False)[want.steps[-1][1]] = value


def _update(doc: Document, key: str, template: EntryIndex, live: EntryIndex) -> None:
    want, have, slot = template.entries[key], live.entries[key], live.slots[key]
    current = slot.container[slot.position]
    if doc.format == "lines":
        ending = current[len(current.rstrip("\r\n")) :] or doc.data.newline
        slot.container[slot.position] = want.value + ending
    elif isinstance(current, dict) and isinstance(want.value, dict):
        # In place, so comments and the item's declared sub-lists (possibly holding user entries) survive.
        for name in [k for k in current if str(k) not in want.value and str(k) not in have.nested]:
            del current[name]
        for name, value in want.value.items():
            # A field equal after normalization keeps its live spelling (`/home/u/x` stays, not `~/x`).
            same = isinstance(have.norm, dict) and name in have.norm and have.norm[name] == want.norm.get(name)
            if name not in current or (current[name] != value and not same):
                current[name] = copy.deepcopy(value)
    else:
        slot.container[slot.position] = copy.deepcopy(want.value)


def apply_ops(doc: Document, spec: ConfigSpec, home: Path, template: EntryIndex, ops: list[tuple[str, str]]) -> None:
    initial = index_document(doc, spec, home)
    for op, key in _ordered([o for o in ops if o[0] in WRITING_OPS], template, initial):
        live = index_document(doc, spec, home)
        if op == REMOVE:
            slot = live.slots.get(key)
            if slot is not None:  # else it went with an enclosing item removed just before
                del slot.container[slot.position]
        elif op == ADD:
            if key not in live.entries:
                _add(doc, key, template, live)
        else:
            _update(doc, key, template, live)
