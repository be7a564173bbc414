"""Apply approved config changes to one co-owned file, then record what trueup now owns in the registry.

apply re-observes the file and re-reconciles; change ops from the plan only name entries, the values
always come from the template at the planned commit. An op the file no longer calls for is skipped when
its entry has converged, and refused when the entry changed some other way since the plan.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from attrs import frozen

from trueup.errors import RefusedError, TrueupError
from trueup.config.edit import apply_ops
from trueup.config.entries import index_document
from trueup.config.formats import ConfigParseError, dump, load
from trueup.config.view import ADOPTED, ConfigView, entry_hash, observe_config
from trueup.config.proposals import ACCEPT, ADD, REMOVE, RESTORE, UPDATE, allowed_ops
from trueup.config.reconcile import FRAMEWORK, USER, reconcile
from trueup.config.redact import keyed_digest
from trueup.config.spec import parse_spec
from trueup.model.plan import ActionType
from trueup.state import atomic
from trueup.state.registry import RegistryEntry, SourceRef, ensure_key, save_registry, touched


@frozen
class ConfigApplyResult:
    file_changed: bool
    registry_changed: bool
    backup: dict[str, str] | None = None  # {"component", "path", "backup"}: operator content saved first


def _requested(view: ConfigView, option_type: str, changes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    rec = view.reconciliation
    allowed = allowed_ops(rec.findings, option_type)
    todo = []
    for change in changes:
        op, entry = change.get("op"), change.get("entry")
        if (op, entry) in allowed:
            todo.append((op, entry))
        elif rec.finding(entry) is not None:
            raise RefusedError(
                f"config {view.spec.path}: entry {entry} changed since the plan was made",
                hint="run trueup plan again",
            )
        # else: the entry already converged (an earlier apply of the same plan): nothing to do
    return todo


def _backup(view: ConfigView, state_dir: Path, key: bytes | None) -> dict[str, str]:
    """Save the whole operator file before restore-source overwrites part of it; named by a digest of it."""
    if key is not None:
        digest = keyed_digest(view.raw, key).split(":", 1)[1]
    else:
        digest = hashlib.sha256(view.raw).hexdigest()
    target = state_dir / "backups" / "config" / view.component / digest[:16]
    if not target.exists():
        atomic.write_bytes(target, view.raw, mode=0o600)
    return {"component": view.component, "path": view.spec.path, "backup": str(target)}


def _write_file(live_path: Path, data: bytes, secret: bool) -> None:
    # Write through a symlink (dotfile managers link config files) rather than replacing the link.
    target = live_path.resolve() if live_path.is_symlink() else live_path
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o600 if secret else 0o644
    atomic.write_bytes(target, data, mode=mode)


def _registry_after(
    view: ConfigView, todo: list[tuple[str, str]], key: bytes | None, source: SourceRef
) -> dict[str, RegistryEntry]:
    # An adopted file's framework entries are recorded as of this source (see ConfigView.owned).
    entries = {k: RegistryEntry(e.owner, e.hash, source, source) if e.added_in == ADOPTED else e
               for k, e in view.owned.items()}
    for op, entry in todo:
        if op in (ADD, UPDATE, RESTORE):
            value_hash = entry_hash(view.template.entries[entry], key)
            entries[entry] = touched(entries.get(entry), FRAMEWORK, value_hash, source)
        elif op == ACCEPT:
            entries[entry] = touched(entries.get(entry), USER, entry_hash(view.live.entries[entry], key), source)
        elif op == REMOVE:
            entries.pop(entry, None)
    return entries


def _housekeep(view: ConfigView, entries: dict[str, RegistryEntry], live_index, source: SourceRef) -> None:
    """Forget what left both template and file; re-own entries whose value equals the template again."""
    rec = reconcile(view.template, live_index, entries, view.hash_of)
    for entry in rec.forget:
        entries.pop(entry, None)
    for entry in rec.rehash:
        entries[entry] = touched(entries[entry], FRAMEWORK, view.hash_of(live_index.entries[entry]), source)


def _whole_template(view: ConfigView, option_type: str, todo: list[tuple[str, str]]) -> bool:
    """Whether this change creates the file with every entry of the template, and nothing else."""
    return (view.raw is None and view.spec.format != "lines" and option_type == ActionType.UPGRADE
            and not view.template.collisions and bool(todo)
            and sorted(todo) == sorted((ADD, entry) for entry in view.template.entries))


def apply_config(
    *,
    component: str,
    spec: dict[str, Any],
    template: bytes,
    live_path: Path,
    state_dir: Path,
    home: Path,
    commit: str,
    version: str,
    option_type: str,
    changes: list[dict[str, Any]],
) -> ConfigApplyResult:
    """Carry out one approved option's changes on a live config file and update the ownership registry."""
    if option_type not in (ActionType.UPGRADE, ActionType.ACCEPT_LOCAL, ActionType.RESTORE_SOURCE):
        raise TrueupError(f"config changes cannot be applied as {option_type!r}")
    parsed = parse_spec(spec)
    observe = dict(component=component, spec=parsed, template=template, live_path=live_path, state_dir=state_dir)
    view = observe_config(**observe, home=home)
    if view.reconciliation is None:
        raise TrueupError(f"config {parsed.path} does not parse ({view.parse_error}); not writing it")
    # The HMAC key is created only when a secret's hash must be recorded, so files without secrets
    # never depend on it (and their plans' fingerprints do not change when it appears).
    key = view.key
    if key is None and (view.secret_bearing or any(e.secret for e in view.template.entries.values())):
        key = ensure_key(state_dir)
        view = observe_config(**observe, home=home, key=key)
    todo = _requested(view, option_type, changes)

    if _whole_template(view, option_type, todo):
        # A file created on install is the template's own text (comments, quoting, key order, final newline).
        new_raw = template
    else:
        doc = view.doc
        apply_ops(doc, parsed, home, view.template, todo)
        new_raw = dump(doc)
    try:  # the new content must parse, as the same format, before it replaces the file
        new_index = index_document(load(parsed.format, new_raw, component), parsed, home)
    except ConfigParseError as exc:
        raise TrueupError(f"config {parsed.path}: refusing to write content that does not parse ({exc.message})")

    file_changed = new_raw != (view.raw or b"")
    backup = None
    if file_changed and option_type == ActionType.RESTORE_SOURCE and view.raw:
        backup = _backup(view, state_dir, key)
    if file_changed:
        _write_file(live_path, new_raw, any(e.secret for e in new_index.entries.values()))

    source = SourceRef(commit=commit, version=version)
    entries = _registry_after(view, todo, key, source)
    _housekeep(view, entries, new_index, source)
    registry_changed = save_registry(state_dir, component, parsed.path, entries)
    return ConfigApplyResult(file_changed=file_changed, registry_changed=registry_changed, backup=backup)


__all__ = ["ConfigApplyResult", "apply_config"]
