"""The runtime block's JSON Schema accepts the documented shape and rejects what from_manifest would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

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
        {"manager": "launchd", "service": "com.x.recruit", "definition": "~/Library/LaunchAgents/com.x.recruit.plist"},
        {"manager": "systemd", "service": "recruit.service", "scope": "user"},
        {"manager": "external"},
    ],
)
def test_documented_blocks_are_valid(block: dict):
    assert list(VALIDATOR.iter_errors(block)) == []


@pytest.mark.parametrize(
    "block",
    [
        {"manager": "pm2"},  # service required
        {"manager": "supervisord", "service": "x"},
        {"manager": "pm2", "service": "x", "host": "user@host:22"},
        {"manager": "pm2", "service": "x", "image": "app@sha256:abc"},  # image is docker's
        {"manager": "pm2", "service": "x", "health": {"version_field": "v"}},
        {"manager": "pm2", "service": "x", "restart_delay": 3},
    ],
)
def test_invalid_blocks_are_rejected(block: dict):
    assert list(VALIDATOR.iter_errors(block)) != []
