"""Adoption of a component's config files: record, in a new ownership registry, the entries trueup's plan
already treats as the framework's (live values equal to the template's; see ConfigView.owned)."""

from __future__ import annotations

from pathlib import Path

from trueup.config.locate import config_home, live_path
from trueup.config.view import observe_config
from trueup.manifest import ComponentSpec
from trueup.source import Source
from trueup.state.registry import MISSING, RegistryEntry, SourceRef, save_registry


def adopt_registries(spec: ComponentSpec, root: Path, state_dir: Path, source: Source, commit: str,
                     version: str) -> list[str]:
    """Write a registry for each config file that has none; returns one note per file written."""
    notes = []
    for item in spec.config or ():
        view = observe_config(component=spec.name, spec=item, template=source.show(commit, item["template"]),
                              live_path=live_path(item, root), state_dir=state_dir, home=config_home())
        if view.registry.status != MISSING or view.live is None:
            continue
        ref = SourceRef(commit=commit, version=version)
        entries = {k: RegistryEntry(e.owner, e.hash, ref, ref) for k, e in view.owned.items()}
        if entries and save_registry(state_dir, spec.name, view.spec.path, entries):
            notes.append(f"recorded {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} of {view.spec.path} "
                         "equal to the template as the framework's")
    return notes
