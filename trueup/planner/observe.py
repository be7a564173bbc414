"""Read-only observation of one component: its source, its ledger and its install tree."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from attrs import frozen

from trueup.errors import TrueupError
from trueup.manifest import ComponentSpec, Workspace
from trueup.planner import runtime_step
from trueup.planner.config_step import observe_configs
from trueup.planner.diff import SourceFacts, spec_matcher
from trueup.planner.facts import ABSENT, FileFact, observe_path
from trueup.planner.live import LiveTree
from trueup.planner.tree import TreeSnapshot, observe_tree
from trueup.source import Source, TreeEntry, refresh_mirror, repo_location
from trueup.state import ledger as ledgers
from trueup.state import ledger_index


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
    live: LiveTree
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


class LedgerDocument(dict):
    """A ledger known from the stat cache: everything but ``files``, which is parsed on first use."""

    def __init__(self, rest: dict[str, Any], load: Any) -> None:
        super().__init__(rest)
        self._load = load

    def __missing__(self, key: str) -> Any:
        if key != "files":
            raise KeyError(key)
        self["files"] = files = self._load()["files"]
        return files


class _Ledger:
    """The install ledger of one component as a plan needs it: its digest now, its document when parsed."""

    def __init__(self, install_path: Path, memo_dir: Path | None) -> None:
        self.install_path = install_path
        self.memo_dir = memo_dir
        self.raw = ledgers.read_bytes(install_path)
        self.exists = self.raw is not None
        self.digest = ledgers.digest(self.raw)
        # Names this ledger (and the schema it was validated against) for the stat cache and the ledger index.
        self.key = ledgers.trust_key(bytes.fromhex(self.digest)) if self.exists else bytes(32)
        self._document: dict[str, Any] | None = None

    @property
    def parsed(self) -> bool:
        return self._document is not None

    def release(self) -> None:
        """Drop the raw bytes (15 MB at 100k files) when the stat cache made parsing them unnecessary."""
        self.raw = None

    def document(self) -> dict[str, Any] | None:
        if self._document is None and self.exists:
            self._document = ledger_index.load(self.memo_dir, self.install_path, self.key)
            if self._document is not None:
                self.raw = None
                return self._document
            raw = self.raw if self.raw is not None else ledgers.read_bytes(self.install_path)
            self.raw = None  # the parsed document is all that is needed from now on
            if ledgers.digest(raw) != self.digest:
                raise TrueupError(f"{ledgers.ledger_path(self.install_path)}: changed while planning",
                                  hint="another trueup apply may be running; run trueup plan again")
            # A bytearray the parser empties once decoded: 15 MB at 100k files not held twice.
            buffer = bytearray(raw)
            del raw
            self._document = ledgers.parse(self.install_path, buffer, self.memo_dir)
            ledger_index.save(self.memo_dir, self.install_path, self._document, self.key)  # next time: no parse
        return self._document

    def files(self) -> dict[str, dict[str, Any]]:
        doc = self.document()
        return doc["files"] if doc is not None else {}


class _Settled:
    """What the walk found, reconciled with the ledger: missing paths, expected entries, the live view."""

    def __init__(self, spec: ComponentSpec, tree: TreeSnapshot, ledger: _Ledger, special: set[str]) -> None:
        self.tree, self.ledger = tree, ledger
        meta = tree.trusted_meta
        self.dirty: dict[str, dict[str, Any]] = meta["dirty"] if meta is not None else {}
        missing = None
        if meta is not None:
            # Every ledger path was clean in the cache or is in dirty: unseen dirty ones are all that can be missing.
            candidates = [p for p in self.dirty if p not in tree.tracked]
            if tree.tracked_seen + len(candidates) == meta["n_files"]:
                missing = candidates
        if missing is None:
            files = ledger.files()
            missing = [] if tree.tracked_seen == len(files) else sorted(files.keys() - tree.walked_paths())
        self.missing = missing
        root = spec.install_path
        # Tracked paths the walk did not meet, and generated outputs and templates it did not report: one by one.
        extra = {p: observe_in_root(root, p) for p in sorted({*missing, *special} - tree.notable.keys() - tree.secrets.keys())}
        self.live = LiveTree({**tree.notable, **extra}, (tree.tracked & tree.notable.keys()) | set(missing),
                             self.expected, self._lookup, lambda: {**tree.files, **extra})

    def expected(self, path: str) -> dict[str, Any]:
        """The ledger entry of a tracked path, from the cheapest place that knows it."""
        if not self.ledger.parsed:
            if path in self.dirty:
                return self.dirty[path]
            if path in self.tree.expected_old:
                return self.tree.expected_old[path]
        return self.ledger.files()[path]

    def _lookup(self, path: str) -> FileFact | None:
        if path in self.tree.secrets:
            return None  # secrets are never live facts: existence and mode only, in their own list
        return self.tree.files.get(path)

    def meta(self) -> dict[str, Any]:
        """What the stat cache remembers about this ledger, so the next plan need not parse it."""
        trusted = self.tree.trusted_meta
        if trusted is not None:
            rest, n_files = trusted["ledger"], trusted["n_files"]
        else:
            doc = self.ledger.document()
            rest = {k: v for k, v in doc.items() if k != "files"} if doc is not None else None
            n_files = len(doc["files"]) if doc is not None else 0
        not_clean = (self.tree.tracked - self.tree.clean) | set(self.missing)
        return {"ledger": rest, "n_files": n_files, "dirty": {p: self.expected(p) for p in sorted(not_clean)}}

    def document(self) -> dict[str, Any] | None:
        trusted = self.tree.trusted_meta
        if trusted is not None and not self.ledger.parsed:
            return LedgerDocument(trusted["ledger"], self.ledger.document) if trusted["ledger"] is not None else None
        return self.ledger.document()


def observe_component(workspace: Workspace, spec: ComponentSpec, *, cache_dir: Path | None,
                      memo_dir: Path | None = None, quiet: bool = True) -> Observation:
    """``cache_dir``: the stat cache (None: hash everything); ``memo_dir``: content-addressed memos."""
    location = repo_location(spec, workspace.root, workspace.state_dir)
    refresh_mirror(spec, location)
    source = Source(location)
    source.check()
    commit = source.resolve(spec.ref)
    version, declarations = source.version(commit, spec.ref)

    known = _Ledger(spec.install_path, memo_dir)
    install_exists = non_empty_dir(spec.install_path)
    special = {g.path for g in spec.generated} | {g.template for g in spec.generated}
    if install_exists:
        from trueup.progress import progress_for

        settled: list[_Settled] = []

        def remember(tree: TreeSnapshot) -> dict[str, Any]:
            settled.append(_Settled(spec, tree, known, special))
            return settled[0].meta()

        with progress_for(None, quiet, label=f"observing {spec.name}") as bar:
            tree = observe_tree(spec.install_path, ignore=spec_matcher(spec.ignore), secrets=spec_matcher(spec.secrets),
                                cache_dir=cache_dir, progress=bar, ledger_key=known.key, ledger_files=known.files,
                                special=special, meta=remember)
        state = settled[0] if settled else _Settled(spec, tree, known, special)
        known.release()
        ledger, live, secrets = state.document(), state.live, tree.secrets
    else:
        ledger = known.document()
        live, secrets = LiveTree.of(ledger["files"] if ledger else {}, {}), {}
    installed_commit = ledger["source"]["commit"] if ledger else None

    desired: dict[str, DesiredFile] = {}
    removed: tuple[str, ...] = ()
    if ledger is None or installed_commit != commit:
        tree_new = source.tree(commit)
        if ledger is None:
            paths = set(tree_new)
        else:
            known_files = ledger["files"]
            changed = source.changed_paths(installed_commit, commit) if source.has_commit(installed_commit) else set(tree_new)
            paths = (changed | (tree_new.keys() ^ known_files.keys())) & tree_new.keys()
            removed = tuple(sorted(known_files.keys() - tree_new.keys()))
        hashes = source.file_hashes(tree_new, sorted(paths), memo_dir)
        desired = {p: DesiredFile(tree_new[p], hashes[p]) for p in sorted(paths)}
        if ledger is not None:  # keep only real differences from what the ledger says was installed
            desired = {p: d for p, d in desired.items() if known_files.get(p) != d.fact().to_json()}

    return Observation(
        spec=spec,
        source=source,
        source_facts=SourceFacts(commit, version, declarations,
                                 installed_commit_exists=installed_commit in (None, commit) or source.has_commit(installed_commit)),
        ledger=ledger,
        ledger_digest=known.digest,
        install_exists=install_exists,
        live=live,
        secrets=secrets,
        desired=desired,
        removed=removed,
        configs=observe_configs(spec, workspace=workspace.root, state_dir=workspace.state_dir, source=source,
                                commit=commit, version=version),
        runtime=runtime_step.observe(spec, workspace.root),
    )
