"""Read-only observation of one component: its source, its ledger and its install tree."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from attrs import frozen

from trueup.manifest import ComponentSpec, Workspace
from trueup.planner import runtime_step
from trueup.planner.config_step import observe_configs
from trueup.planner.diff import SourceFacts, spec_matcher
from trueup.planner.facts import ABSENT, FileFact, observe_path
from trueup.planner.tree import observe_tree
from trueup.source import Source, TreeEntry, refresh_mirror, repo_location
from trueup.state import ledger as ledgers


@frozen
class DesiredFile:
    """A file as the desired commit has it; ``sha256`` is what apply must write."""

    entry: TreeEntry
    sha256: str

    def fact(self) -> FileFact:
        return FileFact(self.entry.type, self.entry.mode, self.sha256)


@frozen
class Observation:
    spec: ComponentSpec
    source: Source
    source_facts: SourceFacts
    ledger: dict[str, Any] | None
    ledger_digest: str
    install_exists: bool
    live: dict[str, FileFact]
    secrets: dict[str, FileFact]
    # Files of the desired commit that differ from the ledger (all of them when not installed).
    desired: dict[str, DesiredFile]
    removed: tuple[str, ...]  # ledger paths the desired commit no longer has
    configs: tuple = ()  # (manifest item, ConfigPlan) per co-owned config file
    runtime: tuple | None = None  # (RuntimeSpec, RuntimeObservation) when the component declares a runtime


def observe_in_root(root: Path, rel: str) -> FileFact:
    """The fact at ``root/rel`` without following a symlink anywhere below ``root``.

    A tracked path whose parent became a symlink or a file is absent as far as trueup is concerned;
    the parent itself shows up as its own drift.
    """
    current = root
    for part in rel.split("/")[:-1]:
        current = current / part
        if observe_path(current, with_hash=False).type != "dir":
            return ABSENT
    return observe_path(root / rel)


def non_empty_dir(path: Path) -> bool:
    try:
        with os.scandir(path) as it:
            return any(True for _ in it)
    except (FileNotFoundError, NotADirectoryError):
        return False


def observe_component(workspace: Workspace, spec: ComponentSpec, *, cache_dir: Path | None,
                      quiet: bool = True) -> Observation:
    location = repo_location(spec, workspace.root, workspace.state_dir)
    refresh_mirror(spec, location)
    source = Source(location)
    source.check()
    commit = source.resolve(spec.ref)
    version, declarations = source.version(commit, spec.ref)

    raw = ledgers.read_bytes(spec.install_path)
    ledger = ledgers.parse(spec.install_path, raw, cache_dir) if raw is not None else None
    install_exists = non_empty_dir(spec.install_path)
    installed_commit = ledger["source"]["commit"] if ledger else None

    live: dict[str, FileFact] = {}
    secrets: dict[str, FileFact] = {}
    if install_exists:
        from trueup.progress import progress_for

        with progress_for(len(ledger["files"]) if ledger else None, quiet, label=f"observing {spec.name}") as bar:
            tree = observe_tree(spec.install_path, ignore=spec_matcher(spec.ignore),
                                secrets=spec_matcher(spec.secrets), cache_dir=cache_dir, progress=bar)
        live, secrets = dict(tree.files), tree.secrets
        wanted = set(ledger["files"] if ledger else ()) | {g.path for g in spec.generated} | {g.template for g in spec.generated}
        for rel in sorted(wanted - live.keys() - secrets.keys()):
            live[rel] = observe_in_root(spec.install_path, rel)

    desired: dict[str, DesiredFile] = {}
    removed: tuple[str, ...] = ()
    if ledger is None or installed_commit != commit:
        tree_new = source.tree(commit)
        if ledger is None:
            paths = set(tree_new)
        else:
            known = ledger["files"]
            changed = source.changed_paths(installed_commit, commit) if source.has_commit(installed_commit) else set(tree_new)
            paths = (changed | (tree_new.keys() ^ known.keys())) & tree_new.keys()
            removed = tuple(sorted(known.keys() - tree_new.keys()))
        hashes = source.file_hashes(tree_new, sorted(paths), cache_dir)
        desired = {p: DesiredFile(tree_new[p], hashes[p]) for p in sorted(paths)}
        if ledger is not None:  # keep only real differences from what the ledger says was installed
            desired = {p: d for p, d in desired.items() if known.get(p) != d.fact().to_json()}

    return Observation(
        spec=spec,
        source=source,
        source_facts=SourceFacts(commit, version, declarations,
                                 installed_commit_exists=installed_commit is None or source.has_commit(installed_commit)),
        ledger=ledger,
        ledger_digest=ledgers.digest(raw),
        install_exists=install_exists,
        live=live,
        secrets=secrets,
        desired=desired,
        removed=removed,
        configs=observe_configs(spec, workspace=workspace.root, state_dir=workspace.state_dir, source=source,
                                commit=commit, version=version),
        runtime=runtime_step.observe(spec, workspace.root),
    )
