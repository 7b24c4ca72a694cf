"""The index's two stores (SQLite documents, tantivy ranking) kept in step: crashes between their
commits, other processes' writes, a missing, damaged or stale ranking, an index made before
tantivy ranked it."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agent.index import DocumentIndex, IndexUnavailable
from agent.index import ranking
from agent.index.ranking import RankingBroken, RankingWrite
from agent.index.store import DB_NAME, RANKING_DIR
from tests.index_helpers import write_corpus

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent.index", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHON_DOTENV_DISABLED": "1"})


def _note(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """An index of two notes; returns its directory."""
    with DocumentIndex(tmp_path / "idx") as index:
        index.add_file(_note(tmp_path, "a.txt", "Wombats produce cube-shaped droppings."))
        index.add_file(_note(tmp_path, "b.txt", "The okapi is a forest giraffid."))
    return tmp_path / "idx"


class _CommitFails:
    """SQLite's connection whose next commit fails, as when the process dies or the disk fills
    after tantivy has committed."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self._real = real

    def __getattr__(self, name: str):
        return getattr(self._real, name)

    def commit(self) -> None:
        raise sqlite3.OperationalError("disk I/O error")


def test_a_failure_between_the_two_commits_loses_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _note(tmp_path, "keep.txt", "Original text about tardigrades.")
    index = DocumentIndex(tmp_path / "idx")
    index.add_file(doc)
    doc.write_text("Replacement text about numbats.", encoding="utf-8")
    real = index._db
    monkeypatch.setattr(index, "_db", _CommitFails(real))
    # Issue 25.10: any SQLite failure is one IndexUnavailable that names the cause.
    with pytest.raises(IndexUnavailable, match="disk I/O error.*nothing was changed"):
        index.add_file(doc)
    monkeypatch.setattr(index, "_db", real)
    # tantivy committed the replacement, SQLite did not: a reader must not trust that ranking.
    with DocumentIndex(tmp_path / "idx", read_only=True) as reader:
        assert reader.search("tardigrades")[0].text == "Original text about tardigrades."
        assert reader.search("numbats") == []
    assert any("ahead of the documents" in w and "in memory" in w for w in _warnings(caplog))
    caplog.clear()
    assert index.search("tardigrades")[0].text == "Original text about tardigrades."  # the writer repairs
    assert any("rebuilt from 1 stored passages" in w for w in _warnings(caplog))
    caplog.clear()
    with DocumentIndex(tmp_path / "idx", read_only=True) as reader:
        assert reader.search("tardigrades")[0].file == "keep.txt"
    assert _warnings(caplog) == []
    assert index.add_file(doc).status == "updated"
    assert index.search("numbats")[0].text == "Replacement text about numbats."
    index.close()


def test_a_ranking_that_cannot_commit_fails_the_add_with_a_line_and_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _note(tmp_path, "keep.txt", "Original text about tardigrades.")
    with DocumentIndex(tmp_path / "idx") as index:
        index.add_file(doc)
        doc.write_text("Replacement text about numbats.", encoding="utf-8")

        def no_space(self: RankingWrite, version: int) -> None:
            raise RankingBroken("the ranking index in 'idx/ranking' could not commit: No space left on device")

        with monkeypatch.context() as patch:
            patch.setattr(RankingWrite, "commit", no_space)
            with pytest.raises(IndexUnavailable, match="disk holding the index .* is full; nothing was changed: free some space"):
                index.add_file(doc)
        assert index.search("tardigrades")[0].text == "Original text about tardigrades."
        assert index.search("numbats") == [] and index.stats().passages == 1
        assert index.add_file(doc).status == "updated"
        assert index.search("numbats")[0].file == "keep.txt"


def test_a_reader_sees_another_process_add_and_remove(tmp_path: Path, built: Path) -> None:
    with DocumentIndex(built, read_only=True) as reader:
        assert reader.search("quokkas") == []
        new = _note(tmp_path, "new.txt", "Quokkas smile at tourists.")
        assert _cli("add", str(new), "--index", str(built)).returncode == 0
        assert reader.search("quokkas")[0].file == "new.txt"
        assert _cli("remove", str(new), "--index", str(built)).returncode == 0
        assert reader.search("quokkas") == []
        assert reader.search("okapi")[0].file == "b.txt"


def _break(built: Path, how: str, tmp_path: Path) -> None:
    ranking = built / RANKING_DIR
    if how == "missing":
        shutil.rmtree(ranking)
    elif how == "corrupt":
        (ranking / "meta.json").write_text("not json", encoding="utf-8")
    else:  # stale: a ranking from before the last add, as if restored from an old copy
        shutil.copytree(ranking, tmp_path / "old-ranking")
        with DocumentIndex(built) as index:
            index.add_file(_note(tmp_path, "c.txt", "Pangolins are covered in scales."))
        shutil.rmtree(ranking)
        shutil.copytree(tmp_path / "old-ranking", ranking)


def _index_files(built: Path) -> list[str]:
    """The index's files, without SQLite's WAL files, which any reader may create."""
    return sorted(p.name for p in built.rglob("*") if not p.name.endswith(("-wal", "-shm")))


@pytest.mark.parametrize("how", ["missing", "corrupt", "stale"])
def test_a_broken_ranking_is_rebuilt_from_sqlite_with_one_line(tmp_path: Path, built: Path, how: str,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    _break(built, how, tmp_path)
    before = _index_files(built)
    with DocumentIndex(built, read_only=True) as reader:  # a reader ranks in memory, writes nothing
        assert reader.search("wombats")[0].file == "a.txt"
        assert reader.search("okapi")[0].file == "b.txt"
        if how == "stale":
            assert reader.search("pangolins")[0].file == "c.txt"
    assert _index_files(built) == before
    (line,) = _warnings(caplog)
    assert "in memory" in line and "python -m agent.index add" in line
    caplog.clear()
    with DocumentIndex(built) as writer:  # a writer stores it again
        assert writer.search("okapi")[0].file == "b.txt"
    assert any("rebuilt from" in w for w in _warnings(caplog))
    caplog.clear()
    with DocumentIndex(built, read_only=True) as reader:
        assert reader.search("wombats")[0].file == "a.txt"
    assert _warnings(caplog) == []


def test_a_ranking_with_an_older_layout_is_rebuilt(built: Path, monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A ranking whose words were cut another way (before CJK bigrams) would miss words it holds."""
    shutil.rmtree(built / RANKING_DIR)
    with monkeypatch.context() as older:
        older.setattr("agent.index.ranking.LAYOUT", ranking.LAYOUT - 1)
        with DocumentIndex(built) as writer:
            assert writer.search("okapi")[0].file == "b.txt"
    caplog.clear()
    with DocumentIndex(built, read_only=True) as reader:
        assert reader.search("okapi")[0].file == "b.txt"
    (line,) = _warnings(caplog)
    assert f"layout {ranking.LAYOUT - 1}" in line and "in memory" in line
    caplog.clear()
    with DocumentIndex(built) as writer:
        assert writer.search("wombats")[0].file == "a.txt"
    assert any("rebuilt from" in w for w in _warnings(caplog))


def test_cli_search_over_a_damaged_ranking_prints_a_line_not_a_traceback(tmp_path: Path, built: Path) -> None:
    _break(built, "corrupt", tmp_path)
    done = _cli("search", "wombats", "--index", str(built))
    assert done.returncode == 0 and "a.txt" in done.stdout
    assert "cannot be read" in done.stderr and "in memory" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_index_made_when_fts5_ranked_is_searched_and_converted(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    db = sqlite3.connect(folder / DB_NAME)
    db.executescript("""
        CREATE TABLE documents(id INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
            kind TEXT NOT NULL, title TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL,
            added REAL NOT NULL);
        CREATE TABLE passages(id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL REFERENCES documents(id)
            ON DELETE CASCADE, pid TEXT NOT NULL, title TEXT NOT NULL, heading TEXT, page INTEGER,
            text TEXT NOT NULL);
        CREATE VIRTUAL TABLE passages_fts USING fts5(title, heading, text, content='passages',
            content_rowid='id');
        CREATE TRIGGER passages_ai AFTER INSERT ON passages BEGIN
            INSERT INTO passages_fts(rowid, title, heading, text) VALUES (new.id, new.title, new.heading, new.text);
        END;
        INSERT INTO documents VALUES (1, '/x/old.md', 'old.md', 'md', 'Old', 'abc', 10, 0);
        INSERT INTO passages VALUES (7, 1, 'old.md#0', 'Old', 'Intro', NULL, 'Aardvarks dig burrows.');
    """)
    db.close()
    with DocumentIndex(folder, read_only=True) as reader:
        (hit,) = reader.search("aardvark burrows")
        assert (hit.file, hit.heading, hit.text) == ("old.md", "Intro", "Aardvarks dig burrows.")
    with DocumentIndex(folder) as writer:
        assert writer.search("aardvarks")[0].pid == "old.md#0"
        writer.add_file(_note(tmp_path, "new.txt", "Aardvarks eat ants."))
        assert len(writer.search("aardvarks", k=5)) == 2
    db = sqlite3.connect(folder / DB_NAME)
    assert db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'passages_fts%'").fetchall() == []
    db.close()


def test_threads_search_one_reader_while_a_writer_adds(tmp_path: Path, built: Path) -> None:
    reader = DocumentIndex(built, read_only=True)
    failures: list[BaseException] = []

    def search_many() -> None:
        try:
            for _ in range(40):
                assert reader.search("okapi", k=5)[0].file == "b.txt"
                assert reader.search("wombats", k=5)[0].file == "a.txt"
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=search_many) for _ in range(4)]
    for t in threads:
        t.start()
    with DocumentIndex(built) as writer:
        for i in range(8):
            writer.add_file(_note(tmp_path, f"n{i}.txt", f"Note {i} about capybaras."))
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    assert len(reader.search("capybaras", k=10)) == 8
    reader.close()


def test_whoever_may_read_the_database_may_read_the_ranking(tmp_path: Path, built: Path) -> None:
    """tantivy writes its meta files owner-only and its readers lock .tantivy-meta.lock for
    writing: another account (a server reading an index an operator built) needs both. (These
    tests run as root, which reads anything, so the modes themselves are checked.)"""
    (built / DB_NAME).chmod(0o640)
    with DocumentIndex(built) as index:
        index.add_file(_note(tmp_path, "c.txt", "Pangolins are covered in scales."))
    ranking = built / RANKING_DIR
    assert {(ranking / n).stat().st_mode & 0o777 for n in ("meta.json", ".managed.json")} == {0o640}
    assert (ranking / ".tantivy-meta.lock").stat().st_mode & 0o777 == 0o660


def test_a_large_add_leaves_no_large_wal_behind(tmp_path: Path) -> None:
    """SQLite keeps its WAL at the size of the largest write while the writer lives: a 6 MB add
    would otherwise double the folder's size on disk until the process ends."""
    rows = [(str(i), f"Row {i}", f"Entry {i} " + "lorem ipsum dolor " * 60) for i in range(6000)]
    corpus = write_corpus(tmp_path / "big.jsonl", rows)
    with DocumentIndex(tmp_path / "idx") as index:
        assert index.add_file(corpus).passages == 6000
        wal = tmp_path / "idx" / f"{DB_NAME}-wal"
        assert not wal.exists() or wal.stat().st_size < 4 * 1024 * 1024
        assert index.search("entry 5999")[0].pid == "5999"
