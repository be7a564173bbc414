"""Reviewable plans: content diffs in every view, `trueup diff`, exact markdown, values of runtime drift, plurals.

Golden files for a hand-built plan document (tests/golden/review/plan.json: a local patch, a binary file, a
conflicting merge, a secret, a config value change, a runtime version mismatch, a stale process and a
60,000-file untracked directory as one item); regenerate
deliberately with ``pytest --update-golden``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from markdown_it import MarkdownIt

from trueup.config.proposals import value_diff
from trueup.files.content import MAX_LINES, Budget, unified
from trueup.planner import render, render_markdown

GOLDEN = Path(__file__).parent / "golden" / "review"
DOCUMENT = json.loads((GOLDEN / "plan.json").read_text())


def check(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from the golden file; review, then pytest --update-golden"


def md() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def cells(html: str) -> list[str]:
    """The text of every table cell, HTML entities decoded."""
    import html as htmllib

    return [htmllib.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[dh]>(.*?)</t[dh]>", html, re.S)]


def test_golden_text(update_golden):
    check("plan.txt", "\n".join(text for text, _ in render.human(DOCUMENT, "plan.json")) + "\n", update_golden)


def test_golden_markdown_rendered(update_golden):
    source = render_markdown.markdown(DOCUMENT)
    check("plan.md", source, update_golden)
    check("plan.html", md().render(source), update_golden)


def test_golden_json_carries_the_diffs():
    by_id = {a["id"]: a for a in DOCUMENT["actions"]}
    assert by_id["e1b2c3d4e5f6"]["details"]["diff"][".env"] == {"secret": True}
    assert by_id["e1b2c3d4e5f6"]["details"]["diff"]["CLAUDE.md"]["conflict"] is True


def test_markdown_cells_render_as_written():
    entry = "hooks.PostToolUse[Read(~/zylos/**)]"
    document = json.loads(json.dumps(DOCUMENT))
    document["components"][0]["drift"][0]["path"] = "a|b_*`<x>`~~y~~.js"
    html = md().render(render_markdown.markdown(document))
    texts = cells(html)
    assert "a|b_*`<x>`~~y~~.js" in texts
    assert f"{entry}: user-modified (timeout: 10 → 30)" in texts
    assert "~/zylos/.claude/settings.json" in texts
    assert "<!-- trueup plan_hash: " + DOCUMENT["plan_hash"] + " -->" in html
    # the value diff lines render as list items, not nested lists
    assert "<li>timeout: 10 → 30</li>" in html


def test_markdown_stays_under_the_comment_limit_and_lists_every_path():
    document = json.loads(json.dumps(DOCUMENT))
    upgrade = next(a for a in document["actions"] if a["type"] == "upgrade")
    paths = [f"node_modules/pkg{i}/index.js" for i in range(100)]
    upgrade["targets"] = paths
    upgrade["details"]["files"] = {p: {"op": "add"} for p in paths}
    upgrade["details"]["diff"] = {p: {"text": "--- /dev/null\n+++ new/x\n" + "+line\n" * 150, "truncated": False}
                                  for p in paths}
    text = render_markdown.markdown(document)
    assert len(text) < render_markdown.COMMENT_LIMIT
    assert "truncated, see plan.json" in text
    assert text.startswith("<!-- trueup plan_hash: ")
    human = "\n".join(t for t, _ in render.human(document))
    assert all(p in human for p in paths) and "more" not in human
    small = json.loads(json.dumps(DOCUMENT))
    upgrade = next(a for a in small["actions"] if a["type"] == "upgrade")
    upgrade["targets"] = paths
    upgrade["details"]["files"] = {p: {"op": "add"} for p in paths}
    upgrade["details"]["diff"] = {}
    rendered = md().render(render_markdown.markdown(small))
    assert all(p in rendered for p in paths)  # folded in <details>, never dropped


def test_plurals_and_fully_approved():
    document = json.loads(json.dumps(DOCUMENT))
    document["actions"] = [a for a in document["actions"] if a["id"] == "a1b2c3d4e5f6"]
    document["summary"]["drift"] = 1
    assert render.summary_line(document).startswith("Plan: 1 action (1 accept-local); 1 drift item.")
    document["actions"][0]["approved"] = True
    lines = [t for t, _ in render.human(document, "p.json")]
    assert not any("Review, then" in line for line in lines)
    assert "trueup apply p.json" in lines[-1]


def test_no_maybe_plural_in_trueup_output():
    root = Path(__file__).parent.parent / "trueup"
    offenders = [f"{p}:{n}" for p in root.rglob("*.py") for n, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"[a-z]\((?:s|es|ies)\)[ ,.;:]", line)]
    assert not offenders, offenders


def test_unified_is_bounded_and_binary_is_described():
    big = unified(b"", "".join(f"line {i}\n" for i in range(1000)).encode(), "f")
    assert big["truncated"] and big["text"].count("\n") <= MAX_LINES
    binary = unified(b"\0\1", b"\0\2\3", "logo.png")
    assert binary["binary"] and binary["after"]["size"] == 3 and len(binary["after"]["sha256"]) == 64
    budget = Budget(100)
    assert budget.take({"text": "x" * 60}) == {"text": "x" * 60}
    assert "omitted" in budget.take({"text": "y" * 60})


def test_config_value_diff():
    assert value_diff({"command": "node x", "timeout": 10}, {"command": "node x", "timeout": 30}) == ["timeout: 10 → 30"]
    assert value_diff({"a": 1}, {"a": 1, "b": [1]}) == ["+ b: [1]"]
    assert value_diff({"token": "<redacted>", "t": 1}, {"token": "<redacted>", "t": 1}) == ["value: changed (secret)"]


def test_plan_shows_local_patch_diff_and_reverse(installed):
    target = installed.install / "server/index.js"
    target.write_text(target.read_text().replace("const b = 2;", "const b = 20;"))
    document = installed.plan()
    accept = installed.action(document, "accept-local", "server/index.js")
    restore = installed.action(document, "restore-source", "server/index.js")
    assert "-const b = 2;\n+const b = 20;\n" in accept["details"]["diff"]["server/index.js"]["text"]
    assert "-const b = 20;\n+const b = 2;\n" in restore["details"]["diff"]["server/index.js"]["text"]
    assert installed.plan()["plan_hash"] == document["plan_hash"]  # deterministic
    code, out, _ = installed.run("plan")
    assert code == 0 and "+const b = 20;" in out


def test_plan_shows_the_content_an_untracked_file_would_keep(installed):
    (installed.install / "server/notes.txt").write_text("ops notes\nrotate keys monthly\n")
    (installed.install / "cache").mkdir()
    (installed.install / "cache/a.bin").write_bytes(b"x" * 10)
    document = installed.plan()
    diff = installed.action(document, "accept-local", "server/notes.txt")["details"]["diff"]["server/notes.txt"]
    assert diff["text"].startswith("--- /dev/null\n+++ live/server/notes.txt\n")
    assert "+rotate keys monthly\n" in diff["text"]
    assert "diff" not in installed.action(document, "accept-local", "cache/")["details"]  # a directory: summarised


def test_plan_shows_merged_upgrade_and_binary(installed):
    index = installed.install / "server/index.js"
    index.write_text(index.read_text().replace("const a = 1;", "const a = 10;"))
    (installed.install / "server/util.js").write_bytes(b"\0\1\2binary")
    installed.manifest(ref="v2")
    document = installed.plan()
    upgrade = installed.action(document, "upgrade")
    merged = upgrade["details"]["diff"]["server/index.js"]
    assert "-const c = 3;\n+const c = 30;\n" in merged["text"] and "conflict" not in merged
    assert "const a = 10;" in merged["text"]
    binary = installed.action(document, "accept-local", "server/util.js")["details"]["diff"]["server/util.js"]
    assert binary["binary"] and binary["after"]["size"] == 9
    assert not list((installed.root / ".trueup-state" / "cache").glob("trueup-diff-merge-*"))  # scratch removed


def test_diff_command(installed):
    index = installed.install / "server/index.js"
    index.write_text(index.read_text().replace("const b = 2;", "const b = 22;"))
    before = sorted(p.name for p in installed.install.rglob("*"))
    code, out, _ = installed.run("diff", "--workspace", str(installed.root))
    assert code == 0 and "--- installed/server/index.js" in out and "+const b = 22;" in out
    code, out, _ = installed.run("diff", "--workspace", str(installed.root), "app", "CLAUDE.md")
    assert code == 0 and out == ""
    installed.manifest(ref="v2")
    code, out, _ = installed.run("diff", "--workspace", str(installed.root), "--desired")
    assert "--- desired/server/index.js" in out and "+const c = 3;" in out and "--- desired/server/new.js\n+++ /dev/null" in out
    assert sorted(p.name for p in installed.install.rglob("*")) == before


def test_config_upgrade_and_user_change_show_values(project):
    from tests.test_e2e_config import CONFIG, _apply_all, _setup

    _setup(project)
    live = Path.home() / "zylos/.claude/settings.json"
    live.parent.mkdir(parents=True)
    live.write_text("{}\n")
    _apply_all(project)
    data = json.loads(live.read_text())
    data["hooks"]["SessionStart"][0]["hooks"][0]["timeout"] = 30000  # the user's change
    live.write_text(json.dumps(data, indent=2) + "\n")
    project.manifest(ref="v2", extra={"config": CONFIG})
    document = project.plan()
    changes = [c for a in document["actions"] if "config" in a.get("details", {}) for c in a["details"]["changes"]]
    lines = {line for c in changes for line in c["diff"]}
    assert "timeout: 5 → 10" in lines  # the framework's upgrade of the PreToolUse hook
    code, out, _ = project.run("plan")
    assert "timeout: 5 → 10" in out
    assert "TEMPLATE-PLACEHOLDER" not in json.dumps(document)


def test_terminal_escapes_in_file_content_are_shown_not_sent():
    document = json.loads(json.dumps(DOCUMENT))
    document["actions"][0]["details"]["diff"]["server/index.js"]["text"] += "+\x1b[2J wiped\n"
    text = "\n".join(t for t, _ in render.human(document))
    assert "\x1b" not in text and "+\\x1b[2J wiped" in text
