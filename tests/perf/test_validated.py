"""The validation memo: a hit only for the exact bytes and schema version that passed before."""

from trueup.state.validated import already_valid, remember_valid


def test_memo_hits_only_the_same_bytes_and_schema_version(tmp_path):
    assert not already_valid(tmp_path, "ledger", "v1", b"{}")
    remember_valid(tmp_path, "ledger", "v1", b"{}")
    assert already_valid(tmp_path, "ledger", "v1", b"{}")
    assert not already_valid(tmp_path, "ledger", "v1", b"{ }")
    assert not already_valid(tmp_path, "ledger", "v2", b"{}")
    assert not already_valid(tmp_path, "plan", "v1", b"{}")
    assert not already_valid(None, "ledger", "v1", b"{}")


def test_corrupt_memo_is_a_miss(tmp_path):
    remember_valid(tmp_path, "ledger", "v1", b"{}")
    (tmp_path / "validated-ledger.txt").write_bytes(b"\xff\xfe garbage")
    assert not already_valid(tmp_path, "ledger", "v1", b"{}")
