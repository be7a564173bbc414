"""`trueup mcp`: trueup for agents, over the Model Context Protocol (stdio), read-only by construction.

Agents run these platforms as much as people do; this gives them trueup's answers without a shell. Every tool
only observes and renders: no apply, approve or init tool exists here at all, so no client setting can make
the server change a file. `plan` observes without writing even trueup's own records (no lineage, stat cache,
memos or history: trueup.planner.plan.make_plan(read_only=True)). Each tool is marked ``readOnlyHint`` and
publishes an output schema; `plan` and `show` return documents valid against trueup's plan schema.

The SDK (`mcp`, an optional extra: ``pip install 'trueup[mcp]'``) is imported only by this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

READ_ONLY_TOOLS = ("plan", "show", "diff", "fleet_summary", "history")


def _plan_schema() -> dict[str, Any]:
    from trueup.schemas.validate import SCHEMA_DIR

    return json.loads((SCHEMA_DIR / "plan.schema.json").read_text("utf-8"))


def build_server(workspace_dir: Path | None = None):
    """The MCP server for the workspace at ``workspace_dir`` (found as the CLI finds it when None)."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    from trueup import __version__
    from trueup.manifest import find_workspace, load_workspace

    server = MCPServer(name="trueup", version=__version__,
                       instructions="Read-only views of what this machine really runs: plan (drift and proposed "
                                    "actions), show (a saved plan), diff (live content against the installed "
                                    "version), fleet_summary, history, verify (provenance) and policy_explain. Nothing here changes anything.")
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                open_world_hint=False)

    def workspace():
        return load_workspace(find_workspace(workspace_dir))

    def plan(components: list[str] | None = None) -> dict[str, Any]:
        """Observe the workspace (read-only) and return the plan document: drift per component and the actions
        trueup proposes (never applied here). Optionally only the named components."""
        from trueup.planner.plan import make_plan

        return make_plan(workspace(), components or None, quiet=True, read_only=True)

    def show(plan_file: str) -> dict[str, Any]:
        """Read a saved plan file (path relative to the workspace, or absolute) and return its document."""
        from trueup.planner import document as plans

        ws_root = find_workspace(workspace_dir)
        path = Path(plan_file) if Path(plan_file).is_absolute() else ws_root / plan_file
        return plans.load(path).document

    def diff(component: str | None = None, paths: list[str] | None = None, desired: bool = False) -> dict[str, Any]:
        """Live content against the installed version (desired=true: against the manifest's source ref), as
        unified diffs per path; secrets are never diffed."""
        from trueup.planner.diff import diff_workspace

        args = ([component] if component else []) + list(paths or [])
        found = diff_workspace(workspace(), args, desired=desired, read_only=True)
        return {"diffs": [{"component": c, "path": p, "diff": d} for c, p, d in found]}

    def fleet_summary(plan_files: list[str]) -> dict[str, Any]:
        """One row per host and component from plan documents of many hosts: versions, status, local patches,
        stale processes, unreviewed backups."""
        from trueup.fleet import summarise

        return {"rows": summarise([Path(p) for p in plan_files])}

    def history(component: str | None = None, unit: str | None = None) -> dict[str, Any]:
        """The recorded timeline of a component or one of its units (path, config entry or service)."""
        from trueup.history.views import history_command

        data, _ = history_command(workspace(), component, unit)
        return {"history": data}

    def verify(component: str | None = None) -> dict[str, Any]:
        """Where the installed bytes came from, proven offline: each component's verdict (verified-signed,
        pinned-unsigned, local-unverified, mismatch, ...), signer, moved tags and the files that differ."""
        from trueup.provenance import report

        ws = workspace()
        return report.document(ws, report.verify_workspace(ws, [component] if component else None))

    def policy_explain(plan_file: str, at: str | None = None) -> dict[str, Any]:
        """The workspace policy's decision for every action of a saved plan (auto, require-approval or deny) and
        the rule that decided; at: decide as of this ISO time (windows, soak). Approves nothing."""
        from trueup.planner import document as plans
        from trueup.policy import decide, load_policy, load_state
        from trueup.policy.windows import decision_time

        ws = workspace()
        path = Path(plan_file) if Path(plan_file).is_absolute() else ws.root / plan_file
        document, now = plans.load(path).document, decision_time(at)
        policy = load_policy(ws)
        return {"plan_hash": document["plan_hash"], "at": now.isoformat(), "policy": policy is not None,
                "decisions": [d.to_json() for d in decide(document, policy, now, load_state(ws.state_dir))]}

    for fn in (plan, show, diff, fleet_summary, history, verify, policy_explain):
        server.add_tool(_clean_errors(fn), annotations=read_only, structured_output=True)
    plan_schema = _plan_schema()
    for name in ("plan", "show"):
        # The SDK derives an output schema from the return annotation (any object); publish the real one.
        server._tool_manager.get_tool(name).fn_metadata.output_schema = plan_schema
    return server


def _clean_errors(fn):
    """trueup's one-line errors (a bad argument, a broken manifest) as MCP tool errors the agent can read."""
    import functools

    from mcp.server.mcpserver.exceptions import ToolError

    from trueup.errors import TrueupError

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TrueupError as exc:
            raise ToolError(str(exc)) from None

    return wrapper


def serve(workspace_dir: Path | None = None) -> None:
    build_server(workspace_dir).run("stdio")
