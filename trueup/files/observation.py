"""Read-only observation of one component's files: its source, its ledger and its install tree."""

from __future__ import annotations

from typing import Any

from trueup.errors import GitError, UnsafePathError
from trueup.files.dirs import parents
from trueup.files.leftovers import observe as observe_leftovers
from trueup.files.ledger_view import LedgerView
from trueup.files.live import LiveTree
from trueup.files.globs import spec_matcher
from trueup.files.paths import safe_target
from trueup.files.patterns import Matcher
from trueup.files.probe import non_empty_dir, observe_in_root
from trueup.files.settle import Settled
from trueup.files.snapshot import DesiredFile, FilesSnapshot, SourceFacts
from trueup.files.tree import TreeSnapshot, observe_tree
from trueup.manifest import ComponentSpec
from trueup.model.facts import FileFact
from trueup.provider import Basis, ObserveContext, basis_preconditions
from trueup.source import Source, refresh_mirror, repo_location


def open_source(spec: ComponentSpec, ctx: ObserveContext) -> Source:
    location = repo_location(spec, ctx.workspace.root, ctx.workspace.state_dir)
    if ctx.fetch:
        refresh_mirror(spec, location)
    source = Source(location)
    source.check()
    return source


def _observe_install(spec: ComponentSpec, ctx: ObserveContext, known: LedgerView):
    """(ledger, live view, secrets, the walk's packed blocks and delta) of an install directory that exists."""
    from trueup.progress import progress_for

    special = {g.path for g in spec.generated} | {g.template for g in spec.generated}
    settled: list[Settled] = []

    def remember(tree: TreeSnapshot) -> dict[str, Any]:
        settled.append(Settled(spec.install_path, tree, known, special))
        return settled[0].meta()

    with progress_for(None, ctx.quiet, label=f"observing {spec.name}") as bar:
        tree = observe_tree(spec.install_path, ignore=spec_matcher(spec.ignore), secrets=spec_matcher(spec.secrets),
                            cache_dir=ctx.cache_dir, progress=bar, ledger_key=known.key, ledger_files=known.files,
                            special=special, meta=remember, changed=_changed(spec, ctx))
    state = settled[0] if settled else Settled(spec.install_path, tree, known, special)
    known.release()
    return state.document(), state.live, tree.secrets, tree.blocks, tree.delta


def _changed(spec: ComponentSpec, ctx: ObserveContext):
    """What trueup watch's events say may have changed below this install (None: look at everything)."""
    if not ctx.changed:
        return None
    from trueup.files.changed import root_key

    return ctx.changed.get(root_key(spec.install_path))


def _desired(source: Source, ledger: dict[str, Any] | None, commit: str, memo_dir):
    """(files of ``commit`` that differ from the ledger, ledger paths ``commit`` no longer has, renames of those)."""
    tree_new = source.tree(commit)
    removed: tuple[str, ...] = ()
    renames: dict[str, str] = {}
    if ledger is None:
        paths = set(tree_new)
    else:
        installed_commit = ledger["source"]["commit"]
        known_files = ledger["files"]
        changed = source.changed_paths(installed_commit, commit) if source.has_commit(installed_commit) else set(tree_new)
        paths = (changed | (tree_new.keys() ^ known_files.keys())) & tree_new.keys()
        removed = tuple(sorted(known_files.keys() - tree_new.keys()))
        if removed and source.has_commit(installed_commit):
            renames = {o: n for o, n in source.renames(installed_commit, commit).items() if o in known_files}
    hashes = source.file_hashes(tree_new, sorted(paths), memo_dir)
    desired = {p: DesiredFile(tree_new[p], hashes[p]) for p in sorted(paths)}
    if ledger is not None:  # keep only real differences from what the ledger says was installed
        desired = {p: d for p, d in desired.items() if ledger["files"].get(p) != d.fact().to_json()}
    return desired, removed, {o: n for o, n in renames.items() if n in desired}


def with_ignored(spec: ComponentSpec, live: LiveTree, paths: list[str]) -> tuple[LiveTree, frozenset[str]]:
    """``live`` that also knows the paths an upgrade touches below an ignored pattern (the walk skips them).

    Without this an upgrade that adds ``data/x.json`` (``data/**`` ignored) where the running service already
    wrote it plans ``absent``/``add``, and apply — which probes the path itself — refuses as stale every time.
    The facts go to ``get`` only, never to ``notable``: an ignored path is still no drift of its own.
    """
    if not spec.ignore:
        return live, frozenset()
    ignored, secret = Matcher(spec_matcher(spec.ignore)), Matcher(spec_matcher(spec.secrets))
    overlay: dict[str, FileFact] = {}
    for path in paths:
        if not (ignored(path) or any(ignored(d) or ignored(d[:-1]) for d in parents(path))) or secret(path):
            continue  # a secret is never hashed
        try:
            safe_target(spec.install_path, path)
        except UnsafePathError:
            continue  # a symlinked parent: apply refuses the path itself
        overlay[path] = observe_in_root(spec.install_path, path)
    if not overlay:
        return live, frozenset()
    fallback = live.get

    def lookup(path: str) -> FileFact | None:
        return overlay.get(path) or fallback(path, None)  # type: ignore[arg-type]

    tree = LiveTree(live.notable, live.tracked, live.expected, lookup, live._everything, live.holding, live.sizes)
    return tree, frozenset(overlay)


def observe(spec: ComponentSpec, ctx: ObserveContext) -> tuple[FilesSnapshot, Basis]:
    """The files snapshot, and the basis (source, commit, ledger) the other providers build on."""
    try:
        source = open_source(spec, ctx)
        commit = source.resolve(spec.ref)
    except GitError as exc:  # name the manifest entry, like every other manifest error
        raise GitError(f"{spec.origin}: {exc.message}",
                       hint=exc.hint or "check source.repo in trueup.yaml: a reachable git URL or a local path") from None
    version, declarations = source.version(commit, spec.ref)

    known = LedgerView(spec.install_path, ctx.memo_dir)
    install_exists = non_empty_dir(spec.install_path)
    if install_exists:
        ledger, live, secrets, blocks, delta = _observe_install(spec, ctx, known)
    else:
        blocks, delta = b"", None
        ledger = known.document()
        files = ledger["files"] if ledger else {}
        live, secrets = LiveTree.of(files, {}), {}
    installed_commit = ledger["source"]["commit"] if ledger else None
    if ledger is not None and installed_commit != commit and "files" not in ledger:
        ledger = known.document()  # an upgrade is planned: its plan needs every recorded file

    desired, removed, renames = {}, (), {}
    ignored: frozenset[str] = frozenset()
    if ledger is None or installed_commit != commit:
        desired, removed, renames = _desired(source, ledger, commit, ctx.memo_dir)
        if ledger is not None and install_exists:
            live, ignored = with_ignored(spec, live, [*desired, *removed])
    leftovers = observe_leftovers(spec, live, ignored) if ledger is not None and install_exists else {}
    exists = installed_commit in (None, commit) or source.has_commit(installed_commit)
    adoption = None
    if ledger is None and install_exists:
        from trueup.files.adoption import best_match

        adoption = best_match(spec, source, commit, spec.install_path, dict(live.items()), ctx.memo_dir)
    snapshot = FilesSnapshot(
        source=SourceFacts(commit, version, declarations, installed_commit_exists=exists, adoption=adoption),
        ledger=ledger, ledger_digest=known.digest, install_exists=install_exists, live=live, secrets=secrets,
        desired=desired, removed=removed, renames=renames, leftovers=leftovers,
        ignored=ignored, blocks=blocks, delta=delta,
    )
    basis = Basis(source=source, commit=commit, version=version, ledger=ledger,
                  preconditions=basis_preconditions(spec, known.digest, commit))
    return snapshot, basis
