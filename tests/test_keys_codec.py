"""The precondition key codec: every key trueup makes survives the plan file, and nothing else gets in."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from trueup.errors import RefusedError
from trueup.model.keys import (
    INSTALL_DIR, LEDGER, MANIFEST, SOURCE_COMMIT, TREE, FactKey, config_key, decode, encode, file_key, runtime_key,
)

BARE = {"manifest": MANIFEST, "ledger": LEDGER, "source:commit": SOURCE_COMMIT, "install:dir": INSTALL_DIR,
        "tree": TREE}

paths = st.text(min_size=1)  # anything but empty; config paths like ~/a:b/settings.json may hold ':'
fact_names = st.text(min_size=1).filter(lambda s: ":" not in s)  # a fact name never holds ':'

keys = st.one_of(
    st.sampled_from(sorted(BARE.values())),
    st.builds(file_key, paths),
    st.builds(config_key, paths, fact_names | st.sampled_from(["sha256", "registry"])),
    st.builds(runtime_key, fact_names | st.sampled_from(["pid", "started_at", "reachable"])),
)


def test_the_spellings_in_plan_files():
    assert {name: decode(name) for name in BARE} == BARE
    assert encode(file_key("server/index.js")) == "file:server/index.js"
    assert encode(config_key("~/x/settings.json", "sha256")) == "config:~/x/settings.json:sha256"
    assert encode(runtime_key("pid")) == "runtime:pid"


@given(keys)
@example(file_key("a:b"))
@example(file_key("manifest"))
@example(config_key("C:/x:y", "registry"))
@example(config_key(":", "sha256"))
def test_decode_inverts_encode(key: FactKey):
    text = encode(key)
    assert isinstance(text, str)
    assert decode(text) == key


prefixed = st.tuples(st.sampled_from(["", "file", "config", "runtime", "install", "source", "manifest", "tree"]),
                     st.sampled_from(["", ":", "::"]), st.text(max_size=12)).map("".join)


@given(st.text() | prefixed)
@example("")
@example("file:")
@example("config:x")
@example("config::sha256")
@example("config:x:")
@example("runtime:")
@example("runtime:a:b")
@example("install:dir:x")
@example("Manifest")
def test_decode_of_anything_is_a_key_that_spells_it_or_a_refusal(text: str):
    try:
        key = decode(text)
    except RefusedError as exc:
        assert exc.hint and "\n" not in exc.message  # one line, with what to do
        return
    assert encode(key) == text  # one spelling per key: a decoded key re-encodes to the same text


def test_encode_refuses_what_decode_cannot_read_back():
    with pytest.raises(ValueError):
        encode(FactKey("config", "a:b", "settings.json"))  # decode would split it at the last ':'
    with pytest.raises(ValueError):
        encode(FactKey("runtime", "a:b"))
