"""The HTML view of a plan (`trueup show PLAN --html -o plan.html`) and of a fleet: one self-contained file.

No network and no CDN: styles and the one small script are inline, so the file opens the same from a CI
artifact, a mail attachment or an air-gapped host. Every text from the plan is escaped (a path may be
`<script>`); the plan's own numbers are embedded as JSON (with `<` escaped) and the script only fills in
the summary from them, so the page says the same thing as the JSON with or without script.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from trueup.planner.render import (DAMAGED, SYMBOLS, by_component, damaged, describe_safely, diff_summary,
                                   history_warnings, summary_line)

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f23}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
pre{background:#f6f8fa;padding:.5rem;overflow:auto}.add{color:#116329}.del{color:#82071e}.hunk{color:#8250df}
.status-clean{color:#116329}.status-drifted,.status-unmanaged,.status-outdated{color:#9a6700}
.approved{font-weight:600;color:#116329}.warn{background:#fff8c5;padding:.25rem .5rem}
.counts span{display:inline-block;margin-right:1.5rem}.meta{color:#57606a}
"""

SCRIPT = """
(function(){
  var data = JSON.parse(document.getElementById('plan-data').textContent);
  var s = data.summary, approved = data.approved;
  var el = document.getElementById('js-summary');
  el.textContent = s.drift + ' drift items, ' + s.actions + ' actions (' + approved + ' approved), ' + s.warnings + ' warnings';
  document.body.setAttribute('data-ready', '1');
})();
"""


def _trend(document: dict[str, Any], component: str) -> list[tuple[str, int]]:
    """(when, drift items) of the component's recent plans, from meta.history.trend; [] if absent or malformed
    (meta is outside the plan hash: anything may be there, and a picture is no reason to fail)."""
    history = document.get("meta", {}).get("history") if isinstance(document.get("meta"), dict) else None
    series = history.get("trend", {}).get(component) if isinstance(history, dict) and isinstance(
        history.get("trend"), dict) else None
    if not isinstance(series, list):
        return []
    return [(str(p.get("at", "")), p["drift"]) for p in series
            if isinstance(p, dict) and type(p.get("drift")) is int and p["drift"] >= 0]


def _sparkline(points: list[tuple[str, int]], width: int = 160, height: int = 28) -> str:
    """An inline SVG polyline of drift items per plan (no script, no network); each point titled with its run."""
    if len(points) < 2:
        return ""
    top = max(count for _, count in points) or 1
    step = width / (len(points) - 1)
    xy = [(round(i * step, 1), round(height - 2 - (height - 4) * count / top, 1)) for i, (_, count) in enumerate(points)]
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="1.8"><title>{escape(at)}: {count} drift items</title></circle>'
                   for (x, y), (at, count) in zip(xy, points))
    line = " ".join(f"{x},{y}" for x, y in xy)
    return (f'<p class="trend">drift items over the last {len(points)} plans: '
            f'<svg class="sparkline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="drift items per plan: {" ".join(str(c) for _, c in points)}">'
            f'<polyline fill="none" stroke="#9a6700" stroke-width="1.5" points="{line}"/>{dots}</svg> '
            f'{points[0][1]} → {points[-1][1]}</p>')


def _diff_html(text: str) -> str:
    out = []
    for line in text.splitlines():
        cls = ("add" if line.startswith("+") and not line.startswith("+++") else
               "del" if line.startswith("-") and not line.startswith("---") else
               "hunk" if line.startswith("@@") else "")
        out.append(f'<span class="{cls}">{escape(line)}</span>' if cls else escape(line))
    return "\n".join(out)


def _diffs(action: dict[str, Any]) -> list[str]:
    out = []
    for path, diff in sorted((action.get("details", {}).get("diff") or {}).items()):
        summary = diff_summary(diff)
        if summary is not None:
            out.append(f"<p><code>{escape(path)}</code>: {escape(summary)}</p>")
        else:
            more = " (truncated: trueup diff shows it whole)" if diff.get("truncated") else ""
            out.append(f"<details><summary>diff <code>{escape(path)}</code>{escape(more)}</summary>"
                       f"<pre>{_diff_html(diff.get('text', ''))}</pre></details>")
    return out


def _targets(action: dict[str, Any]) -> str:
    targets = action.get("targets", [])
    items = "".join(f"<li><code>{escape(t)}</code></li>" for t in targets)
    if len(targets) <= 3:
        return f"<ul>{items}</ul>" if targets else ""
    return f"<details><summary>{len(targets)} paths</summary><ul>{items}</ul></details>"


def _embedded(data: dict[str, Any]) -> str:
    # JSON inside <script>: '<' escaped so no text in the plan can close the element.
    return json.dumps(data, sort_keys=True).replace("<", "\\u003c")


def _page(title: str, body: list[str], data: dict[str, Any]) -> str:
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        *body,
        f'<script type="application/json" id="plan-data">{_embedded(data)}</script>',
        f"<script>{SCRIPT}</script>", "</body></html>", ""])


def plan_html(document: dict[str, Any]) -> str:
    summary = document.get("summary", {})
    approved = sum(1 for a in document.get("actions", []) if a.get("approved"))
    meta = document.get("meta", {})
    body = [f"<h1>trueup plan <code>{escape(str(document.get('plan_hash', ''))[:12])}</code></h1>",
            f'<p class="meta">{escape(str(meta.get("host", "")))} · {escape(str(meta.get("created_at", "")))} · '
            f'trueup {escape(str(meta.get("trueup_version", "")))}</p>',
            f'<p class="counts" id="js-summary">{escape(summary_line(document))}</p>',
            "<table><tr><th>component</th><th>status</th><th>drift</th><th>warnings</th><th>actions</th></tr>"]
    actions = by_component(document)
    for comp in document.get("components", []):
        body.append(f"<tr><td>{escape(comp['name'])}</td><td class=\"status-{escape(comp['status'])}\">"
                    f"{escape(comp['status'])}</td><td>{len(comp.get('drift', []))}</td>"
                    f"<td>{len(comp.get('warnings', []))}</td><td>{len(actions.get(comp['name'], []))}</td></tr>")
    body.append("</table>")
    for comp in document.get("components", []):
        comp_actions = actions.get(comp["name"], [])
        body.append(f"<h2>{escape(comp['name'])} — {escape(comp['status'])}</h2>")
        body.append(_sparkline(_trend(document, comp["name"])))
        for warning in comp.get("warnings", []):
            body.append(f'<p class="warn">warning ({escape(warning["kind"])}): {escape(warning["message"])}</p>')
        for warning in history_warnings(document, comp["name"]):  # the past (meta.history), not drift
            body.append(f'<p class="warn">history: <code>{escape(str(warning.get("path") or "(component)"))}</code>: '
                        f'{escape(str(warning.get("kind")))}: {escape(str(warning.get("message")))}</p>')
        accepted = comp.get("facts", {}).get("accepted") or []
        if accepted:
            body.append(f"<details><summary>{len(accepted)} accepted local changes (part of what runs)</summary><ul>"
                        + "".join(f"<li><code>{escape(p)}</code></li>" for p in accepted) + "</ul></details>")
        by_class: dict[str, list[dict[str, Any]]] = {}
        for item in comp.get("drift", []):
            by_class.setdefault(item["class"], []).append(item)
        for cls, items in sorted(by_class.items()):
            body.append(f"<h3>{escape(cls)} ({len(items)})</h3><table><tr><th></th><th>kind</th><th>path</th><th>what</th></tr>")
            for item in items:
                body.append(f"<tr><td>{escape(SYMBOLS.get(item['kind'], '~'))}</td><td>{escape(item['kind'])}</td>"
                            f"<td><code>{escape(item.get('path') or '-')}</code></td>"
                            f"<td>{escape(describe_safely(item))}</td></tr>")
            body.append("</table>")
        if comp_actions:
            body.append("<h3>actions</h3><table><tr><th>approved</th><th>id</th><th>action</th><th>targets</th>"
                        "<th>recommended</th><th>gated by</th></tr>")
            for action in comp_actions:
                resolution = action.get("details", {}).get("resolution")
                kind = action["type"] + (f" ({resolution})" if resolution else "")
                mark = '<span class="approved">✔ approved</span>' if action.get("approved") else "—"
                body.append(f"<tr><td>{mark}</td><td><code>{escape(action['id'])}</code></td><td>{escape(kind)}"
                            f"<br><small>{escape(action.get('reason', ''))}</small></td><td>{_targets(action)}</td>"
                            f"<td>{'yes' if action.get('recommended') else 'alternative'}</td>"
                            f"<td>{escape(', '.join(action.get('gated', [])))}</td></tr>")
            body.append("</table>")
            for action in comp_actions:
                try:
                    body += _diffs(action)
                except DAMAGED as exc:
                    body.append(f"<p>{escape(action['id'])}: {escape(damaged('its diffs', exc))}</p>")
    data = {"summary": {k: summary.get(k, 0) for k in ("drift", "actions", "warnings")}, "approved": approved,
            "plan_hash": document.get("plan_hash")}
    return _page(f"trueup plan {str(document.get('plan_hash', ''))[:12]}", body, data)


FLEET_COLUMNS = ("host", "component", "status", "installed", "source", "local patches", "stale processes",
                 "unreviewed backups", "oscillating", "silent rewrites", "warnings")


def _fleet_cell(row: dict[str, Any], column: str) -> str:
    value = row.get(column.replace(" ", "_"))
    if column == "host":  # the label tells apart plan files of one host; a last known plan is marked stale
        value = (row.get("label") or value) + (" (stale)" if row.get("stale") and row.get("plan") else "")
    if column == "warnings":
        return escape("; ".join(value or [])) or "0"
    return escape(str(value if value is not None else "-"))


def fleet_html(rows: list[dict[str, Any]]) -> str:
    body = ["<h1>trueup fleet</h1>", f'<p class="counts" id="js-summary">{len(rows)} rows</p>',
            "<table><tr>" + "".join(f"<th>{escape(c)}</th>" for c in FLEET_COLUMNS) + "</tr>"]
    for row in rows:
        body.append("<tr>" + "".join(f"<td>{_fleet_cell(row, c)}</td>" for c in FLEET_COLUMNS) + "</tr>")
    body.append("</table>")
    data = {"summary": {"drift": sum(r.get("drift", 0) for r in rows), "actions": 0,
                        "warnings": sum(len(r.get("warnings") or []) for r in rows)}, "approved": 0}
    return _page("trueup fleet", body, data)
