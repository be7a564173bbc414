"""Collisions, unparseable files, the lines format, secrets in lines, and spec validation."""

from __future__ import annotations

import pytest

from tests.config.harness import Harness, kinds, plan_dump
from trueup.errors import ManifestError, RefusedError, TrueupError

ALLOW_SPEC = {
    "path": "~/app/settings.json",
    "format": "json",
    "template": "t.json",
    "lists": {"permissions.allow": {"key": ".", "paths": ["."]}},
}


@pytest.fixture
def make(tmp_path, monkeypatch):
    def _make(spec):
        harness = Harness(tmp_path, spec)
        monkeypatch.setenv("HOME", str(harness.home))
        return harness

    return _make


def test_two_live_entries_normalizing_to_one_key_are_reported_never_merged(make):
    h = make(ALLOW_SPEC)
    template = {"permissions": {"allow": ["Bash(node ~/x.js)"]}}
    h.upgrade(template)
    live = h.live_json()
    live["permissions"]["allow"].append(f"Bash(node {h.home}/x.js)")
    h.write_live(live)
    before = h.live_bytes()

    plan = h.upgrade({"permissions": {"allow": ["Bash(node ~/x.js)", "Read(~/y)"]}}, "2.0")
    assert kinds(plan)["collision"] == ['item:permissions.allow["Bash(node ~/x.js)"]']
    collision = next(d for d in plan.drift if d.kind == "collision")
    assert len(collision.actual["values"]) == 2
    allow = h.live_json()["permissions"]["allow"]
    assert allow[:2] == live["permissions"]["allow"]  # both spellings still there, untouched
    assert allow[2:] == ["Read(~/y)"] and before != h.live_bytes()


@pytest.mark.parametrize(
    ("fmt", "text"),
    [("json", '{"model": "opus", "api_token": "sk-zzz-1234"'), ("yaml", "a: 1\na: sk-zzz-1234\n")],
)
def test_unparseable_live_file_is_reported_and_never_written(make, fmt, text):
    h = make({"path": f"~/app/c.{fmt}", "format": fmt, "template": "t"})
    h.write_live(text)
    template = '{"model": "sonnet"}' if fmt == "json" else "model: sonnet\n"
    plan = h.plan(template)
    assert [d.kind for d in plan.drift] == ["unparseable"] and plan.groups == []
    assert "line" in plan.drift[0].actual["error"]
    assert "sk-zzz-1234" not in plan_dump(plan)
    with pytest.raises(TrueupError, match="does not parse"):
        h.apply_option(template, "1.0", "upgrade", [{"op": "add", "entry": "setting:model"}])
    assert h.live_bytes() == text.encode()


LINES_SPEC = {"path": "~/app/.env", "format": "lines", "template": "t.env"}


def test_lines_file_changes_only_inside_its_markers(make):
    h = make(LINES_SPEC)
    h.write_live("# my env\nEDITOR=vim\n")
    h.upgrade("PATH_EXTRA=~/zylos/bin\nAPI_TOKEN=changeme\nsource ~/zylos/env.sh\n")
    text = h.live_bytes().decode()
    assert text.startswith("# my env\nEDITOR=vim\n# BEGIN trueup managed: zylos-core\n")
    assert text.endswith("# END trueup managed: zylos-core\n")

    # the user appends after the block and edits one managed line; a line of their own goes inside too
    text = text.replace("PATH_EXTRA=~/zylos/bin", "PATH_EXTRA=~/zylos/bin:/opt/bin")
    text = text.replace("# END", "MY_OWN=1\n# END") + "alias ll='ls -l'\n"
    h.write_live(text)
    plan = h.upgrade("PATH_EXTRA=~/zylos/sbin\nAPI_TOKEN=changeme\nLOG=debug\n", "2.0")
    assert kinds(plan) == {
        "missing": ["line:LOG"],
        "obsolete": ["line:source ~/zylos/env.sh"],
        "user-modified": ["line:PATH_EXTRA"],
    }
    after = h.live_bytes().decode()
    assert after.startswith("# my env\nEDITOR=vim\n# BEGIN trueup managed: zylos-core\n")
    assert after.endswith("# END trueup managed: zylos-core\nalias ll='ls -l'\n")
    assert "PATH_EXTRA=~/zylos/bin:/opt/bin\n" in after and "MY_OWN=1\n" in after and "LOG=debug\n" in after
    assert "env.sh" not in after
    assert "changeme" not in plan_dump(plan)


def test_repeated_markers_make_a_lines_file_unparseable(make):
    h = make(LINES_SPEC)
    h.write_live("# BEGIN trueup managed: zylos-core\nA=1\n")
    assert [d.kind for d in h.plan("A=1\n").drift] == ["unparseable"]


def test_an_entry_changed_after_the_plan_refuses_the_change(make):
    h = make(ALLOW_SPEC | {"lists": {}})
    h.upgrade({"theme": "dark"})
    plan = h.plan({"theme": "light"}, "2.0")
    h.write_live({"theme": "mine"})  # the lead's precondition would catch this; apply_config still refuses
    with pytest.raises(RefusedError):
        h.apply(plan, {"theme": "light"}, "2.0")
    assert h.live_json() == {"theme": "mine"}


def test_obsolete_group_holding_a_user_entry_is_kept(make):
    h = make(
        {
            "path": "~/s.json",
            "format": "json",
            "template": "t",
            "lists": {"hooks.*": {"key": ["matcher"]}, "hooks.*[].hooks": {"key": ["command"]}},
        }
    )
    h.upgrade({"hooks": {"Stop": [{"matcher": "x", "hooks": [{"command": "a"}]}]}})
    live = h.live_json()
    live["hooks"]["Stop"][0]["hooks"].append({"command": "mine"})
    h.write_live(live)
    plan = h.upgrade({"hooks": {}}, "2.0")
    assert kinds(plan) == {
        "obsolete": ['item:hooks.Stop[matcher="x"].hooks[command="a"]'],
        "obsolete-user-modified": ['item:hooks.Stop[matcher="x"]'],
    }
    assert h.live_json() == {"hooks": {"Stop": [{"matcher": "x", "hooks": [{"command": "mine"}]}]}}


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"path": "~/x", "format": "toml", "template": "t"}, "format: 'toml' is not one of"),
        ({"path": "~/x", "format": "json", "template": "t", "lists": {"a": {"key": []}}}, "lists/a/key: "),
        ({"path": "~/x", "format": "json", "template": "t", "lists": {"tokens": {"key": "."}}},
         "list 'tokens' is keyed by a secret-like field"),
        ({"path": "~/x", "format": "json", "template": "t", "lists": {"a": {"key": ["api_token"]}}},
         "list 'a' is keyed by a secret-like field"),
    ],
)
def test_invalid_specs_are_one_line_manifest_errors(make, bad, field):
    h = make({"path": "~/x", "format": "json", "template": "t"})
    h.spec = bad
    with pytest.raises(ManifestError) as raised:
        h.plan("{}")
    line = str(raised.value)  # what the CLI prints: the message and its hint
    assert "\n" not in line, line
    assert line.startswith("config entry '~/x': ") or line.startswith("config '~/x': "), line  # names the file
    assert field in raised.value.message, line  # and the field that is wrong
