"""A real config file, state dir and HOME in a tmp dir, driven through assess_config and apply_config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trueup.config.apply_changes import apply_config
from trueup.config.assess import ConfigFindings, assess_config
from trueup.state.registry import registry_path

COMPONENT = "zylos-core"


class Harness:
    def __init__(self, root: Path, spec: dict[str, Any], component: str = COMPONENT) -> None:
        self.home = root / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.state_dir = root / "state"
        self.spec = spec
        self.component = component
        self.live_path = Path(spec["path"].replace("~", str(self.home), 1))
        self.live_path.parent.mkdir(parents=True, exist_ok=True)

    # --- inputs --------------------------------------------------------------------------------------

    def write_live(self, content: str | dict) -> None:
        text = content if isinstance(content, str) else json.dumps(content, indent=2) + "\n"
        self.live_path.write_text(text, encoding="utf-8")

    def live_bytes(self) -> bytes | None:
        return self.live_path.read_bytes() if self.live_path.exists() else None

    def live_json(self) -> Any:
        return json.loads(self.live_path.read_text(encoding="utf-8"))

    def registry_file(self) -> Path:
        return registry_path(self.state_dir, self.component, self.spec["path"])

    def registry(self) -> dict[str, Any]:
        return json.loads(self.registry_file().read_text(encoding="utf-8"))["entries"]

    # --- plan / apply --------------------------------------------------------------------------------

    def _common(self, template: str | dict | None, version: str) -> dict[str, Any]:
        return dict(component=self.component, spec=self.spec, template=_bytes(template), live_path=self.live_path,
                    state_dir=self.state_dir, home=self.home, commit=f"c{version}", version=version)

    def plan(self, template: str | dict | None, version: str = "1.0") -> ConfigFindings:
        return assess_config(**self._common(template, version))

    def apply(self, plan: ConfigFindings, template: str | dict | None, version: str = "1.0", types=("upgrade",)):
        results = []
        for group in plan.groups:
            for option in group["options"]:
                if option["type"] in types and (option["recommended"] or len(types) == 1 and types[0] != "upgrade"):
                    results.append(self.apply_option(template, version, option["type"], option["changes"]))
        return results

    def apply_option(self, template, version: str, option_type: str, changes: list):
        return apply_config(**self._common(template, version), option_type=option_type, changes=changes)

    def upgrade(self, template: str | dict | None, version: str = "1.0") -> ConfigFindings:
        """plan, then apply every upgrade group: what `trueup apply` does with the recommended upgrades."""
        plan = self.plan(template, version)
        self.apply(plan, template, version)
        return plan


def _bytes(template: str | dict | None) -> bytes | None:
    if template is None:
        return None
    if isinstance(template, dict):
        return (json.dumps(template, indent=2) + "\n").encode()
    return template.encode()


def kinds(plan: ConfigFindings) -> dict[str, list[str]]:
    """drift kind → sorted entry keys."""
    out: dict[str, list[str]] = {}
    for drift in plan.drift:
        out.setdefault(drift.kind, []).append((drift.expected or drift.actual or {}).get("entry"))
    return {k: sorted(v) for k, v in out.items()}


def plan_dump(plan: ConfigFindings) -> str:
    """Everything in a ConfigFindings as JSON text (for asserting what never appears in it)."""
    return json.dumps(
        {
            "drift": [
                {"cls": str(d.cls), "kind": d.kind, "path": d.path, "expected": d.expected, "actual": d.actual}
                for d in plan.drift
            ],
            "groups": plan.groups,
            "preconditions": {k.encode(): v for k, v in plan.preconditions.items()},
            "diff": plan.diff,
            "warnings": [w.message for w in plan.warnings],
        },
        sort_keys=True,
    )
