"""Golden files: the rendered plan of the bundled demo (human, markdown) and its JSON document.

Regenerate deliberately with ``pytest --update-golden`` (or TRUEUP_UPDATE_GOLDEN=1), then review the diff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from trueup.cli import main
from trueup.planner import render, render_markdown

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def demo_plan(tmp_path, capsys) -> tuple[Path, dict]:
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 0
    capsys.readouterr()
    root = tmp_path / "demo"
    return root, json.loads((root / "plan.json").read_text())


def check(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text)
    assert path.exists(), f"{path} missing: run pytest --update-golden"
    assert text == path.read_text(), f"{name} differs from the golden file; review, then pytest --update-golden"


def test_human_render(demo_plan, update_golden):
    _, document = demo_plan
    check("demo-plan.txt", "\n".join(text for text, _ in render.human(document, "plan.json")) + "\n", update_golden)


def test_markdown_render(demo_plan, update_golden):
    _, document = demo_plan
    # The plan hash covers the ledger digest, whose install timestamps differ per run: mask it, keep the marker.
    check("demo-plan.md", render_markdown.markdown(document).replace(document["plan_hash"], "<plan_hash>"), update_golden)


def test_plan_document(demo_plan, update_golden):
    root, document = demo_plan
    for key in ("meta", "plan_hash"):
        document.pop(key)
    # The lineage is random per workspace: mask the value, keep the key.
    assert re.fullmatch("[0-9a-f-]{36}", document["lineage"]), document["lineage"]
    document["lineage"] = "<lineage>"
    for action in document["actions"]:
        # The ledger holds install timestamps, so its digest differs per run: mask the value, never the key —
        # an action that lost its ledger precondition must still differ from the golden file.
        preconditions = action["preconditions"]
        if "ledger" in preconditions:
            assert re.fullmatch("[0-9a-f]{64}", preconditions["ledger"]), preconditions["ledger"]
            preconditions["ledger"] = "<ledger digest>"
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert str(root) not in text  # paths inside the workspace are recorded relative to it
    check("demo-plan.json", text, update_golden)


def test_show_matches_render_and_colour_only_on_tty(demo_plan, capsys):
    root, document = demo_plan
    assert main(["show", str(root / "plan.json"), "--workspace", str(root)]) == 0
    out = capsys.readouterr().out
    assert out == "\n".join(text for text, _ in render.human(document, str(root / "plan.json"))) + "\n"
    assert "\x1b[" not in out
