"""assess_config: the read-only config half of `trueup plan` for one co-owned file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from attrs import field, frozen

from trueup.config.formats import dump
from trueup.config.view import ConfigView, observe_config, preconditions_of
from trueup.config.proposals import drift_item, entry_diff, groups
from trueup.config.reconcile import UNPARSEABLE
from trueup.config.spec import parse_spec
from trueup.model.keys import FactKey
from trueup.model.plan import Drift, DriftClass, PlanWarning
from trueup.state.registry import CORRUPT, MISSING


def _tuple(value: Any) -> tuple:
    return tuple(value)


@frozen
class ConfigFindings:
    """What plan found for one config file; JSON-serializable apart from the Drift objects, secret-free."""

    drift: tuple[Drift, ...] = field(converter=_tuple)
    groups: list[dict[str, Any]]
    preconditions: dict[FactKey, Any]
    diff: dict[str, Any]
    warnings: tuple[PlanWarning, ...] = field(default=(), converter=_tuple)


def _warnings(view: ConfigView) -> list[PlanWarning]:
    """Shown and counted, not drift: what trueup cannot vouch for in this file, and how it stays safe."""
    out = []
    registry = view.registry
    path = view.spec.path

    def warn(kind: str, message: str) -> None:
        out.append(PlanWarning(DriftClass.CONFIG, kind, path, message))

    if registry.status == CORRUPT:
        warn("registry-corrupt", f"{registry.warning}; existing entries of {path} are treated as user-owned")
    elif registry.status == MISSING and view.live is not None and view.live.entries:
        warn("registry-missing",
             f"no ownership registry for {path} ({view.component}); entries equal to the template's are "
             "treated as the framework's, other existing entries as the user's (a framework entry they hide "
             "is reported as shadowed)")
    if view.live is not None and view.secret_bearing and view.key is None:
        warn("registry-key-missing",
             f"{path}: no registry key yet, secret-like entries cannot be verified and are kept")
    if view.doc is not None and view.raw and dump(view.doc) != view.raw:
        warn("formatting", f"{path}: formatting is not reproducible; a write would reformat the file")
    return out


def assess_config(
    *,
    component: str,
    spec: dict[str, Any],
    template: bytes | None,
    live_path: Path,
    state_dir: Path,
    home: Path,
    commit: str,
    version: str,
) -> ConfigFindings:
    """Compare a live config file with the component's template and the ownership registry. Writes nothing.

    Without an HMAC key in the state dir (created by the first apply that needs one) secret-like
    registered entries cannot be verified, so they count as user-modified: kept, never overwritten.
    """
    view = observe_config(
        component=component, spec=spec, template=template, live_path=live_path, state_dir=state_dir, home=home
    )
    path = view.spec.path
    patterns = view.spec.secret_patterns
    diff: dict[str, Any] = {
        "path": path,
        "format": view.spec.format,
        "target": {"commit": commit, "version": version},
        "entries": [],
    }
    if view.reconciliation is None:
        drift = (
            Drift(cls=DriftClass.CONFIG, kind=UNPARSEABLE, path=path, expected=None, actual={"error": view.parse_error}),
        )
        return ConfigFindings(drift, [], preconditions_of(view), diff, _warnings(view))
    findings = view.reconciliation.findings
    diff["reformat"] = bool(view.raw) and dump(view.doc) != view.raw
    diff["entries"] = [entry_diff(f, patterns) for f in findings]
    return ConfigFindings(
        drift=[drift_item(f, path, patterns) for f in findings],
        groups=groups(component, path, findings, patterns),
        preconditions=preconditions_of(view),
        diff=diff,
        warnings=_warnings(view),
    )


def config_preconditions(
    *, component: str, spec: dict[str, Any], live_path: Path, state_dir: Path, home: Path
) -> dict[FactKey, Any]:
    """The preconditions assess_config records, recomputed now (for apply's staleness check)."""
    parsed = parse_spec(spec)
    view = observe_config(
        component=component, spec=parsed, template=None, live_path=live_path, state_dir=state_dir, home=home
    )
    return preconditions_of(view)
