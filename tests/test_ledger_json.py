"""The ledger's serialisation: canonical_json builds a large ``files`` map entry by entry (json's indenting
encoder is pure Python), and must write exactly the bytes json.dumps(indent=2, sort_keys=True) writes."""

from __future__ import annotations

import json
import os
import stat

from hypothesis import given, settings
from hypothesis import strategies as st

from trueup.model.facts import FileFact, write_mode
from trueup.state import atomic
from trueup.state.canonical import canonical_json
from trueup.state.ledger_entry import compact

hexes = st.text("0123456789abcdef", min_size=64, max_size=64)
entries = st.one_of(
    st.builds(lambda m, h: {"type": "file", "mode": m, "sha256": h}, st.sampled_from(["0644", "0755", "0664"]), hexes),
    st.builds(lambda h: {"type": "symlink", "sha256": h}, hexes),
    st.builds(lambda h: {"type": "file", "mode": "0644", "sha256": h.upper()}, hexes),  # not canonical: stays a dict
)
paths = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=30, deadline=None)
@given(files=st.dictionaries(paths, entries, min_size=0, max_size=120))
def test_canonical_json_of_a_ledger_is_json_dumps(files):
    document = {"format_version": 1, "name": "x", "files": files, "accepted": {"ü": {"fact": {"type": "absent"}}},
                "backups": [], "version": None}
    expected = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert canonical_json(document) == expected
    assert canonical_json(json.loads(expected, object_hook=compact)) == expected  # with compact Entry values


def test_write_mode_keeps_bits_unless_the_executable_bit_changes():
    live = FileFact("file", "0664", "a" * 64)
    assert write_mode(live, "0644", False) == 0o664  # umask 002 install: stays 0664
    assert write_mode(live, "0755", False) == 0o775  # becomes executable: x where r is
    assert write_mode(FileFact("file", "0775", "a" * 64), "0644", False) == 0o664
    assert write_mode(live, "0644", True) == 0o644  # modes: exact writes the source's mode
    assert write_mode(FileFact("absent"), "0755", False) == 0o755  # nothing there: the source's mode
    assert FileFact("file", "0664", "a").matches(FileFact("file", "0644", "a"))
    assert not FileFact("file", "0664", "a").matches(FileFact("file", "0644", "a"), exact=True)
    assert not FileFact("file", "0744", "a").matches(FileFact("file", "0644", "a"))


def test_write_files_writes_each_file_whole_with_its_mode(tmp_path):
    (tmp_path / "old").write_bytes(b"before")
    items = [(tmp_path / "old", b"after", 0o664), (tmp_path / "new/deep/file", b"x" * 300_000, 0o755)]
    with atomic.batch_dir_syncs():
        atomic.write_files(items)
    assert (tmp_path / "old").read_bytes() == b"after"
    assert stat.S_IMODE(os.stat(tmp_path / "old").st_mode) == 0o664
    assert (tmp_path / "new/deep/file").read_bytes() == b"x" * 300_000
    assert stat.S_IMODE(os.stat(tmp_path / "new/deep/file").st_mode) == 0o755
    assert not [p for p in tmp_path.rglob("*") if atomic.TMP_MARKER in p.name]
