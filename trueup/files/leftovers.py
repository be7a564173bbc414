"""`file/leftover`: a temp file a killed trueup left in the install or its ledger directory, and its cleanup.

Every write trueup makes goes through a temp file beside its target (state/atomic.py), named
``.<name>.trueup-tmp.<pid>-<hex>``. A run killed between creating and renaming it leaves the temp file behind:
incomplete by construction (a finished one is renamed away) and never the only copy of anything (the target
still holds what it held). In the install and in ``.trueup/`` these are reported, one item per file, with a
cleanup action — not removed silently, because plan never writes where it observes and the install is the
operator's tree. A temp file whose writer is still running (an apply in progress) is not reported: it is in use.
Leftovers in trueup's own state dir (cache temp files, scratch directories) are removed by the next run
(atomic.remove_dead_leftovers): nothing of the operator's is there to review.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from trueup.errors import UnsafePathError
from trueup.files.context import FilesContext
from trueup.files.live import LiveTree
from trueup.files.probe import observe_path
from trueup.files.walk_worker import LEDGER_DIR
from trueup.manifest import ComponentSpec
from trueup.model.facts import FileFact
from trueup.model.ids import action_id
from trueup.model.keys import file_key
from trueup.model.plan import Action, ActionType, Drift, DriftClass, TargetKind
from trueup.state.atomic import TEMP_NAME, TMP_MARKER, owner_alive, temp_owner

KIND = "leftover"
DRIFT = f"{DriftClass.FILE}/{KIND}"


def is_leftover_name(path: str) -> bool:
    name = path.rpartition("/")[2]
    return TMP_MARKER in name and TEMP_NAME.match(name) is not None


def _target(path: str) -> str:
    """The path the temp file was to become."""
    head, _, name = path.rpartition("/")
    match = TEMP_NAME.match(name)
    assert match is not None
    return f"{head}/{match['name']}" if head else match["name"]


def observe(spec: ComponentSpec, live: LiveTree, ignored: Iterable[str] = ()) -> dict[str, FileFact]:
    """Temp files of dead writers: those the install walk met, and those in directories it never walks — the
    ledger directory, and the directories of ignored paths an upgrade writes (observation.with_ignored)."""
    found: dict[str, FileFact] = {}
    for path, fact in live.notable.items():
        if fact.type != "absent" and is_leftover_name(path):
            found[path] = fact
    unwalked = {LEDGER_DIR: None}
    for path in ignored:
        head, _, name = path.rpartition("/")
        unwalked.setdefault(head, set()).add(name)  # type: ignore[union-attr]
    for directory, names in sorted(unwalked.items()):
        if os.path.islink(spec.install_path / directory):
            continue  # never read through a link out of the install (a plan would carry what it hashed there)
        try:
            entries = os.listdir(spec.install_path / directory)  # parents checked by safe_target in with_ignored
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            match = TEMP_NAME.match(entry) if TMP_MARKER in entry else None
            # Below an ignored directory only trueup's temp files of the paths it writes there: the rest is not ours.
            if match is None or (names is not None and not any(match["name"] == n or match["name"].startswith(
                    n + ".trueup-") for n in names)):
                continue
            rel = f"{directory}/{entry}" if directory else entry
            fact = observe_path(spec.install_path / rel)
            if fact.type != "absent":
                found[rel] = fact
    return {p: f for p, f in sorted(found.items()) if not owner_alive_for(p)}


def owner_alive_for(path: str) -> bool:
    pid = temp_owner(path.rpartition("/")[2])
    # No pid (an older trueup's temp file): nothing says it is in use; report it (cleanup is the operator's call).
    return pid is not None and owner_alive(pid)


def diff_leftovers(items: list[Drift], leftovers: dict[str, FileFact]) -> list[Drift]:
    """One `file/leftover` item per temp file of a dead writer, in place of what else the diff made of it (an
    unreviewed backup: its name matches ``*.trueup-*``); a temp file still being written is nothing at all."""
    untracked = (DriftClass.FILE, "untracked")
    kept = [d for d in items if not (d.path and (d.cls == DriftClass.BACKUP or (d.cls, d.kind) == untracked)
                                     and is_leftover_name(d.path))]
    return kept + [Drift(DriftClass.FILE, KIND, path, {"for": _target(path)}, fact.to_json())
                   for path, fact in leftovers.items()]


def propose(spec: ComponentSpec, drift: Drift) -> Action:
    path = drift.path
    assert path is not None
    return Action(id=action_id(spec.name, ActionType.CLEANUP_BACKUPS, (path,)), type=ActionType.CLEANUP_BACKUPS,
                  component=spec.name, target_kind=TargetKind.FILE, targets=(path,), group=drift.group_key(spec.name),
                  recommended=True, preconditions={file_key(path): drift.actual},
                  reason=f"delete {path}: an incomplete temp file a killed trueup left (it was to replace "
                         f"{drift.expected['for']}, and never did)",
                  details={"drift": DRIFT})


def run_cleanup(action: Action, ctx: FilesContext) -> None:
    """Delete leftover temp files (apply re-checked each against the fact the plan saw)."""
    assert ctx.ledger is not None
    for rel in action.targets:
        # Defence in depth: only a trueup temp name that nothing records, and never a directory.
        recorded = rel in ctx.ledger["files"] or any(b["path"] == rel for b in ctx.ledger["backups"])
        if recorded or not is_leftover_name(rel):
            raise UnsafePathError(f"{ctx.spec.name}: {rel} is not a trueup temp file; refused",
                                  hint="run trueup plan again")
        fact = ctx.fact(rel)
        if fact.type in ("dir", "other"):
            raise UnsafePathError(f"{ctx.spec.name}: {rel} is a {fact.type}, not a temp file; refused",
                                  hint="run trueup plan again")
        if fact.type != "absent":
            ctx.remove_file(rel)
        ctx.notes.append(f"deleted leftover temp file {rel}")
