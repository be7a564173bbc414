"""The markdown view of a plan (a pull-request comment), rendered from the plan document.

Exact under CommonMark: table cells escaped, long lists and diffs folded, bounded by GitHub's comment size.
"""

from __future__ import annotations

import re
from typing import Any

from trueup.planner.render import (DAMAGED, SYMBOLS, accepted_paths, by_component, damaged, describe_safely, diff_summary,
                                   plural, recommended_by_group, reverse_of, summary_line, targets_label)


# GitHub refuses a comment over 65,536 characters; the rest of the plan is in plan.json.
COMMENT_LIMIT = 65_536
TRUNCATED = "**… truncated, see plan.json** ({} left out)"
_CELL_ESCAPES = {"\\": "\\\\", "|": "\\|", "*": "\\*", "_": "\\_", "`": "\\`", "<": "&lt;", "&": "&amp;",
                 "~": "\\~", "[": "\\[", "]": "\\]"}


def cell(text: Any) -> str:
    """Text for a markdown table cell or list item that renders exactly as written (CommonMark + GFM tables)."""
    out = "".join(_CELL_ESCAPES.get(ch, ch) for ch in str(text)).replace("\n", " ")
    if out[:1] in ("+", "-", "#", ">", "="):  # would start a list, heading or quote in a list item
        out = "\\" + out
    return out if out.strip() else "-"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fence(text: str) -> str:
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, run + 1)


def _details(summary: str, body: list[str]) -> str:
    return "\n".join(["<details>", f"<summary>{_html(summary)}</summary>", "", *body, "", "</details>"])


def _md_diff(path: str, diff: dict[str, Any], action_id: str) -> str:
    conflict = " (merge conflicts)" if diff.get("conflict") else ""
    summary = diff_summary(diff)
    if summary is not None:
        return f"- {cell(path)}: {cell(summary + conflict)}"
    text = diff["text"] + ("… diff truncated (200 lines / 16 KB a file); trueup diff shows it whole\n"
                           if diff.get("truncated") else "")
    fence = _fence(text)
    return _details(f"diff {path}{conflict} ({action_id})", [f"{fence}diff", text.rstrip("\n"), fence])


def _md_action_blocks(action: dict[str, Any], recommended: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What an action touches (every path, folded when long) and changes: blocks after the actions table."""
    details = action.get("details", {})
    blocks = []
    if "config" in details:
        items = []
        for change in details["changes"]:
            items.append(f"- {cell(change['op'])} {cell(change['entry'])}")
            items += [f"  - {cell(line)}" for line in change.get("diff", [])]
        blocks.append(_details(f"{action['id']}: {details['config']}, {plural(len(details['changes']), 'change')}", items))
    elif action["type"] == "upgrade" or len(action["targets"]) > 3:
        ops = details.get("files", {})
        items = [f"- {ops[p]['op']}: {cell(p)}" if p in ops else f"- {cell(p)}"
                 for p in action["targets"]]
        blocks.append(_details(f"{action['id']}: {plural(len(action['targets']), 'path')}", items))
    reverse = reverse_of(action, recommended)
    diffs = details.get("diff") or {}
    if reverse is None:
        blocks += [_md_diff(path, diffs[path], action["id"]) for path in sorted(diffs)]
    else:
        blocks.append(f"- diff of {action['id']}: {reverse}")
    return blocks


def _md_targets(action: dict[str, Any]) -> str:
    if "config" in action.get("details", {}) or action["type"] == "upgrade" or len(action["targets"]) > 3:
        return cell(targets_label(action)) + " (listed below)"
    return ", ".join(cell(t) for t in action["targets"])


def markdown(document: dict[str, Any]) -> str:
    """A pull-request comment: exact under CommonMark, under GitHub's size limit, marked with the plan hash."""
    head = [f"<!-- trueup plan_hash: {document['plan_hash']} -->", "## trueup plan", "",
            "| component | status | drift | warnings | actions |", "|---|---|---|---|---|"]
    actions = by_component(document)
    for comp in document["components"]:
        head.append(f"| {cell(comp['name'])} | {comp['status']} | {len(comp['drift'])} | "
                    f"{len(comp.get('warnings', []))} | {len(actions.get(comp['name'], []))} |")
    blocks = ["\n".join(head)]
    for comp in document["components"]:
        comp_actions = actions.get(comp["name"], [])
        accepted = accepted_paths(comp)
        if not comp["drift"] and not comp_actions and not comp.get("warnings") and not accepted:
            continue
        section = [f"### {cell(comp['name'])} — {comp['status']}", ""]
        for warning in comp.get("warnings", []):
            section.append(f"> **warning** ({cell(warning['kind'])}): {cell(warning['message'])}")
        if comp.get("warnings"):
            section.append("")
        rows = ([(SYMBOLS.get(i["kind"], "~"), i["class"], i["path"], describe_safely(i)) for i in comp["drift"]]
                + [("=", "accepted", p, "local change accepted: part of what runs") for p in accepted])
        if rows:
            section += ["| | class | path | what |", "|---|---|---|---|"]
            section += [f"| {s} | {c} | {cell(p or '-')} | {cell(w)} |" for s, c, p, w in rows]
        if comp_actions:
            section += ["", "| approve | id | action | targets | recommended | gated by |", "|---|---|---|---|---|---|"]
            for action in comp_actions:
                resolution = action.get("details", {}).get("resolution")
                kind = action["type"] + (f" ({cell(resolution)})" if resolution else "")
                section.append(f"| {'[x]' if action['approved'] else '[ ]'} | {action['id']} | {kind} | "
                               f"{_md_targets(action)} | {'yes' if action['recommended'] else 'alternative'} | "
                               f"{cell(', '.join(action['gated']))} |")
        blocks.append("\n".join(section))
        recommended = recommended_by_group(comp_actions)
        for action in comp_actions:
            try:
                blocks += _md_action_blocks(action, recommended)
            except DAMAGED as exc:
                blocks.append(f"- {action['id']}: {cell(damaged('what this action changes', exc))}")
    tail = f"**{cell(summary_line(document))}**"
    out: list[str] = []
    size = len(tail) + 200  # room for the truncation marker
    for i, block in enumerate(blocks):
        if size + len(block) + 2 > COMMENT_LIMIT:
            out.append(TRUNCATED.format(plural(len(blocks) - i, "section")))
            break
        out.append(block)
        size += len(block) + 2
    return "\n\n".join([*out, tail]) + "\n"
