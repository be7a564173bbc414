"""Adoption: which commit of the source an unmanaged install matches best, and what import would accept there.

Read-only. The search is git's own notion of "the same tree" first (the install's tree id, computed here the
way ``git write-tree`` would, against the candidates' root trees), then the fewest differing paths by blob id.
Candidates, in order of preference on a tie: the commit the manifest's ref resolves to, the newest tags,
then the ref's own history — bounded, so adopting an install of a long-lived source stays fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trueup.files.globs import spec_matcher
from trueup.git_ids import EXECUTABLE, FILE, SYMLINK, blob_id, tree_id
from trueup.manifest import ComponentSpec
from trueup.model.facts import ABSENT, FileFact
from trueup.source import Source

MAX_TAGS = 100
MAX_HISTORY = 100
# Tree entries compared path by path, over all candidates: a 10k-file install compares about 50 commits.
MAX_COMPARED = 500_000

MODIFIED, ABSENT_KIND, NOT_IN_SOURCE = "modified", "absent", "not-in-source"


def skipped(spec: ComponentSpec) -> Callable[[str], bool]:
    """Paths adoption never compares: ignored, generated outputs, backups, trueup's own directory."""
    ignore, backups = spec_matcher(spec.ignore), spec_matcher(spec.backup_patterns)
    generated = {g.path for g in spec.generated}
    return lambda rel: (rel in generated or rel.startswith(".trueup/") or bool(ignore.match_file(rel))
                        or bool(backups.match_file(rel)))


def differences(spec: ComponentSpec, wanted: dict[str, FileFact], live: dict[str, FileFact]) -> dict[str, str]:
    """path → modified | absent | not-in-source: exactly what an import at ``wanted``'s commit records as accepted."""
    skip = skipped(spec)
    out: dict[str, str] = {}
    for rel, want in wanted.items():
        if skip(rel):
            continue
        have = live.get(rel, ABSENT)
        if not have.matches(want, spec.exact_modes):
            out[rel] = ABSENT_KIND if have.type == "absent" else MODIFIED
    for rel in live:
        if rel not in wanted and not skip(rel):
            out[rel] = NOT_IN_SOURCE
    return dict(sorted(out.items()))


def _git_mode(fact: FileFact) -> str:
    if fact.type == "symlink":
        return SYMLINK
    return EXECUTABLE if fact.mode and int(fact.mode, 8) & 0o111 else FILE


def live_blobs(root: Path, live: dict[str, FileFact]) -> dict[str, tuple[str, str]]:
    """path → (git mode, git blob id) of the install's files and symlinks (read again: the walk keeps sha256)."""
    out = {}
    for rel, fact in live.items():
        path = root / rel
        try:
            data = os.readlink(path).encode("utf-8", "surrogateescape") if fact.type == "symlink" else path.read_bytes()
        except OSError:
            continue
        if fact.type in ("file", "symlink"):
            out[rel] = (_git_mode(fact), blob_id(data))
    return out


def _candidates(source: Source, desired: str, recorded: str | None = None) -> list[tuple[str, str, str]]:
    """(commit, tree, label) in order of preference, each commit once: the tag of a ``recorded`` version first."""
    seen: set[str] = set()
    out = []
    trees = source.trees([desired])
    tags = [(commit, tree, tag) for tag, commit, tree in source.tags(MAX_TAGS)]
    rows = [row for row in tags if recorded and row[2] in (recorded, f"v{recorded}")]
    rows += [(desired, trees.get(desired, ""), "")] + tags
    rows += [(commit, tree, "") for commit, tree in source.history(desired, MAX_HISTORY)]
    tag_of: dict[str, str] = {}
    for commit, _, tag in rows:
        if tag and commit not in tag_of:
            tag_of[commit] = tag
    for commit, tree, _ in rows:
        if commit not in seen:
            seen.add(commit)
            out.append((commit, tree, tag_of.get(commit, "")))
    return out


def _count(candidate: dict[str, tuple[str, str]], live: dict[str, tuple[str, str]], skip,
           installed: set[str] | None = None) -> int:
    """Paths whose blob differs between a candidate and the install. With a Zylos record, ``installed`` is the
    set of paths installed and ``live`` holds only the files still as installed: an edited or deleted file
    counts as matching any content, and a file added since the install is not compared."""
    if installed is None:
        paths = {p for p in candidate.keys() | live.keys() if not skip(p)}
        return sum(1 for p in paths if (candidate.get(p) or ("", ""))[1] != (live.get(p) or ("", ""))[1])
    paths = {p for p in candidate.keys() | installed if not skip(p) and not _zylos_skips(p)}
    return sum(1 for p in paths if p not in candidate or p not in installed
               or (p in live and live[p][1] != candidate[p][1]))


def _zylos_skips(rel: str) -> bool:
    """What Zylos leaves out of its record (its generateManifest): never a difference against one."""
    return any(part in (".git", ".zylos", "node_modules", ".backup") for part in rel.split("/"))


def _evidence(record: dict[str, str] | None, recorded: tuple[str, str] | None, live: dict[str, FileFact],
              skip) -> tuple[list[str], set[str] | None, set[str]]:
    """(what the plan says of the Zylos records, paths installed per the record, those still as installed)."""
    notes: list[str] = []
    installed = unedited = None
    if record is not None:
        installed = {p for p in record if not skip(p)}
        unedited = {p for p in installed if p in live and live[p].sha256 == record[p]}
        edited = len(installed) - len(unedited)
        notes.append(f".zylos/manifest.json records {len(installed)} installed files, "
                     f"{edited} changed or removed since")
    if recorded is not None:
        notes.append(f"{recorded[1]} records version {recorded[0]}")
    return notes, installed, unedited or set()


def best_match(spec: ComponentSpec, source: Source, desired: str, root: Path, live: dict[str, FileFact],
               memo_dir: Path | None) -> dict[str, Any]:
    """The commit the install matches best, how it was found, and the differences import would accept there."""
    from trueup.files import zylos

    skip = skipped(spec)
    blobs = live_blobs(root, {p: f for p, f in live.items() if not skip(p)})
    recorded = zylos.registry_version(root)
    evidence, installed, unedited = _evidence(zylos.install_record(root), recorded, live, skip)
    known = blobs if installed is None else {p: b for p, b in blobs.items() if p in unedited}
    candidates = _candidates(source, desired, recorded[0] if recorded else None)
    # Zylos's own directory (its record) is not part of what it installed from the source.
    wanted_tree = tree_id(blobs if installed is None else {p: b for p, b in blobs.items() if not _zylos_skips(p)})
    exact = next(((c, t, label) for c, t, label in candidates if t == wanted_tree), None)
    seen_trees: set[str] = set()
    if exact is not None:
        chosen, how = exact, "tree"
    else:
        best, best_count = candidates[0], None
        compared = 0
        for commit, tree, label in candidates:
            if tree in seen_trees:
                continue  # same tree as a commit preferred before it
            if compared > MAX_COMPARED:
                break
            seen_trees.add(tree)
            listed = {p: (e.mode or "", e.blob) for p, e in source.tree(commit).items()}
            compared += len(listed)
            count = _count(listed, known, skip, installed)
            if best_count is None or count < best_count:
                best, best_count = (commit, tree, label), count
                if count == 0:
                    break
        chosen, how = best, "files"
    commit, _, label = chosen
    tree = source.tree(commit)
    hashes = source.file_hashes(tree, sorted(tree), memo_dir)
    wanted = {p: FileFact(e.type, e.mode, hashes[p]) for p, e in tree.items()}
    version, _ = source.version(commit, label or commit)
    return {
        "commit": commit,
        "ref": label or commit[:12],
        "version": version,
        "exact": how == "tree",
        "searched": len(candidates) if how == "tree" else len(seen_trees),
        "differences": differences(spec, wanted, live),
        "evidence": evidence,
    }


def describe(match: dict[str, Any], ref: str, desired: str) -> str:
    """One line for the plan: what the install matches and what the manifest asks."""
    n = len(match["differences"])
    what = "exactly" if not n else f"except {n} file{'' if n == 1 else 's'}"
    line = f"install matches {match['ref']} {what}"
    if match["commit"] != desired:
        line += f"; manifest asks {ref}"
    if match.get("evidence"):
        line += " (Zylos records: " + "; ".join(match["evidence"]) + ")"
    return line
