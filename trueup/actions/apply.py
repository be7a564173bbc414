"""The apply orchestrator: verify, lock, re-check preconditions, run approved actions, record."""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from attrs import define, field

from trueup.actions import (accept_local, cleanup_backups, config_change, import_component, regenerate, restart_service,
                            restore_source, upgrade)
from trueup.actions.context import Context
from trueup.actions.paths import safe_target
from trueup.errors import RefusedError, TrueupError
from trueup.manifest import ComponentSpec, Workspace
from trueup.planner import document as plans
from trueup.planner.config_step import config_item, observe_config_fact
from trueup.planner.diff import spec_matcher
from trueup.planner.ids import digest
from trueup.planner.model import APPLY_ORDER, ActionType
from trueup.planner.observe import non_empty_dir, observe_in_root
from trueup.planner.runtime_step import observe_runtime_fact
from trueup.planner.tree import observe_tree
from trueup.source import Source, repo_location
from trueup.state import journal
from trueup.state import ledger as ledgers
from trueup.state.lock import exclusive_lock

RUNNERS = {
    ActionType.ACCEPT_LOCAL: accept_local.run,
    ActionType.RESTORE_SOURCE: restore_source.run,
    ActionType.REGENERATE: regenerate.run,
    ActionType.CLEANUP_BACKUPS: cleanup_backups.run,
    ActionType.IMPORT: import_component.run,
    ActionType.UPGRADE: upgrade.run,
    ActionType.RESTART: restart_service.run,
}


@define
class ApplyReport:
    applied: list[dict[str, Any]] = field(factory=list)
    notes: list[str] = field(factory=list)
    already_applied: str | None = None


def select(document: dict[str, Any], approve: list[str], approve_all: bool) -> list[dict[str, Any]]:
    """The approved actions: flags in the file, plus --approve IDs, plus --approve-all (recommended ones)."""
    ids = {a["id"] for a in document["actions"]}
    unknown = [i for i in approve if i not in ids]
    if unknown:
        raise TrueupError(f"no action with id {unknown[0]} in this plan", hint="see the ids with trueup show PLAN")
    chosen = [a for a in document["actions"] if a["approved"] or a["id"] in approve]
    if approve_all:  # the recommended action of every group nobody chose an alternative for
        covered = {a["group"] for a in chosen}
        chosen += [a for a in document["actions"] if a["recommended"] and a["group"] not in covered]
    check_groups(chosen)
    return chosen


def check_groups(chosen: list[dict[str, Any]]) -> None:
    by_group: dict[str, list[str]] = defaultdict(list)
    for action in chosen:
        by_group[action["group"]].append(f"{action['id']} ({action['type']})")
    for group, members in sorted(by_group.items()):
        if len(members) > 1:
            raise TrueupError(f"actions {' and '.join(members)} are alternatives for the same drift ({group}); approve one",
                              hint="trueup approve PLAN ID with a single id of that group")


def _check_gates(chosen: list[dict[str, Any]]) -> None:
    approved_groups = {a["group"] for a in chosen}
    for action in chosen:
        open_gates = [g for g in action["gated"] if g not in approved_groups]
        if open_gates:
            raise RefusedError(f"upgrade {action['id']} of {action['component']} is gated by {open_gates[0]}"
                               + (f" and {len(open_gates) - 1} more" if len(open_gates) > 1 else ""),
                               hint="approve an action for each gating drift too (accept-local keeps the local change)")


def _observe_fact(workspace: Workspace, spec: ComponentSpec, key: str, seen: dict) -> Any:
    """Re-observe one precondition fact, the same way plan observed it."""
    if key == "manifest":
        return spec.digest
    if key == "ledger":
        return ledgers.digest(ledgers.read_bytes(spec.install_path))
    if key == "source:commit":
        return Source(repo_location(spec, workspace.root, workspace.state_dir)).resolve(spec.ref)
    if key == "install:dir":
        return "absent-or-empty" if not non_empty_dir(spec.install_path) else "present"
    if key == "tree":
        tree = observe_tree(spec.install_path, ignore=spec_matcher(spec.ignore), secrets=spec_matcher(spec.secrets))
        return digest({p: f.to_json() for p, f in tree.files.items()})
    if key.startswith("runtime:"):
        return observe_runtime_fact(spec, key, workspace.root, seen)
    if key.startswith("config:"):
        return observe_config_fact(spec, key, workspace.root, workspace.state_dir)
    if key.startswith("file:"):
        rel = key[5:]
        safe_target(spec.install_path, rel)
        return observe_in_root(spec.install_path, rel).to_json()
    raise RefusedError(f"plan has an unknown precondition {key!r}", hint="it was made by a newer trueup; run trueup plan again")


def _describe(key: str) -> str:
    if key.startswith("file:"):
        return f"file {key[5:]}"
    if key.startswith("runtime:"):
        return f"the running service ({key[len('runtime:'):]})"
    if key.startswith("config:"):
        path, fact = key[len("config:"):].rsplit(":", 1)
        return f"config file {path}" if fact == "sha256" else f"the ownership registry of {path}"
    return {"manifest": "the component's entry in trueup.yaml", "ledger": "the install ledger",
            "source:commit": "the commit the source ref resolves to", "install:dir": "the install directory",
            "tree": "the install directory's content"}.get(key, key)


def check_preconditions(workspace: Workspace, chosen: list[dict[str, Any]]) -> None:
    seen: dict = {}
    for action in chosen:
        spec = workspace.component(action["component"])
        if "config" in action.get("details", {}):
            config_item(spec, action["details"]["config"])  # config targets are entries of a declared file
        elif action["type"] == ActionType.RESTART:
            if not spec.runtime or action["targets"] != [spec.runtime.get("service")]:
                raise RefusedError(f"restart target {action['targets']} is not {spec.name}'s declared service")
        else:
            for target in action["targets"]:
                safe_target(spec.install_path, target)
        for key, expected in sorted(action["preconditions"].items()):
            if _observe_fact(workspace, spec, key, seen) != expected:
                raise RefusedError(f"plan is stale: {_describe(key)} of {spec.name} changed since the plan was made; "
                                   "run trueup plan again")


def _already_applied(workspace: Workspace, plan_hash: str) -> str | None:
    path = workspace.state_dir / "journal.jsonl"
    if not path.exists():
        return None
    for line in path.read_text("utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "plan-applied" and entry.get("plan_hash") == plan_hash:
            return entry.get("at")
    return None


def apply_plan(workspace: Workspace, document: dict[str, Any], where: str, *, approve: list[str], approve_all: bool,
               notify=lambda message: None) -> ApplyReport:
    plans.verify_hash(document, where)
    chosen = select(document, approve, approve_all)
    report = ApplyReport()
    if not chosen:
        return report
    _check_gates(chosen)
    with exclusive_lock(workspace.state_dir, notify):
        when = _already_applied(workspace, document["plan_hash"])
        if when:
            report.already_applied = when
            return report
        check_preconditions(workspace, chosen)
        by_component: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for action in chosen:
            by_component[action["component"]].append(action)
        for name in sorted(by_component):
            _apply_component(workspace, workspace.component(name), by_component[name], document["plan_hash"], report)
        journal.record(workspace.state_dir, {"event": "plan-applied", "plan_hash": document["plan_hash"],
                                             "actions": [a["id"] for a in chosen]})
    return report


def _apply_component(workspace: Workspace, spec: ComponentSpec, actions: list[dict[str, Any]], plan_hash: str,
                     report: ApplyReport) -> None:
    source = Source(repo_location(spec, workspace.root, workspace.state_dir))
    with tempfile.TemporaryDirectory(prefix="trueup-") as scratch:
        ctx = Context(workspace=workspace, spec=spec, source=source, ledger=ledgers.load(spec.install_path),
                      scratch=Path(scratch))
        ordered = sorted(actions, key=lambda a: APPLY_ORDER.index(ActionType(a["type"])))
        try:
            for action in ordered:
                runner = config_change.run if "config" in action.get("details", {}) else RUNNERS[ActionType(action["type"])]
                runner(ctx, action)
                journal.record(workspace.state_dir, {"event": "action", "plan_hash": plan_hash, "id": action["id"],
                                                     "type": action["type"], "component": spec.name,
                                                     "targets": action["targets"][:50]})
                report.applied.append(action)
        finally:
            # Files first, ledger last: whatever was written is recorded even if a later action failed.
            if ctx.ledger is not None:
                ledgers.save(spec.install_path, ctx.ledger, workspace.state_dir / "cache")
            report.notes.extend(f"{spec.name}: {n}" for n in ctx.notes)
