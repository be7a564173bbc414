"""import: adopt an existing directory by writing a ledger; differences become accepted patches."""

from __future__ import annotations

from trueup.errors import RefusedError
from trueup.files.adoption import NOT_IN_SOURCE, describe, differences
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


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"

REASON = "adopt the existing directory: write a ledger, recording differences from the source as accepted"


def tree_digest(facts) -> str:
    """The digest of an install tree's facts: an import is refused when the tree changed since the plan."""
    return digest({p: f.to_json() for p, f in facts})


def propose(spec: ComponentSpec, snap: FilesSnapshot, drift: Drift) -> Action:
    match = snap.source.adoption
    details: dict = {}
    reason = REASON
    if match is not None:
        # Import at the commit the install really is; the upgrade to the manifest's ref is the next plan's
        # `outdated` (its three-way merges need the ledger this import writes).
        details = {"commit": match["commit"], "ref": match["ref"], "version": match["version"],
                   "exact": match["exact"], "searched": match["searched"], "accept": match["differences"]}
        if match.get("evidence"):
            details["evidence"] = match["evidence"]
        reason = describe(match, spec.ref, snap.source.commit) + f": import at {match['ref']}"
        if match["differences"]:
            reason += f", accepting {_n(len(match['differences']), 'difference')} as local"
        if match["commit"] != snap.source.commit:
            reason += f"; the next plan proposes the upgrade to {spec.ref}"
    return Action(id=action_id(spec.name, ActionType.IMPORT, ()), type=ActionType.IMPORT, component=spec.name,
                  target_kind=TargetKind.FILE, targets=(), group=drift.group_key(spec.name), recommended=True,
                  preconditions={TREE: tree_digest(snap.live.items())}, reason=reason, details=details)


def run(action: Action, ctx: FilesContext) -> None:
    spec = ctx.spec
    # The commit plan matched the install to (the tree precondition vouches it is unchanged since), else the ref's.
    commit = action.details.get("commit") or action.preconditions[SOURCE_COMMIT]
    if not ctx.source.has_commit(commit):
        raise RefusedError(f"import of {spec.name}: commit {commit[:12]} is no longer in the source",
                           hint="run trueup plan again")
    moved = commit != action.preconditions[SOURCE_COMMIT]
    label = action.details.get("ref") if moved else spec.ref
    ref = label if not moved or (label and ctx.source.is_tag(label)) else commit
    version, _ = ctx.source.version(commit, ref)
    tree = ctx.source.tree(commit)
    hashes = ctx.source.file_hashes(tree, sorted(tree), None)
    wanted = {p: {"type": e.type, **({"mode": e.mode} if e.mode else {}), "sha256": hashes[p]} for p, e in tree.items()}

    ledger = ledgers.new(name=spec.name, version=version, repo=spec.repo, ref=ref, commit=commit)
    ledger["files"] = wanted
    live = dict(observe_tree(spec.install_path, ignore=spec_matcher(spec.ignore), secrets=spec_matcher(spec.secrets)).files)
    accept = differences(spec, {p: FileFact.from_json(f) for p, f in wanted.items()}, live)
    now = ledgers.now_iso()
    for rel, kind in accept.items():
        fact = live.get(rel) or observe_in_root(spec.install_path, rel)
        note = "not in the source at import" if kind == NOT_IN_SOURCE else "differed from the source at import"
        ledger["accepted"][rel] = {"fact": fact.to_json(), "accepted_at": now, "note": note}
    verified_by = (f"import: {_n(len(accept), 'path')} {'differs' if len(accept) == 1 else 'differ'} from the source"
                   if accept else "import: every file equals the source")
    # With differences the install stays local-unverified until an upgrade (or an equal tree) proves otherwise.
    from trueup.provenance.check import record

    ledger["provenance"] = record(spec, ctx.workspace.root, ctx.source.repo, ref, commit, imported=bool(accept),
                                  verified_by=verified_by)
    ctx.ledger = ledger
    if spec.config:
        # Adoption of the config files too: entries equal to the template the plan compared them with (the
        # ref's) become the framework's, as the plan already treated them, so its next change to them is an update.
        from trueup.config.adopt import adopt_registries

        desired = action.preconditions[SOURCE_COMMIT]
        desired_version, _ = ctx.source.version(desired, spec.ref)
        ctx.notes.extend(adopt_registries(spec, ctx.workspace.root, ctx.workspace.state_dir, ctx.source, desired,
                                          desired_version or desired[:12]))
    at = f" at {label}" if moved else ""
    ctx.notes.append(f"imported {spec.install_path} as {spec.name}{at} "
                     + ("(verified)" if not accept else f"(local/unverified: {_n(len(accept), 'difference')} accepted)"))
