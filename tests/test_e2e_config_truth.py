"""Config that tells the truth (issue 11, cases 7 and 8): shadowed framework entries, adoption ownership,
a file created on install written from the template's own text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import V1, V2
from tests.helpers import build_tree

TEMPLATE = json.dumps({"hooks": [{"matcher": "startup", "command": "node fw.js"}], "timeout": 20}, indent=2) + "\n"
CONFIG = [{"path": "~/zylos/settings.json", "format": "json", "template": "templates/settings.json"}]  # no lists:


def _live() -> Path:
    return Path.home() / "zylos/settings.json"


def _config_drift(doc):
    return [d for c in doc["components"] for d in c["drift"] if d["class"] == "config"]


def _approve_all_apply(project):
    plan_file = project.root / "plan.json"
    assert project.run("plan", "-o", str(plan_file))[0] == 0
    assert project.run("approve", str(plan_file), "--all")[0] == 0
    code, out, err = project.run("apply", str(plan_file))
    assert code == 0, out + err
    return out


@pytest.mark.parametrize("resolution", ["accept-local", "restore-source"])
def test_a_user_value_hiding_a_framework_entry_is_shadowed_until_resolved(project, resolution):
    project.source({"v1": {**V1, "templates/settings.json": TEMPLATE}})
    project.manifest(ref="v1", extra={"config": CONFIG})
    _live().parent.mkdir(parents=True)
    mine = {"hooks": [{"matcher": "mine", "command": "node mine.js"}], "timeout": 20}
    _live().write_text(json.dumps(mine, indent=2) + "\n")

    doc = project.plan()
    shadowed = [d for d in _config_drift(doc) if d["kind"] == "shadowed"]
    assert [d["expected"] for d in shadowed] == [{"entry": "setting:hooks", "value": [{"matcher": "startup", "command": "node fw.js"}]}]
    assert shadowed[0]["actual"]["value"] == mine["hooks"]
    warnings = [w["message"] for c in doc["components"] for w in c.get("warnings", [])]
    assert not any("will be added" in w for w in warnings)

    action = next(a for a in doc["actions"] if a["type"] == resolution and a["targets"] == ["setting:hooks"])
    assert action["recommended"] == (resolution == "accept-local")
    # the component is installed first (its own upgrade), then the config resolution is applied
    upgrade = project.action(doc, "upgrade")
    code, out, err = project.apply_ids(doc, upgrade["id"], action["id"])
    assert code == 0, out + err
    want = mine["hooks"] if resolution == "accept-local" else [{"matcher": "startup", "command": "node fw.js"}]
    assert json.loads(_live().read_text())["hooks"] == want
    code, out, _ = project.run("plan", "--detailed-exitcode")
    assert code == 0, out


def test_adoption_makes_entries_equal_to_the_template_the_frameworks(project):
    v2_template = TEMPLATE.replace("20", "30")
    project.source({"v1": {**V1, "templates/settings.json": TEMPLATE},
                    "v2": {**V2, "templates/settings.json": v2_template}})
    project.manifest(ref="v1", install={"generated": []}, extra={"config": CONFIG})
    build_tree(project.install, V1)
    _live().parent.mkdir(parents=True)
    _live().write_text(json.dumps({"hooks": [{"matcher": "startup", "command": "node fw.js"}], "timeout": 20,
                                   "model": "opus"}, indent=2) + "\n")
    doc = project.plan()
    assert _config_drift(doc) == []
    assert project.apply_ids(doc, project.action(doc, "import")["id"])[0] == 0
    assert project.kinds() == set()

    project.manifest(ref="v2", install={"generated": []}, extra={"config": CONFIG})
    doc = project.plan()
    # The framework's next change to an adopted entry is an update, not a value silently left as the user's.
    assert [(d["kind"], d["expected"]["entry"]) for d in _config_drift(doc)] == [("outdated", "setting:timeout")]
    _approve_all_apply(project)
    assert json.loads(_live().read_text()) == {"hooks": [{"matcher": "startup", "command": "node fw.js"}],
                                               "timeout": 30, "model": "opus"}
    assert project.run("plan", "--detailed-exitcode")[0] == 0


YAML_TEMPLATE = '''# zylos scheduler
schedule: "0 8 * * *"   # every morning
timeout: 30  # seconds
tasks:
  - name: 'digest'
    enabled: yes
'''


def test_a_yaml_file_created_on_install_is_the_templates_own_text(project):
    config = [{"path": "~/zylos/scheduler.yaml", "format": "yaml", "template": "templates/scheduler.yaml"}]
    project.source({"v1": {**V1, "templates/scheduler.yaml": YAML_TEMPLATE}})
    project.manifest(ref="v1", extra={"config": config})
    _approve_all_apply(project)
    assert (Path.home() / "zylos/scheduler.yaml").read_text() == YAML_TEMPLATE
    assert project.run("plan", "--detailed-exitcode")[0] == 0
