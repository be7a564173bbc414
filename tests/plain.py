"""Plain-value builders for the providers' pure halves (diff, propose): no git, no disk, no processes.

Each builder returns the same shapes ``observe`` would: a FilesSnapshot, a config snapshot
(tuple of (manifest item, ConfigFindings)), a runtime snapshot (RuntimeSpec, RuntimeObservation, ledger).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup.config.entries import ConfigEntry
from trueup.config.assess import ConfigFindings
from trueup.config.proposals import drift_item, groups
from trueup.config.reconcile import Finding
from trueup.files.live import LiveTree
from trueup.files.snapshot import DesiredFile, FilesSnapshot, SourceFacts
from trueup.manifest import ComponentSpec, Generated
from trueup.model.facts import FileFact
from trueup.model.keys import config_key
from trueup.runtime.observation import RuntimeObservation
from trueup.runtime.spec import RuntimeSpec
from trueup.source import TreeEntry

A, B, C = "a" * 64, "b" * 64, "c" * 64
OLD, NEW = "1" * 40, "2" * 40
NAME = "app"
CONFIG_PATH = "~/.app/settings.json"


def spec(**overrides: Any) -> ComponentSpec:
    """A component with one generated file (OUT.md from T.md), ``data/**`` ignored and ``.env`` secret."""
    base: dict[str, Any] = dict(
        name=NAME, repo="src/app", ref="v2", install_path=Path("/nonexistent/app"), ignore=("data/**",),
        secrets=(".env",), backups=(), generated=(Generated("OUT.md", "T.md", "cp {template} {output}"),),
        config=(), runtime=None, digest="manifest-digest", origin="trueup.yaml:3")
    base.update(overrides)
    return ComponentSpec(**base)


def fact(sha: str | None = A, mode: str | None = "0644", type_: str = "file") -> FileFact:
    return FileFact(type_, mode, sha)


def ledger(**overrides: Any) -> dict[str, Any]:
    """An install ledger at OLD (version 1.0.0), verified, with nothing tracked unless given."""
    base: dict[str, Any] = {
        "files": {}, "accepted": {}, "backups": [], "generated": {}, "version": "1.0.0",
        "installed_at": "2026-01-01T00:00:00Z", "source": {"repo": "src/app", "ref": "v1", "commit": OLD},
        "provenance": {"status": "verified", "repo": "src/app", "commit": OLD, "verified_by": "installed-by-trueup"},
    }
    base.update(overrides)
    return base


def backup(path: str, *, acknowledged: bool, sha256: str | None = A, original: str = "x") -> dict[str, Any]:
    return {"path": path, "original": original, "reason": "restore-source", "acknowledged": acknowledged,
            "sha256": sha256}


def desired(path: str, sha: str = C, mode: str = "0644") -> DesiredFile:
    return DesiredFile(TreeEntry(path, "file", mode, "blob-" + path), sha)


def files_snapshot(led: dict[str, Any] | None, live: dict[str, FileFact], *, commit: str = NEW,
                   version: str | None = "2.0.0", declarations: dict[str, str] | None = None,
                   install_exists: bool | None = None, secrets: dict[str, FileFact] | None = None,
                   wanted: dict[str, DesiredFile] | None = None, removed: tuple[str, ...] = (),
                   installed_commit_exists: bool = True) -> FilesSnapshot:
    """A FilesSnapshot the way observe builds one for a small tree (every live path notable)."""
    return FilesSnapshot(
        source=SourceFacts(commit, version, declarations if declarations is not None else {"package.json": version},
                           installed_commit_exists=installed_commit_exists),
        ledger=led, ledger_digest="ledger-digest" if led is not None else "absent",
        install_exists=bool(live) if install_exists is None else install_exists,
        live=LiveTree.of(led["files"] if led else {}, live), secrets=secrets or {},
        desired=wanted or {}, removed=removed)


# --- config -------------------------------------------------------------------------------------------


def setting(name: str, value: Any) -> ConfigEntry:
    """A mapping leaf ``setting:<name>`` as index_document makes it (no secrets, not runtime-owned)."""
    return ConfigEntry(key=f"setting:{name}", steps=(("k", name),), names=(name,), value=value, norm=value,
                       secret=False)


CONFIG_ITEM = {"path": CONFIG_PATH, "format": "json", "template": "settings.json"}
CONFIG_PRECONDITIONS = {config_key(CONFIG_PATH, "sha256"): "sha256:" + A,
                        config_key(CONFIG_PATH, "registry"): B}


def config_snapshot(findings: list[Finding], *, component: str = NAME) -> tuple:
    """(manifest item, ConfigFindings) for one config file, built the way assess_config builds it from findings."""
    plan = ConfigFindings(drift=[drift_item(f, CONFIG_PATH, ()) for f in findings],
                      groups=groups(component, CONFIG_PATH, tuple(findings), ()),
                      preconditions=dict(CONFIG_PRECONDITIONS), diff={"path": CONFIG_PATH, "entries": []})
    return ((CONFIG_ITEM, plan),)


# --- runtime ------------------------------------------------------------------------------------------


def pm2_spec(**block: Any) -> RuntimeSpec:
    return RuntimeSpec.from_manifest({"manager": "pm2", "service": "app", "command": "node server/index.js", **block},
                                     install_path=Path("installed/app"), workspace=Path("/ws"))


RUNNING = {
    "command": ["node", "/ws/installed/app/server/index.js"], "cwd": "/ws/installed/app", "pid": 10,
    "present": True, "started_at": "2026-01-02T00:00:00.000Z", "status": "running",
}


def observation(*, reachable: bool = True, skipped: bool = False, **facts: Any) -> RuntimeObservation:
    return RuntimeObservation(manager="pm2", service="app", where="local", reachable=reachable,
                              unreachable_reason=None if reachable else "ssh: connection refused", skipped=skipped,
                              facts={**RUNNING, **facts} if reachable and not skipped else {})


def runtime_snapshot(obs: RuntimeObservation, led: dict[str, Any] | None = None) -> tuple:
    return pm2_spec(), obs, led if led is not None else ledger()
