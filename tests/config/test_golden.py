"""Golden files: a config change leaves every line it does not touch byte-for-byte as it was.

Regenerate with TRUEUP_UPDATE_GOLDEN=1 (or --update-golden); never silently.
"""

from __future__ import annotations

from pathlib import Path

from tests.config.harness import Harness

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, actual: bytes, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_bytes(actual)
    assert path.exists(), f"golden file {name} missing; run with TRUEUP_UPDATE_GOLDEN=1"
    assert actual == path.read_bytes()


def untouched_lines_kept(before: bytes, after: bytes, changed_markers: tuple[str, ...]) -> None:
    """Every line of ``before`` that mentions none of the changed entries is still present, in order."""
    after_lines = after.decode().splitlines(keepends=True)
    position = 0
    for line in before.decode().splitlines(keepends=True):
        if any(marker in line for marker in changed_markers):
            continue
        assert line in after_lines[position:], f"line lost or altered: {line!r}"
        position = after_lines.index(line, position) + 1


JSON_SPEC = {
    "path": "~/app/settings.json",
    "format": "json",
    "template": "t.json",
    "lists": {"hooks.*": {"key": ["matcher"]}, "hooks.*[].hooks": {"key": ["command"], "paths": ["command"]}},
}

JSON_LIVE = """{
    "zeta": "first key stays first",
    "model": "opus",
    "unicode": "café ✓",
    "hooks": {
        "Stop": [
            {
                "matcher": "",
                "hooks": [
                    {
                        "type": "command",
                        "command": "node ~/old.js"
                    }
                ]
            }
        ]
    },
    "alpha": [
        1,
        2
    ],
    "empty": {}
}"""


def test_json_untouched_lines_are_byte_identical(tmp_path, monkeypatch, update_golden):
    h = Harness(tmp_path, JSON_SPEC)
    monkeypatch.setenv("HOME", str(h.home))
    v1 = {"model": "opus", "hooks": {"Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "node ~/old.js"}]}]}}
    h.upgrade(v1)  # an earlier install: trueup owns model and the Stop hook
    h.write_live(JSON_LIVE)  # since then the user added keys, reformatted to 4 spaces, dropped the final newline
    assert h.plan(v1).drift == ()

    v2 = {"model": "sonnet", "hooks": {"Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "node ~/new.js"}]}]}}
    plan = h.upgrade(v2, "2.0")
    after = h.live_bytes()
    assert {d.kind for d in plan.drift} == {"missing", "outdated", "obsolete"}
    assert not after.endswith(b"\n")  # the original had no final newline
    untouched_lines_kept(JSON_LIVE.encode(), after, ("old.js", '"model"'))
    assert after.splitlines()[1] == b'    "zeta": "first key stays first",'
    assert "café ✓".encode() in after
    check_golden("settings.after.json", after, update_golden)
    assert h.plan(v2, "2.0").drift == ()


YAML_SPEC = {
    "path": "~/app/config.yaml",
    "format": "yaml",
    "template": "t.yaml",
    "lists": {"servers": {"key": ["name"]}},
}

YAML_LIVE = """# Service configuration -- edited by hand, keep these notes!
service:
    name: 'zylos'        # quoted on purpose
    port: 8080
    log_level: info
servers:
  - name: alpha   # primary
    url: "http://alpha.local"
  - name: beta
    url: http://beta.local
features: [a, b]   # flow style kept
"""


def test_yaml_comments_quotes_and_untouched_lines_survive(tmp_path, monkeypatch, update_golden):
    h = Harness(tmp_path, YAML_SPEC)
    monkeypatch.setenv("HOME", str(h.home))
    v1 = "service:\n  port: 8080\n  log_level: info\nservers:\n  - name: beta\n    url: http://beta.local\n"
    h.upgrade(v1)  # fresh file: trueup owns port, log_level and the beta server
    h.write_live(YAML_LIVE)
    assert h.plan(v1).drift == ()

    v2 = (
        "service:\n  port: 9090\n  log_level: info\n  timeout: 30\n"
        "servers:\n  - name: gamma\n    url: http://gamma.local\n"
    )
    plan = h.upgrade(v2, "2.0")
    assert {d.kind for d in plan.drift} == {"missing", "outdated", "obsolete"}
    after = h.live_bytes()
    untouched_lines_kept(YAML_LIVE.encode(), after, ("port:", "beta"))
    assert b"name: 'zylos'        # quoted on purpose" in after
    assert b"- name: alpha   # primary" in after
    assert b"port: 9090" in after and b"timeout: 30" in after and b"beta" not in after
    check_golden("config.after.yaml", after, update_golden)
    assert h.plan(v2, "2.0").drift == ()
