"""What a rule can match about an action, read from the plan document alone (no I/O): its type, the drift it
resolves (class, kinds, since when), its component and targets, the host and the component's provenance verdict."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import frozen

from trueup.model.ids import group_key
from trueup.model.plan import ActionType, DriftClass

# Whose auto-approval a rule must name the action type for (a wildcard or a rule without `action:` never covers
# them): they replace what is installed, discard a local change, delete content nobody acknowledged, or concern an
# install whose origin is in doubt.
SAFE_RESTORES = {("file", "missing"), ("file", "mode-changed")}  # restoring what is simply missing discards nothing
SAFE_CLEANUPS = {("file", "leftover")}  # a killed trueup's own temp file, never the only copy of anything


@frozen
class Subject:
    id: str
    type: str
    component: str
    group: str
    targets: tuple[str, ...]
    cls: str
    kinds: tuple[str, ...]
    host: str
    provenance: str  # facts.provenance.verdict, else verified | unverified | commit-missing; none: not installed
    provenance_drift: bool  # the component has provenance drift (counted, not information)
    approved: bool
    recommended: bool
    gated: tuple[str, ...]
    first_seen: tuple[dict[str, Any] | None, ...]  # meta.history.since of each drift item (None: no history)
    history_run: int | None
    oscillating: bool  # history warns that what the action touches oscillates (or its service restarts in a loop)

    @property
    def needs_explicit_rule(self) -> bool:
        kinds = {(self.cls, k) for k in self.kinds}
        if self.provenance_drift or self.cls == DriftClass.PROVENANCE:
            return True
        if self.type in (ActionType.UPGRADE, ActionType.IMPORT):
            return True
        if self.type == ActionType.RESTORE_SOURCE:
            return not kinds or not kinds <= SAFE_RESTORES
        if self.type == ActionType.CLEANUP_BACKUPS:
            return not kinds or not kinds <= SAFE_CLEANUPS
        return False


def _verdict(component: dict[str, Any]) -> tuple[str, bool]:
    """(the component's provenance verdict, whether it has provenance drift that counts)."""
    checked = ((component.get("facts") or {}).get("provenance") or {}).get("verdict")
    items = [*component.get("drift", ()), *component.get("info", ())]
    found = [d for d in items if d["class"] == DriftClass.PROVENANCE]
    counted = any(d["class"] == DriftClass.PROVENANCE for d in component.get("drift", ()))
    if checked:
        return checked, counted
    if found:
        return found[0]["kind"], counted  # unverified | commit-missing (files/provenance.py)
    return ("verified" if (component.get("facts") or {}).get("installed") else "none"), counted


def _by_group(component: str, drift: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A component's drift items by the group key their actions carry (one pass: plans hold thousands)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for item in drift:
        out.setdefault(group_key(component, item["class"], item["kind"], item["path"]), []).append(item)
    return out


def _resolved(action: dict[str, Any], groups: dict[str, list[dict[str, Any]]],
              drift: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The drift class an action's group names, and the drift items of its component it resolves."""
    group = action["group"]
    parts = group.split("/", 3)
    cls = parts[1] if len(parts) > 1 else ""
    exact = groups.get(group) or groups.get(group.split("#", 1)[0])  # a config entry's group: file key + #entry
    if exact:
        return cls, exact
    # A service's group (component/runtime/SERVICE) holds every runtime drift of the component: one restart.
    if cls == DriftClass.RUNTIME:
        return cls, [d for d in drift if d["class"] == cls]
    return cls, [{"class": cls, "kind": parts[2] if len(parts) > 2 else "", "path": parts[3] if len(parts) > 3 else None}]


FLAPPING = ("oscillating", "restart-loop")  # history's warnings of a unit that keeps changing back (history/classes.py)


def _wobbly(warnings) -> dict[str, dict[str, Any]]:
    """Per component, what history says oscillates: file paths, config files, the service, or (a warning about the
    component's files as one set, or "N more units") every file."""
    out: dict[str, dict[str, Any]] = {}
    for warning in warnings:
        if warning.get("kind") not in FLAPPING:
            continue
        seen = out.setdefault(warning.get("component"), {"files": set(), "config": set(), "service": False,
                                                         "all_files": False})
        if warning.get("class") == DriftClass.RUNTIME:
            seen["service"] = True
        elif warning.get("class") == DriftClass.CONFIG:
            seen["config"].add(warning.get("path"))
        elif warning.get("path"):
            seen["files"].add(warning["path"])
        else:
            seen["all_files"] = True
    return out


def _oscillating(seen: dict[str, Any] | None, cls: str, action: dict[str, Any]) -> bool:
    if not seen:
        return False
    if cls == DriftClass.RUNTIME:
        return seen["service"]
    if cls == DriftClass.CONFIG:
        return any(f"/{path}" in action["group"] for path in seen["config"] if path)
    return seen["all_files"] or any(t in seen["files"] for t in action["targets"])


def subjects(document: dict[str, Any]) -> list[Subject]:
    """One Subject per action of the plan, in file order."""
    components = {c["name"]: c for c in document.get("components", ())}
    meta = document.get("meta") or {}
    history = meta.get("history") or {}
    since = history.get("since") or {}
    wobbly = _wobbly(history.get("warnings") or ())
    out = []
    known: dict[str, tuple] = {}  # per component, worked out once: a plan may hold thousands of actions
    for action in document.get("actions", ()):
        name = action["component"]
        if name not in known:
            component = components.get(name, {})
            drift = list(component.get("drift", ()))
            known[name] = (drift, _by_group(name, drift), *_verdict(component))
        drift, groups, verdict, provenance_drift = known[name]
        cls, items = _resolved(action, groups, drift)
        seen = since.get(action["component"], {})
        out.append(Subject(
            id=action["id"], type=action["type"], component=action["component"], group=action["group"],
            targets=tuple(action["targets"]), cls=cls, kinds=tuple(sorted({d["kind"] for d in items})),
            host=str(meta.get("host", "")), provenance=verdict, provenance_drift=provenance_drift,
            approved=bool(action.get("approved")), recommended=bool(action.get("recommended")),
            gated=tuple(action.get("gated", ())),
            first_seen=tuple(seen.get(f"{d['class']}:{d['kind']}:{d.get('path') or ''}") for d in items),
            history_run=history.get("run"),
            oscillating=_oscillating(wobbly.get(name), cls, action)))
    return out


def parse_at(text: str) -> datetime:
    """An ISO time as history records it ('2026-11-29T17:09:41.741471Z') as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
