"""Properties over random template version sequences interleaved with random user edits."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.config.harness import Harness

SPEC = {
    "path": "~/app/c.json",
    "format": "json",
    "template": "t.json",
    "lists": {"plugins": {"key": ["name"], "paths": ["cmd"]}},
}
SETTINGS = [f"s{i}" for i in range(4)]
PLUGINS = [f"p{i}" for i in range(4)]
UPGRADE_KINDS = {"missing", "outdated", "obsolete"}

template_values = st.integers(0, 3)  # the framework's values; user values are >= 100, never equal to these
templates = st.fixed_dictionaries(
    {
        "settings": st.dictionaries(st.sampled_from(SETTINGS), template_values),
        "plugins": st.dictionaries(st.sampled_from(PLUGINS), template_values),
    }
)
edits = st.tuples(
    st.sampled_from(["set", "delete"]), st.sampled_from(["setting", "plugin"]), st.integers(0, 3), st.integers(100, 999)
)
steps = st.lists(st.one_of(templates.map(lambda t: ("template", t)), edits.map(lambda e: ("edit", e))), max_size=10)


def render(template: dict) -> dict:
    out: dict = {"cfg": dict(sorted(template["settings"].items()))}
    if template["plugins"]:
        out["plugins"] = [{"name": n, "cmd": f"~/bin/{n}", "v": v} for n, v in sorted(template["plugins"].items())]
    return out


def live_view(h: Harness) -> dict[tuple[str, str], int]:
    if not h.live_path.exists():
        return {}
    data = h.live_json()
    view = {("setting", k): v for k, v in data.get("cfg", {}).items()}
    view.update({("plugin", p["name"]): p["v"] for p in data.get("plugins", [])})
    return view


def registry_of(h: Harness) -> bytes | None:
    return h.registry_file().read_bytes() if h.registry_file().exists() else None


def user_edit(h: Harness, edit: tuple, touched: dict) -> None:
    action, kind, index, value = edit
    name = (SETTINGS if kind == "setting" else PLUGINS)[index]
    data = h.live_json() if h.live_path.exists() else {}
    cfg = data.setdefault("cfg", {})
    plugins = data.setdefault("plugins", [])
    if action == "delete":
        if kind == "setting":
            cfg.pop(name, None)
        else:
            plugins[:] = [p for p in plugins if p["name"] != name]
        touched.pop((kind, name), None)
    else:
        if kind == "setting":
            cfg[name] = value
        else:
            existing = next((p for p in plugins if p["name"] == name), None)
            if existing is None:
                plugins.append({"name": name, "cmd": f"{h.home}/bin/{name}", "v": value})
            else:
                existing["v"] = value
        touched[(kind, name)] = value
    h.write_live(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_reconcile_preserves_user_entries_converges_and_is_idempotent(steps):
    with tempfile.TemporaryDirectory() as root:
        h = Harness(Path(root), SPEC)
        touched: dict[tuple[str, str], int] = {}
        for n, (step, payload) in enumerate(steps):
            if step == "edit":
                user_edit(h, payload, touched)
                continue
            version = f"1.{n}"
            template = render(payload)
            before = live_view(h)
            h.upgrade(template, version)
            after = live_view(h)

            # a user-modified or user-added entry is never changed or removed
            for key, value in touched.items():
                assert after.get(key) == value, (key, before, after)
            # every template entry the user did not touch is present with its template value
            wanted = {("setting", k): v for k, v in payload["settings"].items()}
            wanted.update({("plugin", k): v for k, v in payload["plugins"].items()})
            for key, value in wanted.items():
                if key not in touched:
                    assert after.get(key) == value, (key, after)
            # whatever trueup wrote and the template dropped is gone
            for key in after:
                assert key in wanted or key in touched, (key, after)

            # idempotent: a second plan proposes no upgrade; a second upgrade moves no byte
            file_bytes, registry_bytes = h.live_bytes(), registry_of(h)
            again = h.upgrade(template, version)
            assert not {d.kind for d in again.drift} & UPGRADE_KINDS
            assert h.live_bytes() == file_bytes and registry_of(h) == registry_bytes
