"""Bad input gets one clear line: file, line, field, what is wrong, how to fix; exit 1; no traceback."""

from __future__ import annotations

import pytest

GOOD = """\
version: 1
state_dir: .trueup-state
components:
  - name: recruit
    source: {repo: src/recruit, ref: v0.2.9}
    install:
      path: installed/recruit
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("      path: installed/recruit", "      path: installed/recruit\n      ignor: [x]"),
         "trueup.yaml:8: components[0].install.ignor: is not a known field (hint: remove it or use one of: backups, generated, ignore, modes, path, secrets)"),
        (GOOD.replace("version: 1", "version: 2"), "trueup.yaml:1: version: must be 1, not 2 (hint: set it to 1)"),
        (GOOD.replace("ref: v0.2.9}", "ref: v0.2.9, x: 1}"), "trueup.yaml:5: components[0].source.x: is not a known field"),
        (GOOD.replace("    source: {repo: src/recruit, ref: v0.2.9}\n", ""), "trueup.yaml:4: components[0].source: is required (hint: add source:)"),
        (GOOD.replace("path: installed/recruit", "path: [a]"), "trueup.yaml:7: components[0].install.path: must be string, not list"),
        (GOOD + "      generated:\n        - {path: ../../etc/x, template: t, command: c}\n",
         "trueup.yaml:9: components[0].install.generated[0].path: '../../etc/x' is not a path inside the install directory"),
        (GOOD.replace("name: recruit", "name: 'bad name'"), "trueup.yaml:4: components[0].name: 'bad name' is not a valid name"),
        (GOOD.replace("components:", "components: ["), "trueup.yaml:4: not valid YAML"),
        (GOOD + GOOD.split("components:\n")[1], "trueup.yaml:8: name: component 'recruit' is already defined at trueup.yaml:4"),
    ],
)
def test_manifest_errors_are_one_clear_line(project, text, expected):
    (project.root / "trueup.yaml").write_text(text)
    code, out, err = project.run("plan")
    assert code == 1
    assert expected in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_manifest(project):
    code, out, err = project.run("plan")
    assert code == 1 and "trueup.yaml: not found" in err and "--workspace" in err


def test_include_splits_components(project):
    from tests.conftest import V1

    project.source({"v1": V1})
    (project.root / "components").mkdir()
    (project.root / "trueup.yaml").write_text("version: 1\nstate_dir: .st\ninclude: ['components/*.yaml']\n")
    (project.root / "components" / "app.yaml").write_text(
        "components:\n  - name: app\n    source: {repo: src/app, ref: v1}\n    install: {path: installed/app}\n")
    doc = project.plan()
    assert [c["name"] for c in doc["components"]] == ["app"]
    (project.root / "components" / "bad.yaml").write_text("- name: other\n  source: {repo: x}\n  install: {path: y}\n")
    code, out, err = project.run("plan")
    assert code == 1 and "bad.yaml:2: [0].source.ref: is required" in err


def test_workspace_from_environment(project, monkeypatch, tmp_path):
    from tests.conftest import V1
    from trueup.cli import main

    project.source({"v1": V1})
    project.manifest(ref="v1")
    monkeypatch.setenv("TRUEUP_WORKSPACE", str(project.root))
    monkeypatch.chdir(tmp_path)
    assert main(["plan", "--json"]) == 0


def test_unknown_component_and_bad_ref(project):
    from tests.conftest import V1

    project.source({"v1": V1})
    project.manifest(ref="v9")
    code, out, err = project.run("plan")
    assert code == 1 and "trueup.yaml:4: ref 'v9' does not resolve to a commit" in err  # names the entry
    assert "(hint: check source.ref" in err and err.count("\n") == 1
    code, out, err = project.run("plan", "nosuch")
    assert code == 1 and "no component named 'nosuch'" in err
