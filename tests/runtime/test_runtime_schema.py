"""The runtime block's JSON Schema accepts the documented shape and rejects what from_manifest would.

Both guard a manifest: the schema when trueup.yaml is loaded, RuntimeSpec.from_manifest when a runtime is
observed. They must agree on the documented blocks, and whatever from_manifest refuses the schema refuses
too, apart from what a schema cannot say (a ~ path next to a remote host), which from_manifest alone checks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from trueup.errors import ManifestError
from trueup.runtime.spec import RuntimeSpec

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "trueup/schemas/runtime.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA)


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize(
    "block",
    [
        {
            "manager": "pm2",
            "service": "recruit",
            "cwd": "installed/recruit",
            "command": "node server/index.js",
            "health": {"url": "http://127.0.0.1:3020/health", "version_field": "version"},
            "host": "ssh://user@host:2222",
            "env_file": ".env",
        },
        {"manager": "docker", "service": "recruit", "image": "registry/app@sha256:abc"},
        {"manager": "docker", "service": "honcho-api", "orchestrator": "external"},
        {"manager": "launchd", "service": "com.x.recruit", "definition": "~/Library/LaunchAgents/com.x.recruit.plist"},
        {"manager": "systemd", "service": "recruit.service", "scope": "user"},
        {"manager": "external"},
    ],
)
def test_documented_blocks_are_valid(block: dict):
    assert list(VALIDATOR.iter_errors(block)) == []
    spec = from_manifest(block)
    assert (spec.manager, spec.service, spec.host) == (block["manager"], block.get("service"), block.get("host"))
    assert spec.cwd == "/ws/installed/recruit"  # relative to the workspace; the install path by default


@pytest.mark.parametrize(
    "block",
    [
        {"manager": "pm2"},  # service required
        {"manager": "supervisord", "service": "x"},
        {"manager": "pm2", "service": "x", "host": "user@host:22"},
        {"manager": "pm2", "service": "x", "image": "app@sha256:abc"},  # image is docker's
        {"manager": "pm2", "service": "x", "orchestrator": "external"},  # so is orchestrator
        {"manager": "docker", "service": "x", "orchestrator": "k8s"},
        {"manager": "pm2", "service": "x", "health": {"version_field": "v"}},
        {"manager": "pm2", "service": "x", "restart_delay": 3},
    ],
)
def test_invalid_blocks_are_rejected(block: dict):
    assert list(VALIDATOR.iter_errors(block)) != []


def from_manifest(block: dict) -> RuntimeSpec:
    return RuntimeSpec.from_manifest(block, install_path=Path("installed/recruit"), workspace=Path("/ws"))


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ({"manager": "pm2"}, "runtime.service"),
        ({"manager": "pm2", "service": ""}, "runtime.service"),
        ({"manager": "supervisord", "service": "x"}, "runtime.manager"),
        ({"manager": "pm2", "service": "x", "host": "user@host:22"}, "runtime.host"),
        ({"manager": "pm2", "service": "x", "host": "ssh://host:port"}, "runtime.host"),
        ({"manager": "systemd", "service": "x", "scope": "cluster"}, "runtime.scope"),
        ({"manager": "pm2", "service": "x", "health": "http://127.0.0.1/health"}, "runtime.health"),
    ],
)
def test_what_from_manifest_refuses_the_schema_refuses(block: dict, field: str):
    with pytest.raises(ManifestError) as refused:
        from_manifest(block)
    assert refused.value.message.startswith(f"{field}: ") and "\n" not in refused.value.message
    assert list(VALIDATOR.iter_errors(block)) != []


def test_a_home_path_with_a_remote_host_only_from_manifest_can_refuse():
    block = {"manager": "pm2", "service": "x", "host": "ssh://box", "env_file": "~/.env"}
    assert list(VALIDATOR.iter_errors(block)) == []  # a schema cannot relate two fields' values like this
    with pytest.raises(ManifestError, match=r"^runtime.env_file: '~/.env' uses ~ with host ssh://box"):
        from_manifest(block)
