"""Parallel hashing gives exactly what one process gives; progress is reported and never printed off a TTY."""

from __future__ import annotations

import io

from tests.perf.helpers import IGNORE, SECRETS, facts, wide_tree
from trueup.files import fork
from trueup.files.probe import sha256_file
from trueup.files.tree import observe_tree


def test_forked_workers_equal_one_process(tmp_path):
    wide_tree(tmp_path)
    one = observe_tree(tmp_path, ignore=IGNORE, secrets=SECRETS, workers=1)
    three = observe_tree(tmp_path, ignore=IGNORE, secrets=SECRETS, workers=3)
    assert facts(one) == facts(three)
    assert list(three.files) == sorted(three.files)
    assert len(one.files) == 60 * 4 + 4  # top.js, keep.pyc, link, fifo
    assert "node_modules/m/i.js" not in one.files and "c/o.pyc" not in one.files
    assert one.files["c/keep.pyc"].sha256 == sha256_file(tmp_path / "c/keep.pyc")
    assert one.files["link"].type == "symlink" and one.files["fifo"].type == "other"
    assert one.secrets["x.secret"].sha256 is None and not any(k.startswith(".trueup") for k in one.files)


def test_matches_reference_hash_of_every_file(tmp_path):
    wide_tree(tmp_path, dirs=40, per_dir=2)
    snaps = {n: observe_tree(tmp_path, ignore=IGNORE, secrets=SECRETS, workers=n) for n in (1, 2, 3)}
    snap = snaps[2]
    regular = {rel: fact for rel, fact in snap.files.items() if fact.type == "file"}
    # An empty walk would pass the loop below vacuously: every file built must be there (40 × 2, top.js, keep.pyc).
    assert len(regular) == 40 * 2 + 2, sorted(regular)
    assert facts(snaps[1]) == facts(snap) == facts(snaps[3])
    for rel, fact in regular.items():
        assert fact.sha256 == sha256_file(tmp_path / rel), rel


def test_big_file_streams_in_chunks(tmp_path):
    data = bytes(range(256)) * (5 * 4096 + 3)  # > 1 MiB, not a multiple of the chunk
    (tmp_path / "big.bin").write_bytes(data)
    import hashlib

    snap = observe_tree(tmp_path, ignore=IGNORE, secrets=SECRETS, workers=1)
    assert snap.files["big.bin"].sha256 == hashlib.sha256(data).hexdigest()


def test_progress_reaches_the_total(tmp_path):
    wide_tree(tmp_path)
    seen: list[int] = []
    snap = observe_tree(tmp_path, ignore=IGNORE, secrets=SECRETS, workers=1, progress=seen.append)
    # Every entry the walk listed counts, ignored files in walked directories (c/o.pyc) included.
    assert seen and seen[-1] == len(snap.walked_paths()) == len(snap.files) + len(snap.secrets) + 1


def test_worker_count_is_one_when_threads_run():
    import threading

    event = threading.Event()
    t = threading.Thread(target=event.wait)
    t.start()
    try:
        assert fork.worker_count() == 1
    finally:
        event.set()
        t.join()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_silent_off_tty_in_ci_and_when_quiet(monkeypatch):
    from trueup import progress

    monkeypatch.delenv("CI", raising=False)
    with progress.progress_for(100, quiet=False, stream=io.StringIO()) as tick:
        assert tick is None
    with progress.progress_for(100, quiet=True, stream=_Tty()) as tick:
        assert tick is None
    monkeypatch.setenv("CI", "true")
    with progress.progress_for(100, quiet=False, stream=_Tty()) as tick:
        assert tick is None


def test_progress_bar_only_after_the_delay(monkeypatch):
    from trueup import progress

    monkeypatch.delenv("CI", raising=False)
    out = _Tty()
    with progress.progress_for(10, quiet=False, stream=out) as tick:
        tick(5)
        assert out.getvalue() == ""  # under a second: nothing drawn
        monkeypatch.setattr(progress, "DELAY_S", 0.0)
        tick(10)
    assert out.getvalue() != ""
