"""Keeping the ranking in step with SQLite, the store of record (``DocumentIndex``'s half that
owns the ranking).

How the two stay in step. SQLite keeps a version (``meta``), raised by every
write; the ranking keeps, in the same tantivy commit as its passages, the
version it matches. A write takes SQLite's write lock (``BEGIN IMMEDIATE``),
changes the rows, raises the version, commits tantivy, then commits SQLite; any
failure before SQLite's commit rolls SQLite back, so a failed add loses
nothing. Passage row ids are never reused, so a ranking hit always names the
passage it ranked or one that no longer exists (then it is left out). Hence:
- ranking version == SQLite version: in step;
- ranking ahead: a writer is between its two commits (a reader waits up to 2 s
  for SQLite to catch up), or died there (treated as below);
- anything else (missing, unreadable, behind): rebuilt from SQLite, with one
  warning line: on disk by a writer, in memory for this process by a reader,
  since readers never write.
Readers reload the ranking whenever SQLite's version moves, so a reader sees
another process's add on its next query.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Callable

from . import tables
from .ranking import Ranking, RankingBroken
from .tables import Change

DB_NAME = "index.sqlite3"
RANKING_DIR = "ranking"
# How long a reader waits for SQLite to catch up with a ranking one write ahead before taking
# the writer for dead: a live one is only an fsync away from its second commit.
AHEAD_POLLS, AHEAD_POLL_S = 40, 0.05
WAL_KEEP_BYTES = 4 * 1024 * 1024  # SQLite's own checkpoint runs at about this size (1,000 pages)

log = logging.getLogger(__name__)


class InStep:
    """The ranking of one index directory and the SQLite version it was checked against; its
    methods are called with the index's lock held."""

    directory: Path
    read_only: bool
    _db: sqlite3.Connection
    _ranking: Ranking | None
    _seen: int | None  # the SQLite version self._ranking was checked against

    @property
    def _ranking_dir(self) -> Path:
        return self.directory / RANKING_DIR

    def _write_locked(self, change: Callable[[], Change | None] | None) -> int:
        """Apply ``change`` to SQLite and the ranking as one write (see the module docstring);
        ``None`` only brings a stale ranking back in step. Returns the change's result."""
        self._db.execute("BEGIN IMMEDIATE")  # the write lock, shared by every process
        try:
            version = tables.version(self._db) or 0
            ranking = self._ranking = self._writable_ranking()
            done = change() if change is not None else None
            in_step = ranking.version == version
            if in_step and done is None:
                self._db.rollback()
                ranking.share(like=self.directory / DB_NAME)
                self._seen = version
                return 0
            tables.set_version(self._db, version + 1)
            self._commit_ranking(ranking, done if in_step else None, version=version + 1)
            ranking.share(like=self.directory / DB_NAME)
            self._db.commit()
        except BaseException:
            self._db.rollback()
            self._seen = None  # the ranking may have committed: check it again before trusting it
            raise
        self._seen = version + 1
        self._shrink_wal()
        return done.result if done is not None else 0

    def _shrink_wal(self) -> None:
        """Copy a large add back from the WAL into the database and empty the WAL: SQLite
        would otherwise keep the file at the size of the largest add while this process lives."""
        try:
            if (self.directory / f"{DB_NAME}-wal").stat().st_size > WAL_KEEP_BYTES:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (OSError, sqlite3.Error) as exc:
            log.debug("the WAL of %r stays as it is for now: %s", str(self.directory), exc)

    def _commit_ranking(self, ranking: Ranking, done: Change | None, *, version: int) -> None:
        """The ranking's half of a write: ``done``'s rows, or (None) every row SQLite holds."""
        if done is not None:
            with ranking.write(passages=len(done.added)) as batch:
                for doc_id in done.removed_docs:
                    batch.delete_document(doc_id)
                batch.add(done.ranking_rows())
                batch.commit(version)
            return
        started = time.perf_counter()
        total = tables.passage_count(self._db)
        with ranking.write(passages=total) as batch:
            batch.delete_everything()
            batch.add(tables.ranking_rows(self._db))
            batch.commit(version)
        log.warning("the ranking index in %r was rebuilt from %d stored passages in %.1f s",
                    str(self._ranking_dir), total, time.perf_counter() - started)

    def _writable_ranking(self) -> Ranking:
        """The on-disk ranking, created when missing and started afresh when unreadable."""
        try:
            return self._reloaded_disk_ranking(create=True)
        except RankingBroken as exc:
            log.warning("%s; starting it afresh", exc)
            shutil.rmtree(self._ranking_dir, ignore_errors=True)
            return Ranking(self._ranking_dir, create=True)

    # ---------------------------------------------------------------- reads

    def _ranking_for_search(self) -> Ranking:
        """A ranking in step with SQLite's current version. Call with the lock held."""
        for _ in range(AHEAD_POLLS):
            version = tables.version(self._db)
            if self._ranking is not None and self._seen == version:
                return self._ranking
            ranking, problem, ahead = self._disk_ranking_at(version)
            if ranking is not None:
                self._ranking, self._seen = ranking, version
                return ranking
            if not (ahead and self.read_only):
                break
            time.sleep(AHEAD_POLL_S)  # a writer between its two commits, or one that died there
        if not self.read_only:
            self._write_locked(None)  # rebuilds on disk under the write lock, unless another writer did
            assert self._ranking is not None
            return self._ranking
        return self._rebuild_in_memory(problem)

    def _disk_ranking_at(self, version: int | None) -> tuple[Ranking | None, str, bool]:
        """(the on-disk ranking if it matches ``version``, else None; what is wrong with it;
        whether it is ahead of SQLite)."""
        try:
            ranking = self._reloaded_disk_ranking(create=False)
        except RankingBroken as exc:
            return None, str(exc), False
        if version is None:
            return None, "the index was made before tantivy ranked it", False
        if ranking.version == version:
            return ranking, "", False
        ahead = ranking.version > version
        return None, (f"{'ahead of' if ahead else 'behind'} the documents: at version "
                      f"{ranking.version}, they are at {version}"), ahead

    def _reloaded_disk_ranking(self, *, create: bool) -> Ranking:
        if self._ranking is not None and self._ranking.path is not None:
            self._ranking.reload()
            return self._ranking
        return Ranking(self._ranking_dir, create=create)

    def _rebuild_in_memory(self, problem: str) -> Ranking:
        """A reader's own ranking, from one consistent read of SQLite."""
        started = time.perf_counter()
        self._db.execute("BEGIN")
        try:
            version = tables.version(self._db)
            ranking = Ranking(None, create=True)
            total = tables.passage_count(self._db)
            with ranking.write(passages=total) as batch:
                batch.add(tables.ranking_rows(self._db))
                batch.commit(version or 0)
        finally:
            self._db.rollback()
        log.warning("the ranking index in %r is unusable (%s); ranked %d passages in memory for this "
                    "process in %.1f s. Open the index for writing once (e.g. `python -m agent.index add "
                    "FILE --index %s`) to store it again", str(self._ranking_dir), problem, total,
                    time.perf_counter() - started, self.directory)
        self._ranking, self._seen = ranking, version
        return ranking
