"""``trueup diff``: live content against the installed version (or the source ref), like ``git diff``; writes nothing
it observes (the same write guard as plan)."""

from __future__ import annotations

from typing import Any

from trueup.files import content
from trueup.manifest import Workspace
from trueup.planner.write_guard import planning
from trueup.provider import ObserveContext


def diff_workspace(workspace: Workspace, args: list[str], *, desired: bool = False,
                   use_cache: bool = True, read_only: bool = False) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, path, diff) for every differing path; ``args``: an optional component name, then paths.
    ``read_only``: no stat cache and no memos either (the MCP server's diff)."""
    names = [c.name for c in workspace.components]
    if args and args[0] in names:
        specs, paths = [workspace.component(args[0])], args[1:]
    else:
        specs, paths = list(workspace.components), args
    memo_dir = None if read_only else workspace.state_dir / "cache"
    ctx = ObserveContext(workspace=workspace, cache_dir=memo_dir if use_cache else None, memo_dir=memo_dir, quiet=True)
    out = []
    with planning(workspace.state_dir):
        for spec in specs:
            out += [(spec.name, path, diff) for path, diff in content.component_diff(spec, ctx, paths, desired)]
    return out


def lines(found: list[tuple[str, str, dict[str, Any]]], multi: bool) -> list[tuple[str, str | None]]:
    """Rendered like ``git diff``: one unified diff per path (prefixed with its component when several)."""
    from trueup.planner.render import DIFF_STYLE, diff_summary, printable

    out: list[tuple[str, str | None]] = []
    for component, path, diff in found:
        label = f"{component}: {path}" if multi else path
        summary = diff_summary(diff)
        if summary is not None:
            out.append((f"{label}: {summary}", "bold"))
            continue
        out.append((f"diff {label}", "bold"))
        for line in diff["text"].splitlines():
            out.append((printable(line), "bold" if line.startswith(("---", "+++")) else DIFF_STYLE.get(line[:1])))
    return out
