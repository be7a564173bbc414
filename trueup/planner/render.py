"""Human and markdown views of a plan, rendered from the plan document (never from internal objects)."""

from __future__ import annotations

from collections import Counter
from typing import Any

# Terraform's vocabulary of symbols: + add, ~ change, - remove, ! needs attention, ? not observed.
SYMBOLS = {
    "not-installed": "+", "untracked": "+", "missing": "-", "removed": "-", "outdated": "~", "modified": "~",
    "mode-changed": "~", "type-changed": "~", "stale": "~", "edited": "~", "unrecorded": "~",
    "unacknowledged": "!", "unmanaged": "!", "version-disagreement": "!", "unverified": "!", "commit-missing": "!",
    "template-missing": "!", "merge-conflict": "!",
}
OP_SYMBOLS = {"add": "+", "replace": "~", "merge": "~", "keep-beside": "!", "remove": "-", "keep": "!", "forget": "-"}
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


def _config(item: dict[str, Any]) -> str:
    expected, actual = item["expected"] or {}, item["actual"] or {}
    entry = expected.get("entry") or actual.get("entry") or ""
    if item["kind"] == "unparseable":
        return f"does not parse ({actual.get('error')}); never written"
    if item["kind"] == "collision":
        return f"{entry}: {len(actual.get('values', []))} live entries normalize to one key"
    return f"{entry}: {item['kind']}" + (f" (template {_value(expected.get('value'))}, live {_value(actual.get('value'))})"
                                         if "value" in expected and "value" in actual else "")


def _value(value: Any) -> str:
    import json

    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def describe(item: dict[str, Any]) -> str:
    kind, expected, actual = item["kind"], item["expected"], item["actual"]
    if item["class"] == "config":
        return _config(item)
    if kind == "outdated":
        return f"installed {_short(actual)}, source is {_short(expected)}"
    if kind == "not-installed":
        return f"not installed; source is {_short(expected)}"
    if kind == "unmanaged":
        return "directory exists without a ledger"
    if kind == "version-disagreement":
        return "version files disagree: " + ", ".join(f"{k}={v}" for k, v in sorted(actual.items()))
    if kind in ("modified", "mode-changed", "type-changed"):
        return f"{kind}: was {_short(expected)}, now {_short(actual)}"
    if kind == "merge-conflict":
        to = (expected.get("to_commit") or "")[:12]
        return (f"upgrade{' to ' + to if to else ''} could not merge the local changes: local file kept, new version "
                f"beside it as {expected['beside']}" + (" (local file edited since)" if actual.get("edited") else ""))
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
    if kind in ("secret", "secret-exposed"):
        return f"secret present, mode {actual.get('mode')}" + (" (readable by others)" if kind == "secret-exposed" else "")
    return kind.replace("-", " ")


def _by_component(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {c["name"]: [] for c in document["components"]}
    for action in document["actions"]:
        out.setdefault(action["component"], []).append(action)
    return out


def _warnings_note(document: dict[str, Any]) -> str:
    count = document["summary"].get("warnings", 0)
    return f" {count} warning{'s' if count != 1 else ''} (not drift; --strict fails on them)." if count else ""


def summary_line(document: dict[str, Any]) -> str:
    actions = document["actions"]
    if not actions and not document["summary"]["drift"]:
        return "No drift. The installs match their sources and ledgers." + _warnings_note(document)
    counts = Counter(a["type"] for a in actions if a["recommended"])
    detail = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    alternatives = sum(1 for a in actions if not a["recommended"])
    text = f"Plan: {len(actions)} actions ({detail}" + (f"; {alternatives} alternatives" if alternatives else "") + ")"
    approved = sum(1 for a in actions if a["approved"])
    if approved:
        text += f", {approved} approved"
    return text + f"; {document['summary']['drift']} drift items." + _warnings_note(document)


def _action_line(action: dict[str, Any]) -> str:
    marker = "*" if action["recommended"] else " "
    check = "[x]" if action["approved"] else "[ ]"
    if "config" in action.get("details", {}):
        target = f"{action['details']['config']}: {len(action['targets'])} entr{'y' if len(action['targets']) == 1 else 'ies'}"
    elif action["type"] == "upgrade":
        target = f"{len(action['targets'])} paths"
    else:
        target = ", ".join(action["targets"])
    if action.get("details", {}).get("resolution"):  # one drift offering a type twice: say which way this is
        target = f"{action['details']['resolution']}: {target}"
    return f"{check} {action['id']} {marker}{action['type']:<16} {target}"


def human(document: dict[str, Any], plan_file: str | None = None) -> list[tuple[str, str | None]]:
    """Lines of (text, rich style); the CLI decides whether styles become colour."""
    lines: list[tuple[str, str | None]] = []
    actions = _by_component(document)
    for comp in document["components"]:
        status = comp["status"]
        lines.append((f"# {comp['name']}: {status}" + (f" ({comp['unobserved']})" if comp.get("unobserved") else ""),
                      f"bold {STATUS_STYLE.get(status, '')}".strip()))
        for warning in comp.get("warnings", []):
            lines.append((f"  warning: {warning['message']}", "yellow"))
        for item in comp["drift"]:
            where = item["path"] or "(component)"
            lines.append((f"  {SYMBOLS.get(item['kind'], '~')} {item['class']:<11} {where}  {describe(item)}",
                          {"+": "green", "-": "red", "~": "yellow", "!": "magenta"}.get(SYMBOLS.get(item["kind"], "~"))))
        for item in comp["info"]:
            lines.append((f"  i {item['class']:<11} {item['path'] or '(component)'}  {describe(item)}", "dim"))
        for action in actions.get(comp["name"], []):
            lines.append(("    " + _action_line(action), None if action["recommended"] else "dim"))
            if "config" in action.get("details", {}):
                for change in action["details"]["changes"][:20]:
                    symbol = {"add": "+", "remove": "-"}.get(change["op"], "~")
                    lines.append((f"        {symbol} {action['details']['config']} {change['entry']} ({change['op']})", "dim"))
            elif action["type"] == "upgrade":
                ops = action["details"]["files"]
                for path in sorted(ops)[:20]:
                    lines.append((f"        {OP_SYMBOLS[ops[path]['op']]} {path} ({ops[path]['op']})", "dim"))
                if len(ops) > 20:
                    lines.append((f"        … and {len(ops) - 20} more", "dim"))
            if action["gated"]:
                lines.append((f"        gated by: {', '.join(action['gated'])}", "magenta"))
        lines.append(("", None))
    lines.append((summary_line(document), "bold"))
    if document["actions"]:
        name = plan_file or "PLAN"
        lines.append((f"Review, then: trueup approve {name} --all   (or IDs; * marks the recommended action)", None))
        lines.append((f"Then:         trueup apply {name}", None))
    return lines


def markdown(document: dict[str, Any]) -> str:
    out = ["## trueup plan", ""]
    out.append("| component | status | drift | warnings | actions |")
    out.append("|---|---|---|---|---|")
    actions = _by_component(document)
    for comp in document["components"]:
        out.append(f"| `{comp['name']}` | {comp['status']} | {len(comp['drift'])} | {len(comp.get('warnings', []))} | "
                   f"{len(actions.get(comp['name'], []))} |")
    for comp in document["components"]:
        if not comp["drift"] and not actions.get(comp["name"]) and not comp.get("warnings"):
            continue
        out += ["", f"### `{comp['name']}` — {comp['status']}", ""]
        for warning in comp.get("warnings", []):
            out.append(f"> **warning** ({warning['kind']}): {warning['message']}")
        if comp.get("warnings"):
            out.append("")
        if comp["drift"]:
            out += ["| | class | path | what |", "|---|---|---|---|"]
            for item in comp["drift"]:
                out.append(f"| {SYMBOLS.get(item['kind'], '~')} | {item['class']} | `{item['path'] or '-'}` | "
                           f"{describe(item).replace('|', '/')} |")
        if actions.get(comp["name"]):
            out += ["", "| approve | id | action | targets | recommended | gated by |", "|---|---|---|---|---|---|"]
            for action in actions[comp["name"]]:
                targets = (", ".join(f"`{t}`" for t in action["targets"]) if action["type"] != "upgrade"
                           else f"{len(action['targets'])} paths")
                kind = action["type"] + (f" ({action['details']['resolution']})"
                                         if action.get("details", {}).get("resolution") else "")
                out.append(f"| {'[x]' if action['approved'] else '[ ]'} | `{action['id']}` | {kind} | {targets} | "
                           f"{'yes' if action['recommended'] else 'alternative'} | {', '.join(action['gated']) or '-'} |")
    out += ["", f"**{summary_line(document)}**", ""]
    return "\n".join(out)
