"""The pure diff: desired state + ledger + live facts → classified drift items. No I/O here."""

from __future__ import annotations

from typing import Any

import pathspec
from attrs import frozen

from trueup.manifest import ComponentSpec
from trueup.planner.facts import ABSENT, FileFact
from trueup.planner.live import LiveTree
from trueup.planner.model import Drift, DriftClass
from trueup.state.ledger_entry import plain


@frozen
class SourceFacts:
    """What the source says now: the commit the ref resolves to and the version it declares."""

    commit: str
    version: str | None
    declarations: dict[str, str]
    installed_commit_exists: bool = True


def version_key(version: str) -> str:
    """'v1', '1.0' and '1.0.0' are one version; anything not purely numeric compares as written."""
    text = version[1:] if version[:1] in "vV" else version
    parts = text.split(".")
    if not all(p.isdigit() for p in parts):
        return text
    while len(parts) > 1 and int(parts[-1]) == 0:
        parts.pop()
    return ".".join(str(int(p)) for p in parts)


def spec_matcher(patterns) -> pathspec.PathSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def equal(a: FileFact, b: FileFact) -> bool:
    return a.type == b.type and a.sha256 == b.sha256 and (a.mode == b.mode or a.type != "file")


def classify_tracked(expected: FileFact, live: FileFact) -> str | None:
    """The drift kind of a tracked path, or None when live matches what was installed."""
    if equal(expected, live):
        return None
    if live.type == "absent":
        return "missing"
    if live.type != expected.type:
        return "type-changed"
    if live.sha256 != expected.sha256:
        return "modified"
    return "mode-changed"


def _accepted_fact(ledger: dict[str, Any], path: str) -> FileFact | None:
    record = ledger["accepted"].get(path)
    return FileFact.from_json(record["fact"]) if record else None


def diff_source(spec: ComponentSpec, ledger: dict[str, Any] | None, source: SourceFacts,
                install_exists: bool, require_verified: bool) -> list[Drift]:
    desired = {"commit": source.commit, "version": source.version}
    items: list[Drift] = []
    distinct = {version_key(v) for v in source.declarations.values()}
    if len(distinct) > 1:
        items.append(Drift(DriftClass.SOURCE, "version-disagreement", None, source.version, dict(source.declarations)))
    if ledger is None:
        kind = "unmanaged" if install_exists else "not-installed"
        items.append(Drift(DriftClass.SOURCE, kind, None, desired, None))
        return items
    installed = {"commit": ledger["source"]["commit"], "version": ledger["version"]}
    if installed["commit"] != source.commit:
        items.append(Drift(DriftClass.SOURCE, "outdated", None, desired, installed))
    provenance = ledger["provenance"]
    if provenance["status"] != "verified":
        items.append(Drift(DriftClass.PROVENANCE, "unverified", None, "verified",
                           {"status": provenance["status"], "verified_by": provenance["verified_by"]}, require_verified))
    elif not source.installed_commit_exists:
        items.append(Drift(DriftClass.PROVENANCE, "commit-missing", None, installed["commit"],
                           "not in the source repository", require_verified))
    return items


def diff_files(spec: ComponentSpec, ledger: dict[str, Any], live: LiveTree) -> list[Drift]:
    """Tracked, untracked and backup paths; only ``live``'s tracked and notable paths can be drift."""
    # Skipped tracked paths: generated outputs, ignored ones, and secrets (never read, so never compared).
    # Matching 100k paths against empty specs costs ~0.3 s, so only non-empty specs are consulted.
    skip = spec_matcher((*spec.ignore, *spec.secrets)) if spec.ignore or spec.secrets else None
    ignore = spec_matcher(spec.ignore)
    backups = spec_matcher(spec.backup_patterns)
    generated = {g.path for g in spec.generated}
    recorded = {b["path"]: b for b in ledger["backups"]}
    items: list[Drift] = []
    for path in sorted(live.tracked):
        raw = live.expected(path)
        fact = live.get(path)
        if fact.sha256 == raw.get("sha256") and fact.type == raw["type"] and fact.mode == raw.get("mode"):
            continue  # the common case, decided without building objects
        if path in generated or (skip is not None and skip.match_file(path)):
            continue
        accepted = _accepted_fact(ledger, path)
        if accepted is not None and equal(accepted, fact):
            continue
        kind = classify_tracked(FileFact.from_json(raw), fact)
        if kind is not None:
            cls = DriftClass.LOCAL_PATCH if kind == "modified" else DriftClass.FILE
            items.append(Drift(cls, kind, path, plain(raw), fact.to_json()))
    for path, fact in live.notable.items():
        if path in live.tracked or path in generated or fact.type == "absent":
            continue
        if backups.match_file(path):
            record = recorded.get(path)
            if record and record["acknowledged"] and record.get("sha256") in (None, fact.sha256):
                items.append(Drift(DriftClass.BACKUP, "acknowledged", path, None, fact.to_json(), is_drift=False))
            else:
                items.append(Drift(DriftClass.BACKUP, "unacknowledged", path,
                                   {"original": record["original"], "reason": record["reason"]} if record else None,
                                   fact.to_json()))
            continue
        accepted = _accepted_fact(ledger, path)
        if accepted is not None and equal(accepted, fact):
            continue
        items.append(Drift(DriftClass.FILE, "untracked", path, accepted.to_json() if accepted else None, fact.to_json()))
    for path, record in recorded.items():
        if not ignore.match_file(path) and live.get(path).type == "absent":
            items.append(Drift(DriftClass.BACKUP, "removed", path, record["reason"], None, is_drift=False))
    return items


def diff_generated(spec: ComponentSpec, ledger: dict[str, Any], live: LiveTree) -> list[Drift]:
    items: list[Drift] = []
    for gen in spec.generated:
        template = live.get(gen.template, ABSENT)
        output = live.get(gen.path, ABSENT)
        record = ledger["generated"].get(gen.path)
        if template.type != "file":
            # No action of its own: restoring the template (a file drift) is what resolves it.
            items.append(Drift(DriftClass.GENERATED, "template-missing", gen.path, gen.template, None))
        if output.type == "absent":
            items.append(Drift(DriftClass.GENERATED, "missing", gen.path, {"template": gen.template}, None))
            continue
        if record is None:
            items.append(Drift(DriftClass.GENERATED, "unrecorded", gen.path, {"template": gen.template}, output.to_json()))
            continue
        edited = output.sha256 != record["output_sha256"]
        accepted = _accepted_fact(ledger, gen.path)
        if accepted is not None and equal(accepted, output):
            edited = False
        if template.type == "file" and (record["template_sha256"] != template.sha256 or record["command"] != gen.command):
            items.append(Drift(DriftClass.GENERATED, "stale", gen.path,
                               {"template_sha256": template.sha256, "command": gen.command},
                               {"template_sha256": record["template_sha256"], "command": record["command"],
                                "edited": edited}))
        elif edited:
            items.append(Drift(DriftClass.GENERATED, "edited", gen.path, {"sha256": record["output_sha256"]},
                               output.to_json()))
    return items


def diff_secrets(secrets: dict[str, FileFact]) -> list[Drift]:
    """Secrets are listed by existence and mode only; a group- or world-readable one is drift."""
    items = []
    for path, fact in secrets.items():
        exposed = fact.type == "file" and fact.mode is not None and int(fact.mode, 8) & 0o077
        items.append(Drift(DriftClass.FILE, "secret-exposed" if exposed else "secret", path, None,
                           {"type": fact.type, "mode": fact.mode}, is_drift=False))
    return items


def sort_items(items: list[Drift]) -> list[Drift]:
    return sorted(items, key=Drift.sort_key)
