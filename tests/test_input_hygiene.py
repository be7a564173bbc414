"""Every input has a clean error: one line under 300 characters naming the file, the field and the problem.

Regressions for issue 17's "internal errors" and "not one short line" findings, one input each: values are
shortened and escaped, limits refuse runaway files before they cost time or memory, and a ledger path that
leaves its install is a damaged entry, never observed.
"""

from __future__ import annotations

import hashlib
import json
import time

import pytest

GOOD = """\
version: 1
state_dir: .trueup-state
components:
  - name: app
    source: {repo: src/app, ref: v1}
    install:
      path: installed/app
      ignore: ["data/**"]
"""


def one_clean_line(result, code: int = 1) -> str:
    got, _, err = result
    assert got == code, err
    assert "internal error" not in err and "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("trueup: error: "), err
    assert len(err.rstrip("\n")) < 300, len(err)
    return err


def manifest_error(project, text: str) -> str:
    (project.root / "trueup.yaml").write_text(text, "utf-8", "surrogatepass")
    return one_clean_line(project.run("plan"))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("path: installed/app", 'path: "installed/a\\0pp"', "trueup.yaml:7: components[0].install.path: 'installed/a\\x00pp' contains a NUL byte"),
        ('ignore: ["data/**"]', 'ignore: ["da\\0ta"]', "trueup.yaml:8: components[0].install.ignore[0]: 'da\\x00ta' contains a NUL byte"),
        ('ignore: ["data/**"]', "ignore: ['\\']", "trueup.yaml:8: components[0].install.ignore[0]: '\\' is not a gitignore pattern"),
        ("ref: v1", "ref: " + "a" * 200_000, "trueup.yaml:5: components[0].source.ref: is 200000 characters long, over the limit of 4096"),
        ("ref: v1", 'ref: "v\\udc801"', "trueup.yaml:5: components[0].source.ref: 'v\\udc801' contains a lone surrogate"),
        ("path: installed/app", "path: installed/" + "a" * 300,
         "trueup.yaml:7: components[0].install.path: has a path component of 300 bytes, over the file-name limit of 255"),
        ("version: 1", "version: 1\ninclude: ['/abs/*.yml']", "trueup.yaml:2: include[0]: '/abs/*.yml' is not a usable pattern"),
        ("version: 1", "version: 1\nx: " + "[" * 1000 + "]" * 1000, "trueup.yaml: nested too deeply"),
        ("version: 1", "version: 1\nx: " + "[" * 100 + "]" * 100, "trueup.yaml:2: x[0][0][0]"),
        ("version: 1", "version: 1\n1: x\nz: 2", "trueup.yaml:2: 1: is not a known field"),
        ("path: installed/app", "path: installed/app\n      modes: " + "y" * 3000, "trueup.yaml:8: components[0].install.modes: 'yyy"),
    ],
)
def test_manifest_values_get_one_clean_line(project, old, new, expected):
    err = manifest_error(project, GOOD.replace(old, new))
    assert expected in err, err


def test_install_path_naming_a_file(project):
    (project.root / "afile").write_text("x")
    err = manifest_error(project, GOOD.replace("path: installed/app", "path: afile"))
    assert "trueup.yaml:7: components[0].install.path:" in err and "is a file, not a directory" in err, err
    err = manifest_error(project, GOOD.replace("path: installed/app", "path: afile/below"))
    assert "components[0].install.path: 'afile/below' is below 'afile', a file, not a directory" in err, err


def test_a_newline_in_a_value_stays_on_the_line(project):
    (project.root / "a\nb").write_text("x")
    err = manifest_error(project, GOOD.replace("path: installed/app", 'path: "a\\nb"'))
    assert "a\\nb" in err, err


def test_billion_laughs_is_refused_in_under_a_second(project):
    lines = ["version: 1", "state_dir: .s", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    text = "\n".join(lines) + "\ncomponents: []\n"
    assert len(text) < 1024
    started = time.monotonic()
    err = manifest_error(project, text)
    # The message proves the count stopped it before expansion (9**9 values would take minutes and gigabytes);
    # the bound is loose on purpose, tests never fail on a busy machine's speed (measured: 0.45 s with start-up).
    assert time.monotonic() - started < 30
    assert "more than 200000 values (aliases count once per use)" in err, err


def test_secret_keyed_list_is_refused_at_load_with_its_line(project):
    text = GOOD + """\
    config:
      - path: conf/settings.json
        format: json
        template: settings.json
        lists:
          hooks: {key: [matcher]}
          tokens: {key: "."}
"""
    err = manifest_error(project, text)  # no source exists: refused before anything is observed
    assert "trueup.yaml:15: components[0].config[0].lists.tokens: list 'tokens' is keyed by a secret-like field" in err, err


def test_long_values_are_shortened_and_controls_escaped():
    from trueup.errors import one_line

    line = one_line("field: " + "x" * 100_000 + "\n\0\x1b", "fix it", 284)
    assert len(line) <= 284 and "\n" not in line and "\0" not in line and "\x1b" not in line
    assert line.startswith("field: xxx") and line.endswith("(hint: fix it)") and "characters)" in line


# Ledgers


def _write_ledger(project, ledger) -> None:
    (project.install / ".trueup" / "install.json").write_text(ledger if isinstance(ledger, str) else json.dumps(ledger))


def test_ledger_key_outside_the_install_is_a_damaged_entry_never_observed(installed):
    secret = installed.root / "secret.txt"
    secret.write_text("the operator's secret\n")
    for key in ("../../secret.txt", str(secret)):
        ledger = installed.ledger()
        ledger["files"][key] = {"type": "file", "mode": "0644", "sha256": "0" * 64}
        _write_ledger(installed, ledger)
        code, out, err = installed.run("plan", "--json")
        assert hashlib.sha256(secret.read_bytes()).hexdigest() not in out + err
        err = one_clean_line((code, out, err))
        assert "install.json: files: entry" in err and "is not a path inside the install" in err, err


def test_a_poisoned_validation_memo_does_not_let_a_path_out(installed):
    """The memo says "these bytes were valid": a hint, never a reason to read a path outside the install."""
    from trueup.state import ledger as ledgers
    from trueup.state.validated import remember_valid

    (installed.root / "secret.txt").write_text("the operator's secret\n")
    ledger = installed.ledger()
    ledger["files"]["../../secret.txt"] = {"type": "file", "mode": "0644", "sha256": "0" * 64}
    _write_ledger(installed, ledger)
    raw = (installed.install / ".trueup" / "install.json").read_bytes()
    remember_valid(installed.root / ".trueup-state" / "cache", "ledger", ledgers._schema_version(), raw)
    code, out, err = installed.run("plan", "--json")
    assert hashlib.sha256(b"the operator's secret\n").hexdigest() not in out
    err = one_clean_line((code, out, err))
    assert "files: entry '../../secret.txt' is not a path inside the install" in err, err


def test_a_forged_ledger_index_with_a_path_out_is_not_used(tmp_path):
    from trueup.state import ledger as ledgers
    from trueup.state import ledger_index

    document = ledgers.new(name="app", version="1", repo="r", ref="v1", commit="a" * 40)
    document["files"] = {"ok.txt": {"type": "file", "mode": "0644", "sha256": "0" * 64},
                         "../secret.txt": {"type": "file", "mode": "0644", "sha256": "1" * 64}}
    key = bytes(32)
    ledger_index.save(tmp_path / "memo", tmp_path / "install", document, key)  # as a forger would
    assert ledger_index.load(tmp_path / "memo", tmp_path / "install", key) is None
    del document["files"]["../secret.txt"]
    ledger_index.save(tmp_path / "memo", tmp_path / "install", document, key)
    assert list(ledger_index.load(tmp_path / "memo", tmp_path / "install", key)["files"]) == ["ok.txt"]


@pytest.mark.parametrize("section", ["accepted", "generated"])
def test_ledger_accepted_and_generated_keys_outside_the_install_are_damaged(installed, section):
    ledger = installed.ledger()
    entry = ({"fact": {"type": "file", "mode": "0644", "sha256": "0" * 64}, "accepted_at": "t"} if section == "accepted"
             else {"template": "t", "command": "c", "template_sha256": "0" * 64, "output_sha256": "0" * 64})
    ledger[section]["/etc/passwd"] = entry
    _write_ledger(installed, ledger)
    err = one_clean_line(installed.run("plan"))
    assert f"install.json: {section}: entry '/etc/passwd' is not a path inside the install" in err, err


def test_ledger_backup_path_outside_the_install_is_damaged(installed):
    ledger = installed.ledger()
    ledger["backups"] = [{"path": "../x.bak", "original": None, "reason": "r", "acknowledged": False}]
    _write_ledger(installed, ledger)
    err = one_clean_line(installed.run("plan"))
    assert "backups[0].path: '../x.bak' is not a path inside the install" in err, err


def test_ledger_file_entry_without_mode_is_refused(installed):
    ledger = installed.ledger()
    del ledger["files"]["server/util.js"]["mode"]
    _write_ledger(installed, ledger)
    err = one_clean_line(installed.run("plan"))
    assert "files.server/util.js: 'mode' is a required property" in err, err


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"name": "\\udc80"}'])
def test_ledger_nesting_and_surrogates(installed, text):
    _write_ledger(installed, text)
    err = one_clean_line(installed.run("plan"))
    assert "install.json: " in err and ("nested too deeply" in err or "lone surrogate" in err), err


# Plans


@pytest.fixture
def planned(installed):
    (installed.install / "server" / "index.js").write_text("patched\n")
    installed.manifest(ref="v2")
    document = installed.plan()
    assert any(a["type"] == "upgrade" for a in document["actions"])
    return installed, document


def _rehashed(document):
    from trueup.planner.document import plan_hash

    document["plan_hash"] = plan_hash(document)
    return document


def test_show_of_an_edited_plan_warns_and_shows_the_rest(planned):
    project, document = planned
    upgrade = project.action(document, "upgrade")
    first = sorted(upgrade["details"]["files"])[0]
    upgrade["details"]["files"][first] = "not an op"
    for item in document["components"][0]["drift"]:
        item["expected"] = 7
    document["components"][0]["facts"]["accepted"] = 5
    path = project.write_plan(_rehashed(document))
    for view in ([], ["--markdown"]):
        code, out, err = project.run("show", str(path), *view)
        assert code == 0 and "internal error" not in err, err
        assert "is damaged in this plan file" in out, out
        assert upgrade["id"] in out


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["actions"][0]["targets"].append("a\0b"), "actions[0].targets: 'a\\x00b' contains a NUL byte"),
        (lambda d: d["actions"][0]["targets"].append("x/" + "n" * 300), "has a component over the file-name limit of 255 bytes"),
        (lambda d: d["actions"][0]["targets"].append("new\nline\0"), "'new\\nline\\x00' contains a NUL byte"),
        (lambda d: d.update(lineage=["x" * 100_000]), "lineage: "),
        (lambda d: d["actions"][0]["preconditions"].update({"bogus" + "y" * 100_000: 1}), "actions[0].preconditions: unknown key 'bogusyyy"),
    ],
)
def test_plan_values_get_one_clean_line(planned, edit, expected):
    project, document = planned
    edit(document)
    path = project.write_plan(_rehashed(document))
    for command in ("show", "apply"):
        result = project.run(command, str(path))
        err = one_clean_line(result, result[0] if result[0] in (1, 3) else 1)
        assert expected in err, err


def test_plan_with_a_lone_surrogate(planned):
    project, document = planned
    path = project.root / "plan.json"
    path.write_text(json.dumps(document).replace('"reason": "', '"reason": "\\udc80', 1))
    err = one_clean_line(project.run("show", str(path)))
    assert "holds a lone surrogate (\\udc80)" in err, err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested more than 100 levels deep"),
        ('{"a": ' * 150 + "1" + "}" * 150, "nested more than 100 levels deep"),
        ('{"format_version": 2, "actions": [' + ",".join(["{}"] * 3_000_001) + "]}", "over the plan limit of 3000000"),
        ('{"format_version": 2, "actions": [' + ",".join(["0"] * 300_000) + "]}", "300000 actions, over the plan limit of 200000"),
    ],
)
def test_runaway_plans_are_refused_before_they_cost(project, text, expected):
    path = project.root / "plan.json"
    path.write_text(text)
    started = time.monotonic()
    err = one_clean_line(project.run("show", str(path)))
    assert time.monotonic() - started < 30  # loose: the message says which limit refused it before decoding
    assert expected in err, err
