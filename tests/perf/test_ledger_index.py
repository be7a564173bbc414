"""The packed ledger index says exactly what the ledger's JSON says, and is never trusted for other bytes."""

from __future__ import annotations

import hashlib
import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trueup.state import ledger as ledgers
from trueup.state import ledger_index
from trueup.state.ledger_entry import Entry, plain

HEX = st.text("0123456789abcdef", min_size=64, max_size=64)
CANONICAL = st.builds(lambda m, h: {"type": "file", "mode": f"{m:04o}", "sha256": h}, st.sampled_from([0o644, 0o755, 0o600, 0o4755]), HEX)
# Valid under the schema but not the canonical file shape: kept as the dicts they are.
ODD = st.one_of(
    st.builds(lambda h: {"type": "symlink", "sha256": h}, HEX),
    st.builds(lambda h: {"type": "symlink", "mode": "0777", "sha256": h}, HEX),
    st.just({"type": "other", "mode": "0644"}),
    st.just({"type": "file", "mode": "0600"}),
)
PATHS = st.text(string.ascii_letters + string.digits + "/._-é ", min_size=1, max_size=30).filter(
    lambda p: not p.startswith("/") and "//" not in p and not p.endswith("/") and ".." not in p.split("/"))


def _document(files: dict) -> dict:
    doc = ledgers.new(name="app", version="1.0.0", repo="src/app", ref="v1", commit="a" * 40)
    doc["files"] = files
    doc["accepted"] = {"x": {"fact": {"type": "file", "mode": "0644", "sha256": "b" * 64}, "accepted_at": "t"}}
    return doc


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(PATHS, st.one_of(CANONICAL, ODD), max_size=40))
def test_index_equals_the_json(tmp_path_factory, files):
    install, memo = tmp_path_factory.mktemp("install"), tmp_path_factory.mktemp("memo")
    ledgers.save(install, _document(files), memo)
    raw = ledgers.ledger_path(install).read_bytes()
    loaded = ledger_index.load(memo, install, ledgers.trust_key(hashlib.sha256(raw).digest()))
    assert loaded is not None
    assert plain({**loaded, "files": dict(loaded["files"].items())}) == json.loads(raw)
    assert list(loaded["files"]) == sorted(files) and len(loaded["files"]) == len(files)
    for path, entry in files.items():
        assert path in loaded["files"] and loaded["files"][path] == entry and loaded["files"].get(path) == entry
        assert isinstance(loaded["files"][path], Entry) == (entry.get("type") == "file" and len(entry) == 3)


def test_other_bytes_schema_or_damage_are_never_trusted(tmp_path, monkeypatch):
    install, memo = tmp_path / "install", tmp_path / "memo"
    install.mkdir()
    ledgers.save(install, _document({"a": {"type": "file", "mode": "0644", "sha256": "c" * 64}}), memo)
    key = ledgers.trust_key(hashlib.sha256(ledgers.ledger_path(install).read_bytes()).digest())
    assert ledger_index.load(memo, install, key) is not None
    assert ledger_index.load(memo, install, bytes(32)) is None  # an index of other ledger bytes
    assert ledger_index.load(None, install, key) is None
    raw_sha = hashlib.sha256(ledgers.ledger_path(install).read_bytes()).digest()
    with monkeypatch.context() as m:  # a trueup with another ledger schema: the old index is not its knowledge
        m.setattr(ledgers, "_schema_version", lambda: "another schema")
        assert ledger_index.load(memo, install, ledgers.trust_key(raw_sha)) is None
    path = ledger_index.index_path(memo, install)
    data = bytearray(path.read_bytes())
    for damage in (lambda d: d.__setitem__(-1, d[-1] ^ 1), lambda d: d.__delitem__(-1), lambda d: d.__setitem__(0, 0)):
        broken = bytearray(data)
        damage(broken)
        path.write_bytes(bytes(broken))
        assert ledger_index.load(memo, install, key) is None
