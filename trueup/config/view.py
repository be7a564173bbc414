"""Read one co-owned config file, its template and its registry, and reconcile them. Never writes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from attrs import frozen

from trueup.errors import TrueupError
from trueup.config.entries import ConfigEntry, EntryIndex, index_document, lines_index
from trueup.config.formats import ConfigParseError, Document, load, template_lines
from trueup.config.reconcile import FRAMEWORK, Reconciliation, reconcile
from trueup.config.redact import REDACTED, canonical_bytes, keyed_digest, keyed_hash, plain_hash
from trueup.config.spec import ConfigSpec, parse_spec
from trueup.model.keys import FactKey, config_key
from trueup.state.registry import MISSING, OK, LoadedRegistry, RegistryEntry, SourceRef, load_registry, read_key


@frozen(eq=False)
class ConfigView:
    """Everything observed about one config file; ``doc``/``live`` are None when the file does not parse."""

    component: str
    spec: ConfigSpec
    template: EntryIndex
    registry: LoadedRegistry
    key: bytes | None
    raw: bytes | None
    doc: Document | None
    live: EntryIndex | None
    parse_error: str | None
    reconciliation: Reconciliation | None

    @property
    def owned(self) -> dict:
        # No registry yet (adoption): live entries equal to the template's are the framework's, so its next
        # change to them is an update; the rest is the user's. A corrupt registry owns nothing (conservative).
        if self.registry.status == OK:
            return self.registry.entries
        if self.registry.status == MISSING and self.live is not None:
            return adopted(self.template, self.live, self.hash_of)
        return {}

    @property
    def secret_bearing(self) -> bool:
        # Live entries only: the fingerprint must be computable without the template (see preconditions).
        if self.live is None:
            return True
        entries = [*self.live.entries.values(), *(e for c in self.live.collisions.values() for e in c)]
        return any(e.secret for e in entries)

    def hash_of(self, entry: ConfigEntry) -> str | None:
        return entry_hash(entry, self.key)


ADOPTED = SourceRef(commit="", version="adopted")


def adopted(template: EntryIndex, live: EntryIndex, hash_of) -> dict[str, RegistryEntry]:
    """The registry an adopted file starts from: its entries equal to the template's, owned by the framework."""
    out = {}
    for key, want in template.entries.items():
        have = live.entries.get(key)
        if have is None or want.runtime or have.runtime or have.norm != want.norm or key in live.collisions:
            continue
        value_hash = hash_of(have)
        if value_hash is not None:
            out[key] = RegistryEntry(FRAMEWORK, value_hash, ADOPTED, ADOPTED)
    return out


def entry_hash(entry: ConfigEntry, key: bytes | None) -> str | None:
    """Plain sha256 of a normalized value; an HMAC for secrets, or None (unknown) without a key."""
    if not entry.secret:
        return plain_hash(entry.norm)
    return keyed_hash(entry.norm, key) if key is not None else None


def index_template(spec: ConfigSpec, template: bytes | None, component: str, home: Path) -> EntryIndex:
    """The template's entries; no template (not shipped at this commit) means the framework ships none."""
    try:
        if spec.format == "lines":
            return lines_index(template_lines(template or b""), spec, home)
        return index_document(load(spec.format, template, component), spec, home)
    except ConfigParseError as exc:
        raise TrueupError(f"config template {spec.template} of {component}: {exc.message}") from None


def read_live(live_path: Path) -> bytes | None:
    try:
        return live_path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigParseError("is a directory") from None
    except OSError as exc:
        raise ConfigParseError(f"unreadable ({exc.strerror})") from None


def observe_config(
    *,
    component: str,
    spec: dict[str, Any] | ConfigSpec,
    template: bytes | None,
    live_path: Path,
    state_dir: Path,
    home: Path,
    key: bytes | None = None,
    use_stored_key: bool = True,
) -> ConfigView:
    spec = spec if isinstance(spec, ConfigSpec) else parse_spec(spec)
    if key is None and use_stored_key:
        key = read_key(state_dir)
    template_index = index_template(spec, template, component, home)
    registry = load_registry(state_dir, component, spec.path)
    raw = doc = live = error = rec = None
    try:
        raw = read_live(live_path)
        doc = load(spec.format, raw, component)
        live = index_document(doc, spec, home)
    except ConfigParseError as exc:
        error, doc = exc.message, None
    view = ConfigView(component, spec, template_index, registry, key, raw, doc, live, error, None)
    if live is not None:
        rec = reconcile(template_index, live, view.owned, view.hash_of)
    return ConfigView(component, spec, template_index, registry, key, raw, doc, live, error, rec)


def file_fingerprint(view: ConfigView) -> str | None:
    """What a plan records of the live file: never a plain hash of anything holding a secret.

    A file without secret-like entries: its sha256. With some: an HMAC with the state dir's key, or, when
    no key exists yet (plan may not create it), a sha256 of the entries with secret values masked; apply
    then re-checks each secret entry itself before touching it.
    """
    if view.raw is None:
        return None
    if view.live is None:
        if view.key is not None:
            return keyed_digest(view.raw, view.key)
        return f"unparseable:{len(view.raw)}"
    if not view.secret_bearing:
        return "sha256:" + hashlib.sha256(view.raw).hexdigest()
    if view.key is not None:
        return keyed_digest(view.raw, view.key)
    masked = [(k, REDACTED if e.secret else e.value) for k, e in view.live.entries.items()]
    return "masked-sha256:" + hashlib.sha256(canonical_bytes([len(view.raw), masked])).hexdigest()


def preconditions_of(view: ConfigView) -> dict[FactKey, Any]:
    return {
        config_key(view.spec.path, "sha256"): file_fingerprint(view),
        config_key(view.spec.path, "registry"): view.registry.digest,
    }
