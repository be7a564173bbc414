"""import: adopt an existing directory by writing a ledger; differences become accepted patches."""

from __future__ import annotations

from trueup.files.context import FilesContext
from trueup.files.globs import spec_matcher
from trueup.files.probe import observe_in_root
from trueup.files.snapshot import FilesSnapshot
from trueup.files.tree import observe_tree
from trueup.manifest import ComponentSpec
from trueup.model.facts import FileFact
from trueup.model.ids import action_id, digest
from trueup.model.keys import SOURCE_COMMIT, TREE
from trueup.model.plan import Action, ActionType, Drift, TargetKind
from trueup.state import ledger as ledgers

REASON = "adopt the existing directory: write a ledger, recording differences from the source as accepted"


def tree_digest(facts) -> str:
    """The digest of an install tree's facts: an import is refused when the tree changed since the plan."""
    return digest({p: f.to_json() for p, f in facts})


def propose(spec: ComponentSpec, snap: FilesSnapshot, drift: Drift) -> Action:
    return Action(id=action_id(spec.name, ActionType.IMPORT, ()), type=ActionType.IMPORT, component=spec.name,
                  target_kind=TargetKind.FILE, targets=(), group=drift.group_key(spec.name), recommended=True,
                  preconditions={TREE: tree_digest(snap.live.items())}, reason=REASON)


def run(action: Action, ctx: FilesContext) -> None:
    spec = ctx.spec
    commit = action.preconditions[SOURCE_COMMIT]
    version, _ = ctx.source.version(commit, spec.ref)
    tree = ctx.source.tree(commit)
    hashes = ctx.source.file_hashes(tree, sorted(tree), None)
    wanted = {p: {"type": e.type, **({"mode": e.mode} if e.mode else {}), "sha256": hashes[p]} for p, e in tree.items()}

    ledger = ledgers.new(name=spec.name, version=version, repo=spec.repo, ref=spec.ref, commit=commit)
    ledger["files"] = wanted
    live = dict(observe_tree(spec.install_path, ignore=spec_matcher(spec.ignore), secrets=spec_matcher(spec.secrets)).files)
    ignore, backups = spec_matcher(spec.ignore), spec_matcher(spec.backup_patterns)
    generated = {g.path for g in spec.generated}
    differences = 0
    now = ledgers.now_iso()
    for rel, fact_json in wanted.items():
        if ignore.match_file(rel) or rel in generated:
            continue
        fact = live.get(rel) or observe_in_root(spec.install_path, rel)
        if not fact.matches(FileFact.from_json(fact_json)):
            ledger["accepted"][rel] = {"fact": fact.to_json(), "accepted_at": now, "note": "differed from the source at import"}
            differences += 1
    for rel, fact in live.items():
        if rel in wanted or rel in generated or backups.match_file(rel):
            continue
        ledger["accepted"][rel] = {"fact": fact.to_json(), "accepted_at": now, "note": "not in the source at import"}
        differences += 1
    if differences:
        ledger["provenance"] = {"status": "local/unverified", "repo": spec.repo, "commit": commit,
                                "verified_by": f"import: {differences} path(s) differ from the source"}
    else:
        ledger["provenance"]["verified_by"] = "import: every file equals the source"
    ctx.ledger = ledger
    ctx.notes.append(f"imported {spec.install_path} as {spec.name} "
                     + ("(verified)" if not differences else f"(local/unverified: {differences} difference(s) accepted)"))
