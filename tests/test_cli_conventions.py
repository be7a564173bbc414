"""CLI conventions (issue 16): --version, -h, schema, workspace discovery like git, validate, doctor, init."""

from __future__ import annotations

import json
import re
import os
from pathlib import Path

import pytest

from tests.conftest import V1, V2
from tests.helpers import build_tree
from trueup.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help_everywhere(capsys):
    from trueup import __version__

    assert run(capsys, "--version") == (0, f"trueup {__version__}\n", "")
    code, out, _ = run(capsys, "version", "--json")
    assert code == 0 and json.loads(out)["version"] == __version__ and json.loads(out)["plan_format"] == 2
    for command in ("plan", "show", "approve", "apply", "diff", "fleet", "init", "validate", "doctor", "schema"):
        code, out, _ = run(capsys, command, "-h")
        assert code == 0 and f"Usage: trueup {command}" in out, command


def test_schema_prints_each_schema_and_refuses_unknown_names(capsys):
    for name in ("workspace", "plan", "ledger", "runtime"):
        code, out, _ = run(capsys, "schema", name)
        assert code == 0 and json.loads(out)["$schema"].startswith("https://json-schema.org/")
    code, _, err = run(capsys, "schema", "../secrets")
    assert code == 1 and "no schema named '../secrets'" in err and err.count("\n") == 1


def test_workspace_is_found_upwards_like_git(installed, capsys, monkeypatch):
    monkeypatch.delenv("TRUEUP_WORKSPACE", raising=False)
    monkeypatch.chdir(installed.install / "server")
    code, out, err = run(capsys, "plan", "--json")
    assert code == 0, err
    assert json.loads(out)["components"][0]["name"] == "app"


def test_a_manifest_above_home_is_never_picked_up(tmp_path, capsys, monkeypatch):
    (tmp_path / "trueup.yaml").write_text("version: 1\ncomponents: []\n")
    home = tmp_path / "home" / "me"
    (home / "work").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TRUEUP_WORKSPACE", raising=False)
    monkeypatch.chdir(home / "work")
    code, _, err = run(capsys, "plan")
    assert code == 1 and "trueup.yaml: not found" in err, err  # not the one above $HOME


def test_validate_lists_every_problem_at_once(tmp_path, capsys):
    (tmp_path / "trueup.yaml").write_text(
        "version: 1\n"
        "components:\n"
        "  - name: a\n"
        "    source: {repo: src/a, ref: v1}\n"
        "    install: {path: installed/a, colour: blue}\n"   # unknown field
        "  - name: b\n"
        "    source: {repo: src/b}\n"                          # ref missing
        "    install: {path: installed/b}\n"
        "  - name: c\n"
        "    source: {repo: src/c, ref: v1}\n"
        "    install: {path: 7}\n")                            # wrong type
    code, out, _ = run(capsys, "validate", "--workspace", str(tmp_path))
    assert code == 1
    assert "trueup.yaml:5: components[0].install.colour: is not a known field" in out
    assert "trueup.yaml:7: components[1].source.ref: is required" in out
    assert "trueup.yaml:11: components[2].install.path: must be string" in out
    assert out.rstrip().endswith(f"3 problems in {tmp_path}.")
    code, out, _ = run(capsys, "validate", "--json", "--workspace", str(tmp_path))
    assert code == 1 and len(json.loads(out)["problems"]) == 3


def test_validate_of_a_good_manifest_and_of_semantic_problems(installed, capsys):
    code, out, _ = run(capsys, "validate", "--workspace", str(installed.root))
    assert code == 0 and out.endswith("trueup.yaml: valid.\n")
    text = (installed.root / "trueup.yaml").read_text()
    twice = text + text[text.index("components:") + len("components:\n"):]  # the same component twice
    (installed.root / "trueup.yaml").write_text(twice)
    code, out, _ = run(capsys, "validate", "--workspace", str(installed.root))
    assert code == 1 and "component 'app' is already defined at trueup.yaml:" in out and "1 problem in" in out


def test_doctor_names_what_a_declared_component_needs(installed, capsys, monkeypatch):
    code, out, _ = run(capsys, "doctor", "--workspace", str(installed.root))
    assert code == 0 and out.startswith("ok   git") and "Everything the declared components need is here." in out
    installed.manifest(ref="v1", extra={"runtime": {"manager": "pm2", "service": "app"}})
    monkeypatch.setenv("TRUEUP_PM2", str(installed.root / "no-such-pm2"))
    code, out, _ = run(capsys, "doctor", "--workspace", str(installed.root))
    assert code == 1
    assert f"FAIL pm2        {installed.root}/no-such-pm2 not found on PATH (needed by app)" in out
    assert out.rstrip().endswith("1 problem found.")
    code, out, _ = run(capsys, "doctor", "--json", "--workspace", str(installed.root))
    assert code == 1 and {c["name"]: c["ok"] for c in json.loads(out)}["pm2"] is False


def test_init_on_an_existing_zylos_style_install_then_a_clean_plan(project, capsys, monkeypatch):
    project.source({"v1": V1, "v2": V2})
    build_tree(project.install, {**V1, ".env": "TOKEN=x\n", "node_modules/dep/index.js": "1\n",
                                 "data/db.json": "{}\n", "logs/today.log": "started\n"})
    monkeypatch.chdir(project.root)
    monkeypatch.delenv("TRUEUP_WORKSPACE", raising=False)
    code, out, err = run(capsys, "init", "installed/app", "--source", "src/app", "--ref", "v1")
    assert code == 0, err
    text = (project.root / "trueup.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=") and '"node_modules/", "data/", "logs/"' in text
    assert 'secrets: [".env"]' in text
    assert run(capsys, "init", "installed/app", "--source", "src/app")[0] == 1  # never over an existing manifest
    assert run(capsys, "validate")[0] == 0
    plan_file = str(project.root / "plan.json")
    assert run(capsys, "plan", "-o", plan_file)[0] == 0
    code, out, err = run(capsys, "apply", plan_file, "--approve-all")
    assert code == 0, out + err
    code, out, err = run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, out + err


def test_no_color_prints_no_escape_codes_even_for_styled_lines(installed, capsys, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")  # NO_COLOR wins: no colour, no bold
    (installed.install / "x.bak").write_text("old\n")
    code, out, _ = run(capsys, "plan", "--workspace", str(installed.root))
    assert "\x1b[" not in out and "x.bak" in out


def test_no_color_flag(installed, capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    (installed.install / "x.bak").write_text("old\n")
    code, out, _ = run(capsys, "plan", "--workspace", str(installed.root))
    assert "\x1b[" in out  # forced colour without the flag: the test can see styles
    monkeypatch.setattr(os, "environ", dict(os.environ))  # the flag sets NO_COLOR for the process: keep it here
    code, out, _ = run(capsys, "--no-color", "plan", "--workspace", str(installed.root))
    assert "\x1b[" not in out and "x.bak" in out


READ_ONLY = {  # command line (PLAN: a saved plan) → whether it needs -w
    "plan": ["plan"], "show": ["show", "PLAN"], "diff": ["diff"], "fleet": ["fleet", "PLAN"],
    "history": ["history"], "log": ["log"], "version": ["version"], "validate": ["validate"], "doctor": ["doctor"],
}


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_table_every_printing_command_has_json_with_the_same_exit_code(installed, capsys, monkeypatch, name):
    monkeypatch.setenv("TRUEUP_WORKSPACE", str(installed.root))
    (installed.install / "server" / "util.js").write_text("patched\n")
    plan_file = str(installed.root / "saved.json")
    assert installed.run("plan", "-o", plan_file)[0] == 0
    argv = [plan_file if a == "PLAN" else a for a in READ_ONLY[name]]
    text_code, text_out, _ = run(capsys, *argv)
    json_code, json_out, _ = run(capsys, *argv, "--json")
    assert json_code == text_code, (text_out, json_out)
    json.loads(json_out)  # one JSON document, nothing else on stdout
    monkeypatch.delenv("NO_COLOR", raising=False)  # conftest sets it for every test
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setattr(os, "environ", dict(os.environ))  # --no-color sets NO_COLOR for the process: keep it here
    _, coloured, _ = run(capsys, "--no-color", *argv)
    assert "\x1b[" not in coloured


def test_approve_apply_demo_and_init_print_json(installed, capsys, monkeypatch, tmp_path):
    (installed.install / "x.bak").write_text("old\n")
    plan_file = str(installed.root / "saved.json")
    assert installed.run("plan", "-o", plan_file)[0] == 0
    code, out, _ = run(capsys, "approve", plan_file, "--all", "--json")
    approved = json.loads(out)
    assert code == 0 and approved["approved"] == len(approved["added"]) == 1
    code, out, _ = run(capsys, "apply", plan_file, "--json", "--workspace", str(installed.root))
    applied = json.loads(out)
    assert code == 0 and [a["type"] for a in applied["applied"]] == [approved["added"][0]["type"]]
    assert applied["remaining"]["drift"] == 0
    code, out, _ = run(capsys, "demo", "--json", "--dir", str(tmp_path / "demo"))
    demo = json.loads(out)
    assert code == 0 and demo["plan"]["summary"]["drift"] > 0 and Path(demo["plan_file"]).is_file()
    (tmp_path / "new").mkdir()
    monkeypatch.chdir(tmp_path / "new")
    code, out, err = run(capsys, "init", str(installed.install), "--source", str(installed.repo), "--json")
    assert code == 0 and json.loads(out)["written"] == str(tmp_path / "new" / "trueup.yaml"), err


def test_quiet_and_verbose(installed, capsys):
    (installed.install / "x.bak").write_text("old\n")
    code, out, err = run(capsys, "plan", "--workspace", str(installed.root))
    assert "(save it with -o plan.json" in out
    code, out, err = run(capsys, "-q", "plan", "--workspace", str(installed.root))
    assert code == 0 and "(save it with -o plan.json" not in out and "x.bak" in out
    code, out, err = run(capsys, "-v", "plan", "--workspace", str(installed.root))
    assert code == 0 and re.search(r"trueup: plan: exit 0 in \d+\.\d\d s", err)


def test_a_command_builds_only_itself_so_new_commands_cost_plan_nothing(installed, capsys, monkeypatch):
    import typer.main

    built: list[str] = []
    real = typer.main.get_command_from_info

    def counting(command_info, **kw):
        built.append(command_info.callback.__name__)
        return real(command_info, **kw)

    monkeypatch.setattr(typer.main, "get_command_from_info", counting)
    assert run(capsys, "plan", "--workspace", str(installed.root))[0] == 0
    assert built == ["plan"]
    built.clear()
    assert run(capsys, "--help")[0] == 0
    assert len(built) > 10 and "doctor" in run(capsys, "--help")[1]  # help still lists every command


def test_shell_completion_completes_commands_and_options():
    """typer's completion, as bash calls it: the whole process, with the words in the environment."""
    import subprocess
    import sys

    def complete(words: str) -> list[str]:
        env = {**os.environ, "_TRUEUP_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - 1)}
        done = subprocess.run([sys.executable, "-m", "trueup"], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert complete("trueup pl") == ["plan"]
    assert complete("trueup ap") == ["approve", "apply"]
    assert "--detailed-exitcode" in complete("trueup plan --de")
    script = subprocess.run([sys.executable, "-m", "trueup", "--show-completion", "bash"], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "SHELL": "/bin/bash"})
    assert script.returncode == 0 and "_trueup_completion" in script.stdout and "complete_bash" in script.stdout
