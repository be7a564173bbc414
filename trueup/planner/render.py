"""The text view of a plan, and what every view shares, rendered from the plan document (never from internal objects).

The markdown view is render_markdown.py."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

# Terraform's vocabulary of symbols: + add, ~ change, - remove, ! needs attention, ? not observed.
SYMBOLS = {
    "not-installed": "+", "untracked": "+", "missing": "-", "removed": "-", "outdated": "~", "modified": "~",
    "mode-changed": "~", "type-changed": "~", "stale": "~", "edited": "~", "unrecorded": "~",
    "unacknowledged": "!", "unmanaged": "!", "version-disagreement": "!", "unverified": "!", "commit-missing": "!",
    "template-missing": "!", "merge-conflict": "!", "orphaned-patch": "!", "leftover": "!",
}
OP_SYMBOLS = {"add": "+", "replace": "~", "merge": "~", "keep-beside": "!", "remove": "-", "keep": "!", "forget": "-",
              "rename-merge": "~", "renamed": "-"}
STATUS_STYLE = {"clean": "green", "drifted": "yellow", "not-installed": "cyan", "unmanaged": "magenta",
                "unreachable": "red"}


def _short(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        if "commit" in value:
            return value.get("version") or str(value["commit"])[:12]
        if "sha256" in value or "type" in value:
            parts = [value.get("type", "")]
            if value.get("mode"):
                parts.append(value["mode"])
            if value.get("sha256"):
                parts.append(value["sha256"][:8])
            return " ".join(p for p in parts if p)
    return str(value)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 action``, ``2 actions``: never ``action(s)``."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def _config(item: dict[str, Any]) -> str:
    from trueup.config.proposals import value_diff

    expected, actual = item["expected"] or {}, item["actual"] or {}
    entry = expected.get("entry") or actual.get("entry") or ""
    if item["kind"] == "unparseable":
        return f"does not parse ({actual.get('error')}); never written"
    if item["kind"] == "collision":
        return f"{entry}: {len(actual.get('values', []))} live entries normalize to one key"
    if "value" in expected and "value" in actual:  # template → live, key by key
        changed = value_diff(expected["value"], actual["value"])
        return f"{entry}: {item['kind']}" + (f" ({'; '.join(changed)})" if changed else "")
    return f"{entry}: {item['kind']}"


def _when(value: Any) -> str:
    """An ISO timestamp as a reviewer reads it: ``2026-11-20 10:02``."""
    text = str(value or "?")
    match = re.search(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)", text)
    return f"{match.group(1)} {match.group(2)}" if match else text


def _runtime(item: dict[str, Any]) -> str:
    kind, expected, actual = item["kind"], item["expected"], item["actual"]
    if kind == "version-mismatch":
        return f"{kind}: running {actual}, installed {expected}"
    if kind == "stale-process":
        return f"{kind}: started {_when(actual)}, files changed {_when(expected)}"
    if kind == "env-stale" and isinstance(actual, dict):
        return f"{kind}: started {_when(expected)}, changed since: " + ", ".join(sorted(actual))
    if kind in ("not-running", "errored", "unsaved", "cwd-mismatch", "command-mismatch"):
        return f"{kind}: expected {_short(expected)}, now {_short(actual)}"
    if kind in ("unreachable", "skipped"):
        return f"{kind}: {actual}"
    if isinstance(actual, dict) and actual.get("summary"):  # docker: image-drift, restarting, unhealthy, missing
        return f"{kind}: {actual['summary']}"
    return kind.replace("-", " ")


# A plan file is edited by hand (approvals flipped in pull requests) and carried between machines: a part of the
# wrong shape is shown as damaged, never a crash, so the rest of the plan can still be reviewed.
DAMAGED = (KeyError, TypeError, AttributeError, ValueError, IndexError)


def damaged(what: str, exc: Exception) -> str:
    return f"(not shown: {what} is damaged in this plan file: {type(exc).__name__})"


def describe_safely(item: dict[str, Any]) -> str:
    """``describe``, or a note that the item is damaged."""
    try:
        return describe(item)
    except DAMAGED as exc:
        return damaged("this item", exc)


def describe(item: dict[str, Any]) -> str:
    kind, expected, actual = item["kind"], item["expected"], item["actual"]
    if isinstance(actual, dict) and actual.get("type") == "dir" and "files" in actual:  # a directory as one item
        what = ("untracked directory" if kind == "untracked"
                else "backup set" + (" (acknowledged)" if kind == "acknowledged" else ""))
        from trueup.files.dirs import describe as dir_size  # "60000 files, 410 MB"

        return f"{what}, {dir_size(actual)}"
    if item["class"] == "config":
        return _config(item)
    if item["class"] == "runtime":
        from trueup.model.recommendations import operator_step  # what to do where no action resolves it

        step = operator_step(item["class"], kind, actual)
        return _runtime(item) + (f" — {step}" if step else "")
    if item["class"] == "provenance" and kind in ("moved-tag", "mismatch") and isinstance(actual, dict):
        if kind == "moved-tag":  # trueup/provenance: a supply-chain red flag, with both commits
            return (f"moved tag: {actual.get('tag')} now names {actual.get('now')}, installed "
                    f"{actual.get('installed')} — approve its upgrade by id only if the move is legitimate")
        return "mismatch: not the installed commit's tree: " + ", ".join(f"{p} ({how})" for p, how in actual.items())
    if kind == "outdated":
        return f"installed {_short(actual)}, source is {_short(expected)}"
    if kind == "not-installed":
        return f"not installed; source is {_short(expected)}"
    if kind == "unmanaged":
        if isinstance(actual, dict) and "ref" in actual:  # the commit the install matches best (files/adoption.py)
            n = actual["differences"]
            how = "exactly" if not n else f"except {plural(n, 'file')}"
            return f"directory exists without a ledger; matches {actual['ref']} {how}; source is {_short(expected)}"
        return "directory exists without a ledger"
    if kind == "version-disagreement":
        return "version files disagree: " + ", ".join(f"{k}={v}" for k, v in sorted(actual.items()))
    if kind == "modified" and expected and actual:
        mode = f", mode {expected.get('mode')} → {actual.get('mode')}" if expected.get("mode") != actual.get("mode") else ""
        return f"modified: content differs from the installed version{mode}"
    if kind == "mode-changed":
        return f"mode-changed: {expected.get('mode')} → {actual.get('mode')}"
    if kind == "type-changed":
        return f"type-changed: was {_short(expected)}, now {_short(actual)}"
    if kind == "merge-conflict":
        to = (expected.get("to_commit") or "")[:12]
        return (f"upgrade{' to ' + to if to else ''} could not merge the local changes: local file kept, new version "
                f"beside it as {expected['beside']}" + (" (local file edited since)" if actual.get("edited") else ""))
    if kind == "orphaned-patch":
        to = (expected.get("to_commit") or "")[:12]
        renamed = f" (renamed to {expected['renamed_to']})" if expected.get("renamed_to") else ""
        return (f"edited locally, removed from the source{renamed}{' at ' + to if to else ''}: kept, but nothing "
                "installed uses it; keep it as yours (accept-local) or delete it (restore-source)")
    if kind == "missing" and item["class"] == "file":
        return "missing"
    if kind == "untracked":
        return "not from the source" + (" (changed since accepted)" if expected else "")
    if kind == "stale":
        return "template or command changed since generated" + (" (output also edited)" if actual.get("edited") else "")
    if kind == "edited":
        return "generated output edited by hand"
    if kind == "unacknowledged":
        return "backup file" + (f" of {expected['original']} ({expected['reason']})" if expected else " not reviewed")
    if kind == "acknowledged":
        return "acknowledged backup"
    if kind == "leftover" and isinstance(expected, dict):
        return f"temp file a killed trueup left (it was to replace {expected.get('for')}, and never did)"
    if kind in ("secret", "secret-exposed"):
        return f"secret present, mode {actual.get('mode')}" + (" (readable by others)" if kind == "secret-exposed" else "")
    return kind.replace("-", " ")


def by_component(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {c["name"]: [] for c in document["components"]}
    for action in document["actions"]:
        out.setdefault(action["component"], []).append(action)
    return out


def _warnings_note(document: dict[str, Any]) -> str:
    count = document["summary"].get("warnings", 0)
    return f" {plural(count, 'warning')} (not drift; --strict fails on them)." if count else ""


def summary_line(document: dict[str, Any]) -> str:
    actions = document["actions"]
    if not actions and not document["summary"]["drift"]:
        return "No drift. The installs match their sources and ledgers." + _warnings_note(document)
    counts = Counter(a["type"] for a in actions if a["recommended"])
    detail = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    alternatives = sum(1 for a in actions if not a["recommended"])
    text = (f"Plan: {plural(len(actions), 'action')} ({detail}"
            + (f"; {plural(alternatives, 'alternative')}" if alternatives else "") + ")")
    approved = sum(1 for a in actions if a["approved"])
    if approved:
        text += f", {approved} approved"
    return text + f"; {plural(document['summary']['drift'], 'drift item')}." + _warnings_note(document)


def fully_approved(document: dict[str, Any]) -> bool:
    """Every group has its approved action: nothing is left to review."""
    groups = {a["group"] for a in document["actions"]}
    return bool(groups) and groups == {a["group"] for a in document["actions"] if a["approved"]}


def targets_label(action: dict[str, Any]) -> str:
    details = action.get("details", {})
    if "config" in details:
        return f"{details['config']}: {plural(len(action['targets']), 'entry', 'entries')}"
    if len(action["targets"]) > 1 and action["type"] == "upgrade":
        return plural(len(action["targets"]), "path")
    return ", ".join(action["targets"])


def _action_line(action: dict[str, Any], id_width: int) -> str:
    marker = "*" if action["recommended"] else " "
    check = "[x]" if action["approved"] else "[ ]"
    target = targets_label(action)
    if action.get("details", {}).get("resolution"):  # one drift offering a type twice: say which way this is
        target = f"{action['details']['resolution']}: {target}"
    by = action.get("approved_by") if action["approved"] else None
    if isinstance(by, dict):  # approved by a policy rule (approve --policy): which one, so a reviewer can see why
        target += f"   (approved by policy rule {by.get('rule')}: {by.get('name')})"
    return f"{check} {action['id']:<{id_width}} {marker}{action['type']:<16} {target}"


def reverse_of(action: dict[str, Any], recommended: dict[str, list[dict[str, Any]]]) -> str | None:
    """For an alternative whose diff shows the paths its group's recommended action shows: how to say so
    ("the reverse of ID's" for the opposite type, "the same as ID's" for the same one) instead of repeating it."""
    if action["recommended"] or not action.get("details", {}).get("diff"):
        return None
    for other in recommended.get(action["group"], ()):
        if set(other.get("details", {}).get("diff") or {}) == set(action["details"]["diff"]):
            same = other["type"] == action["type"] and other["details"]["diff"] == action["details"]["diff"]
            return f"the same as {other['id']}'s" if same else f"the reverse of {other['id']}'s"
    return None


def recommended_by_group(actions: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The recommended actions of ``actions`` by group, in order: built once per component for reverse_of (a
    scan of every action per action was quadratic: 7.5 s of `show` with 10,000 drift items)."""
    index: dict[str, list[dict[str, Any]]] = {}
    for other in actions:
        if other["recommended"]:
            index.setdefault(other["group"], []).append(other)
    return index


def diff_summary(diff: dict[str, Any]) -> str | None:
    """One line for a diff that has no text to show."""
    if diff.get("secret"):
        return "changed (secret: never read, never diffed)"
    if diff.get("binary"):
        sides = [f"{name} " + ("absent" if side is None else f"{side['size']} bytes, sha256 {side['sha256'][:12]}")
                 for name, side in (("before", diff["before"]), ("after", diff["after"]))]
        return "binary: " + "; ".join(sides)
    if "note" in diff:
        return diff["note"]
    if "omitted" in diff:
        return "diff omitted: the plan's diff budget is spent; trueup diff shows it"
    if not diff.get("text"):
        return "no content change"
    return None


DIFF_STYLE = {"+": "green", "-": "red", "@": "cyan"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def printable(line: str) -> str:
    """A line of file content safe for a terminal: control characters (an escape sequence in a patched file)
    shown as ``\\xNN``, never sent to the terminal."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", line)


def _diff_lines(path: str, diff: dict[str, Any], indent: str) -> list[tuple[str, str | None]]:
    conflict = " (merge conflicts: the live file is kept, the new version written beside it)" if diff.get("conflict") else ""
    summary = diff_summary(diff)
    if summary is not None:
        return [(f"{indent}{path}: {summary}{conflict}", "dim")]
    out: list[tuple[str, str | None]] = [(f"{indent}diff {path}{conflict}", "bold")]
    for line in diff["text"].splitlines():
        style = None if line.startswith(("---", "+++")) else DIFF_STYLE.get(line[:1])
        out.append((indent + printable(line), style or ("bold" if line.startswith(("---", "+++")) else None)))
    if diff.get("truncated"):
        out.append((f"{indent}… diff truncated (200 lines / 16 KB a file); trueup diff shows it whole", "dim"))
    return out


def _action_body(action: dict[str, Any], recommended: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str | None]]:
    """Every path the action touches, then what it changes in each."""
    lines: list[tuple[str, str | None]] = []
    details = action.get("details", {})
    pad = "        "
    if "config" in details:
        for change in details["changes"]:
            symbol = {"add": "+", "remove": "-"}.get(change["op"], "~")
            lines.append((f"{pad}{symbol} {details['config']} {change['entry']} ({change['op']})", "dim"))
            for line in change.get("diff", []):
                lines.append((f"{pad}    {line}", DIFF_STYLE.get(line[:1], "yellow")))
    elif action["type"] == "upgrade":
        ops = details["files"]
        for path in sorted(ops):
            op = ops[path]
            moved = f" from {op['from']}" if "from" in op else f" to {op['to']}" if "to" in op else ""
            lines.append((f"{pad}{OP_SYMBOLS[op['op']]} {path} ({op['op']}{moved})", "dim"))
    elif action["type"] == "import" and "accept" in details:
        lines.append((f"{pad}{action['reason']}", "dim"))
        for path, kind in sorted(details["accept"].items()):  # what import records as accepted
            lines.append((f"{pad}~ {path} ({kind})", "dim"))
    elif len(action["targets"]) > 1:
        for path in action["targets"]:
            lines.append((f"{pad}{path}", "dim"))
    diffs = details.get("diff") or {}
    reverse = reverse_of(action, recommended)
    if reverse is not None:
        lines.append((f"{pad}diff: {reverse}", "dim"))
    else:
        for path in sorted(diffs):
            lines += _diff_lines(path, diffs[path], pad)
    return lines


def history_warnings(document: dict[str, Any], component: str) -> list[dict[str, Any]]:
    """What history (meta.history, written by the plan's run) warns about one component."""
    meta = document.get("meta")
    history = meta.get("history") if isinstance(meta, dict) else None  # outside plan_hash: anything may be there
    warnings = history.get("warnings") if isinstance(history, dict) else None
    return [w for w in warnings if isinstance(w, dict) and w.get("component") == component] if isinstance(warnings, list) else []


def accepted_paths(comp: dict[str, Any]) -> list[str]:
    """The accepted local changes a component's facts list (free-form in the schema: an edited plan may hold anything)."""
    facts = comp.get("facts")
    accepted = facts.get("accepted") if isinstance(facts, dict) else None
    return [str(path) for path in accepted] if isinstance(accepted, list) else []


def provenance_line(comp: dict[str, Any]) -> str | None:
    """The component's provenance verdict as plan found it (trueup/provenance), when it checked one."""
    facts = comp.get("facts") if isinstance(comp.get("facts"), dict) else {}
    found, runtime = facts.get("provenance"), facts.get("runtime")
    image = runtime.get("image_provenance") if isinstance(runtime, dict) else None
    parts = []
    if isinstance(found, dict) and found.get("verdict"):
        signed = f", signed by {found['signer']} with {found.get('fingerprint')}" if found.get("signer") else ""
        parts.append(f"{found['verdict']} ({found.get('ref')}{signed})")
    if isinstance(image, dict):  # a Docker image declared by digest: its provenance is that digest
        parts.append(f"image pinned by digest {image.get('pinned')}: " + ("running it" if image.get("running") else "NOT running it"))
    return "; ".join(parts) or None


def human(document: dict[str, Any], plan_file: str | None = None) -> list[tuple[str, str | None]]:
    """Lines of (text, rich style); the CLI decides whether styles become colour."""
    lines: list[tuple[str, str | None]] = []
    actions = by_component(document)
    id_width = max((len(a["id"]) for a in document["actions"]), default=12)
    for comp in document["components"]:
        status = comp["status"]
        lines.append((f"# {comp['name']}: {status}" + (f" ({comp['unobserved']})" if comp.get("unobserved") else ""),
                      f"bold {STATUS_STYLE.get(status, '')}".strip()))
        for warning in comp.get("warnings", []):
            lines.append((f"  warning: {warning['message']}", "yellow"))
        proven = provenance_line(comp)
        if proven:
            lines.append((f"  provenance: {proven}", "dim"))
        for warning in history_warnings(document, comp["name"]):  # the past (meta.history), not drift
            try:
                lines.append((f"  history: {warning.get('path') or '(component)'}: {warning.get('kind')}: "
                          f"{warning.get('message')}", "yellow"))
            except DAMAGED as exc:
                lines.append((f"  history: {damaged('this warning', exc)}", "yellow"))
        accepted = accepted_paths(comp)
        rows = ([(SYMBOLS.get(i["kind"], "~"), i["class"], i["path"] or "(component)", describe_safely(i), i) for i in comp["drift"]]
                + [("i", i["class"], i["path"] or "(component)", describe_safely(i), None) for i in comp["info"]]
                + [("=", "accepted", path, "local change accepted: part of what runs", None) for path in accepted])
        rows = [(symbol, str(cls), str(where), text, item) for symbol, cls, where, text, item in rows]  # edited facts
        width = max((len(r[2]) for r in rows), default=0)
        cls_width = max((len(r[1]) for r in rows), default=0)
        for symbol, cls, where, text, item in rows:
            style = ({"+": "green", "-": "red", "~": "yellow", "!": "magenta"}.get(symbol) if item is not None else "dim")
            lines.append((f"  {symbol} {cls:<{cls_width}} {where:<{width}}  {text}".rstrip(), style))
        comp_actions = actions.get(comp["name"], [])
        recommended = recommended_by_group(comp_actions)
        for action in comp_actions:
            lines.append(("    " + _action_line(action, id_width), None if action["recommended"] else "dim"))
            try:
                lines += _action_body(action, recommended)
            except DAMAGED as exc:
                lines.append((f"        {damaged('what this action changes', exc)}", "yellow"))
            if action["gated"]:
                lines.append((f"        gated by: {', '.join(action['gated'])}", "magenta"))
        lines.append(("", None))
    lines.append((summary_line(document), "bold"))
    if document["actions"]:
        name = plan_file or "PLAN"
        if not fully_approved(document):
            lines.append((f"Review, then: trueup approve {name} --all   (or IDs; * marks the recommended action)", None))
            lines.append((f"Then:         trueup apply {name}", None))
        else:
            lines.append((f"Every group has an approved action. Then: trueup apply {name}", None))
    return lines
