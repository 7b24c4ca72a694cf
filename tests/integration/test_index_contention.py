"""Issue 25.10: a second writer holding the index, a full disk or a ranking that fails to commit
never ends `add` in a traceback: it waits within a bound, then says so in one line, and loses
nothing already indexed."""

from __future__ import annotations

import errno
import sqlite3
import threading
from pathlib import Path

import pytest

from agent.index import DocumentIndex, IndexUnavailable
from agent.index import store
from agent.index.__main__ import main
from agent.index.ranking import RankingWrite
from tests.index_helpers import words


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("zebrafirst " + words(50), encoding="utf-8")
    (tmp_path / "b.txt").write_text("zebrasecond " + words(50, seed="other"), encoding="utf-8")
    return tmp_path


def hold_write_lock(index_dir: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(index_dir / store.DB_NAME, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # what another `add` in the middle of its write holds
    return holder


def test_a_lock_held_past_the_wait_is_one_line_and_loses_nothing(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.1)
    monkeypatch.setattr(store, "WRITE_WAIT_S", 0.5)
    idx = folder / "idx"
    assert main(["add", str(folder / "a.txt"), "--index", str(idx)]) == 0
    holder = hold_write_lock(idx)
    try:
        assert main(["add", str(folder / "b.txt"), "--index", str(idx)]) == 1
    finally:
        holder.rollback()
        holder.close()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [err.strip()]
    assert "stayed locked by another process" in err and "nothing was changed" in err
    with DocumentIndex(idx, read_only=True) as index:
        assert [d.name for d in index.documents()] == ["a.txt"] and index.search("zebrafirst")


def test_a_lock_released_within_the_wait_is_waited_for(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.1)
    monkeypatch.setattr(store, "WRITE_WAIT_S", 60.0)
    idx = folder / "idx"
    assert main(["add", str(folder / "a.txt"), "--index", str(idx)]) == 0
    holder = hold_write_lock(idx)
    release = threading.Timer(0.5, holder.rollback)  # the other writer finishes after a while
    release.start()
    try:
        assert main(["add", str(folder / "b.txt"), "--index", str(idx)]) == 0
    finally:
        release.join()
        holder.close()
    with DocumentIndex(idx, read_only=True) as index:
        assert {d.name for d in index.documents()} == {"a.txt", "b.txt"}


def test_a_full_disk_is_one_clear_error(folder: Path) -> None:
    with DocumentIndex(folder / "idx") as index:
        index.add_file(folder / "a.txt")
        pages = index._db.execute("PRAGMA page_count").fetchone()[0]
        index._db.execute(f"PRAGMA max_page_count = {pages + 1}")  # SQLite's own "disk is full"
        big = " ".join(words(200_000)).encode()
        with pytest.raises(IndexUnavailable, match="is full; nothing was changed"):
            index.add_bytes(big, key="big.txt", name="big.txt")
        assert [d.name for d in index.documents()] == ["a.txt"]


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), ValueError("IO error: broken")])
def test_a_ranking_commit_failure_is_caught_and_rolled_back(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                            failure: Exception,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    idx = folder / "idx"
    assert main(["add", str(folder / "a.txt"), "--index", str(idx)]) == 0

    def fail(self, version: int) -> None:
        raise failure

    monkeypatch.setattr(RankingWrite, "commit", fail)
    assert main(["add", str(folder / "b.txt"), "--index", str(idx)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("error: ") and "nothing was changed" in err
    monkeypatch.undo()
    with DocumentIndex(idx, read_only=True) as index:
        assert [d.name for d in index.documents()] == ["a.txt"]
    assert main(["add", str(folder / "b.txt"), "--index", str(idx)]) == 0  # and the next add works
