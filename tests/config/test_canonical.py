"""The seven canonical cases of co-owned config files, end to end through assess_config and apply_config."""

from __future__ import annotations

import json

import pytest

from tests.config.harness import Harness, kinds

SPEC = {
    "path": "~/app/config.json",
    "format": "json",
    "template": "templates/config.json",
    "lists": {"plugins": {"key": ["name"], "paths": ["cmd"]}},
}


@pytest.fixture
def h(tmp_path, monkeypatch):
    harness = Harness(tmp_path, SPEC)
    monkeypatch.setenv("HOME", str(harness.home))
    return harness


V1 = {"theme": "dark", "plugins": [{"name": "lint", "cmd": "~/app/lint.sh"}, {"name": "fmt", "cmd": "~/app/fmt.sh"}]}


def test_idempotence_second_run_changes_nothing(h):
    h.upgrade(V1)
    file_after, registry_after = h.live_bytes(), h.registry_file().read_bytes()
    assert h.live_json() == V1

    second = h.plan(V1)
    assert second.drift == () and second.groups == []
    # applying the first plan's changes again converges silently: no byte of file or registry moves
    first_changes = [{"op": "add", "entry": "setting:theme"}]
    result = h.apply_option(V1, "1.0", "upgrade", first_changes)
    assert not result.file_changed and not result.registry_changed
    assert h.live_bytes() == file_after and h.registry_file().read_bytes() == registry_after


def test_user_edit_is_preserved_and_reported(h):
    h.upgrade(V1)
    live = h.live_json()
    live["theme"] = "light"  # the operator's choice
    h.write_live(live)

    v2 = {**V1, "theme": "solarized"}
    plan = h.upgrade(v2, "2.0")
    assert kinds(plan) == {"user-modified": ["setting:theme"]}
    group = next(g for g in plan.groups if g["entry"] == "setting:theme")
    assert [(o["type"], o["recommended"]) for o in group["options"]] == [
        ("accept-local", True),
        ("restore-source", False),
    ]
    assert h.live_json()["theme"] == "light"

    # restore-source resets it, after saving the operator's file as a recorded backup
    before = h.live_bytes()
    restore = next(o for o in group["options"] if o["type"] == "restore-source")
    result = h.apply_option(v2, "2.0", "restore-source", restore["changes"])
    assert h.live_json()["theme"] == "solarized"
    assert result.backup is not None and open(result.backup["backup"], "rb").read() == before
    assert h.plan(v2, "2.0").drift == ()


def test_accept_local_makes_the_entry_user_owned(h):
    h.upgrade(V1)
    h.write_live({**h.live_json(), "theme": "light"})
    plan = h.plan({**V1, "theme": "solarized"}, "2.0")
    h.apply(plan, {**V1, "theme": "solarized"}, "2.0", types=("accept-local",))
    assert h.registry()["setting:theme"]["owner"] == "user"
    # later upgrades leave it alone, silently
    plan3 = h.upgrade({**V1, "theme": "neon"}, "3.0")
    assert plan3.drift == () and h.live_json()["theme"] == "light"


def test_reverse_pass_removes_obsolete_unmodified_entry(h):
    h.upgrade(V1)
    v2 = {"theme": "dark", "plugins": [{"name": "lint", "cmd": "~/app/lint.sh"}]}
    plan = h.upgrade(v2, "2.0")
    assert kinds(plan) == {"obsolete": ['item:plugins[name="fmt"]']}
    assert h.live_json() == v2
    assert 'item:plugins[name="fmt"]' not in h.registry()


def test_reverse_pass_keeps_obsolete_user_modified_entry(h):
    h.upgrade(V1)
    live = h.live_json()
    live["plugins"][1]["cmd"] = "~/app/fmt.sh --strict"
    h.write_live(live)
    v2 = {"theme": "dark", "plugins": [{"name": "lint", "cmd": "~/app/lint.sh"}]}
    plan = h.upgrade(v2, "2.0")
    assert kinds(plan) == {"obsolete-user-modified": ['item:plugins[name="fmt"]']}
    assert h.live_json()["plugins"][1] == {"name": "fmt", "cmd": "~/app/fmt.sh --strict"}
    assert h.plan(v2, "2.0").drift == plan.drift  # still reported until someone decides


def test_skip_version_upgrade_gets_every_new_entry_and_none_of_the_removed(h):
    versions = {
        "1.0": {"a": 1, "b": 1, "plugins": [{"name": "p1", "cmd": "x"}]},
        "1.1": {"a": 1, "b": 1, "c": 1, "plugins": [{"name": "p1", "cmd": "x"}, {"name": "p2", "cmd": "y"}]},
        "1.2": {"a": 2, "c": 1, "d": 1, "plugins": [{"name": "p2", "cmd": "y"}]},
        "1.3": {"a": 3, "c": 1, "e": 1, "plugins": [{"name": "p2", "cmd": "y2"}, {"name": "p3", "cmd": "z"}]},
    }
    h.upgrade(versions["1.0"], "1.0")
    h.upgrade(versions["1.3"], "1.3")
    assert h.live_json() == {"a": 3, "plugins": [{"name": "p2", "cmd": "y2"}, {"name": "p3", "cmd": "z"}], "c": 1, "e": 1}
    assert h.plan(versions["1.3"], "1.3").drift == ()
    registry = h.registry()
    assert registry["setting:a"]["added_in"]["version"] == "1.0"
    assert registry["setting:a"]["last_updated_in"]["version"] == "1.3"
    assert "setting:b" not in registry


def test_path_variants_are_one_entry(h):
    h.write_live({"plugins": [{"name": "lint", "cmd": f'"{h.home}/app/lint.sh"'}]})
    template = {"plugins": [{"name": "lint", "cmd": "~/app/lint.sh"}], "extra": [{"x": 1}]}
    spec_key = 'item:plugins[name="lint"]'
    plan = h.plan(template)
    assert spec_key not in json.dumps(kinds(plan))  # same normalized value: nothing to do
    # keyed by the path itself, the two spellings are one identity as well
    h.spec = {**SPEC, "lists": {"plugins": {"key": ["cmd"], "paths": ["cmd"]}}}
    plan = h.plan(template)
    assert kinds(plan) == {"missing": ["setting:extra"]}
    h.apply(plan, template)
    assert len(h.live_json()["plugins"]) == 1


def test_prefix_is_not_identity(h):
    h.spec = {**SPEC, "lists": {"plugins": {"key": ["cmd"], "paths": ["cmd"]}}}
    h.write_live({"plugins": [{"cmd": "node ~/s/heartbeat-v2.js"}]})
    plan = h.upgrade({"plugins": [{"cmd": "node ~/s/heartbeat.js"}]})
    assert kinds(plan) == {"missing": ['item:plugins[cmd="node ~/s/heartbeat.js"]']}
    assert len(h.live_json()["plugins"]) == 2


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_missing_or_corrupt_registry_is_recovered_conservatively(h, damage):
    h.upgrade(V1)
    live = h.live_json()
    live["theme"] = "light"
    h.write_live(live)
    if damage == "missing":
        h.registry_file().unlink()
    else:
        h.registry_file().write_text("{not json")
    v2 = {"theme": "dark", "new": True, "plugins": [{"name": "lint", "cmd": "~/app/lint.sh"}]}
    plan = h.upgrade(v2, "2.0")
    assert plan.warnings and ("user-owned" in plan.warnings[0].message or "the user's" in plan.warnings[0].message)
    assert plan.warnings[0].kind == f"registry-{damage}"
    # existing entries are now the user's: not updated, not removed (even `fmt`, which v2 dropped); the one
    # that hides a framework entry is reported (shadowed), never silently kept
    assert kinds(plan) == {"missing": ["setting:new"], "shadowed": ["setting:theme"]}
    assert h.live_json() == {**live, "new": True}
    # without a registry, entries equal to the template's are the framework's (adoption); a corrupt one owns nothing
    adopted = {e for e in h.registry() if e != "setting:new"}
    assert "setting:theme" not in adopted and (damage == "missing" or not adopted)
