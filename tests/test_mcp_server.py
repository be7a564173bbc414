"""`trueup mcp` through the MCP SDK's own stdio client: read-only tools only, schema-valid answers, clean errors.

The server runs as a real subprocess (`python -m trueup mcp`) speaking JSON-RPC over its stdin/stdout.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from trueup.schemas.validate import first_error

mcp = pytest.importorskip("mcp", reason="the MCP SDK is the optional extra trueup[mcp] (installed by scripts/test)")


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


async def _session_calls(workspace: Path, calls: list[tuple[str, dict]]):
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "trueup", "mcp", "--workspace", str(workspace)],
                                   env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    async with stdio_client(params) as streams, ClientSession(*streams) as session:
        await session.initialize()
        tools = await session.list_tools()
        results = [await session.call_tool(name, args) for name, args in calls]
    return tools, results


def test_tools_are_read_only_and_answer_valid_plans(installed):
    target = installed.install / "server" / "index.js"
    target.write_text(target.read_text().replace("const b = 2;", "const b = 20;"))
    installed.run("plan", "-o", str(installed.root / "saved.json"))
    before = _tree_bytes(installed.root)

    tools, (plan, show, diff, bad, verify, explain) = anyio.run(_session_calls, installed.root, [
        ("plan", {}), ("show", {"plan_file": "saved.json"}), ("diff", {"component": "app"}),
        ("plan", {"components": ["no-such-component"]}), ("verify", {}), ("policy_explain", {"plan_file": "saved.json"})])

    names = {t.name for t in tools.tools}
    assert names == {"plan", "show", "diff", "fleet_summary", "history", "verify", "policy_explain"}  # no apply,
    # approve or init: none exists
    assert all(t.annotations and t.annotations.read_only_hint for t in tools.tools)
    assert all(t.output_schema for t in tools.tools)
    plan_tool = next(t for t in tools.tools if t.name == "plan")
    assert plan_tool.output_schema["$id"].endswith("plan.schema.json")

    assert not plan.is_error and first_error("plan", plan.structured_content) is None
    assert {d["kind"] for c in plan.structured_content["components"] for d in c["drift"]} == {"modified"}
    assert not show.is_error and first_error("plan", show.structured_content) is None
    assert show.structured_content["plan_hash"] == json.loads((installed.root / "saved.json").read_text())["plan_hash"]
    assert "+const b = 20;" in diff.structured_content["diffs"][0]["diff"]["text"]
    assert bad.is_error and "no component named 'no-such-component'" in bad.content[0].text
    assert not verify.is_error, verify.content
    [verdict] = verify.structured_content["components"]  # installed by trueup from a local, unsigned source
    assert verdict["component"] == "app" and verdict["verdict"]
    assert not explain.is_error and explain.structured_content["policy"] is False  # no policy: nothing by rule
    assert {d["effect"] for d in explain.structured_content["decisions"]} == {"require-approval"}

    assert _tree_bytes(installed.root) == before  # nothing written: no cache, memo, lineage, history or plan file


def test_mcp_without_the_sdk_says_how_to_install_it(monkeypatch, capsys):
    from trueup.cli import main

    monkeypatch.setitem(sys.modules, "mcp", None)  # as if the extra were not installed
    assert main(["mcp"]) == 1
    assert "pip install 'trueup[mcp]'" in capsys.readouterr().err
