"""Two app processes on one data folder (issue 24's bad input): a browser on each asks at the same
time and one asks again afterwards; every answer is saved whole in the one database, which
neither process damages, moves aside or overwrites."""

from __future__ import annotations

import sqlite3

import pytest

from agent.api import HistoryConfig, open_store
from tests.browser.test_ui_browser import ask, open_app, wait_done
from tests.ui_helpers import stop_app
from tests.waiting import wait_until

expect = pytest.importorskip("playwright.sync_api").expect


def _both(store) -> dict | None:
    saved = {s.title: store.load(None, s.id) for s in store.list(None)}
    return saved if sum(len(s.turns) for s in saved.values()) == 3 else None


def test_two_app_processes_share_one_history_and_lose_nothing(browser, app_processes, tmp_path):
    lines: list[str] = []
    apps = app_processes.start_together(lines, 2, DEEPSEARCH_DATA_DIR=str(tmp_path))
    contexts = [browser.new_context(viewport={"width": 1100, "height": 1000}) for _ in apps]
    try:
        pages = []
        for context, (_, port) in zip(contexts, apps):
            page = context.new_page()
            open_app(page, f"http://127.0.0.1:{port}/")
            pages.append(page)
        questions = ["Asked on the first app", "Asked on the second app"]
        for page, question in zip(pages, questions):  # both answers run and are saved at once
            ask(page, question)
        for page, question in zip(pages, questions):
            wait_done(page)
            expect(page.locator("#history").get_by_role("button", name=question)).to_have_count(1, timeout=60_000)
        ask(pages[0], "A follow-up on the first app")  # the first app writes again after the second did
        wait_done(pages[0])
        store = open_store(HistoryConfig(data_dir=tmp_path))
        try:
            assert store.notice is None  # nothing was found damaged or moved aside
            # The follow-up is saved just after its answer ends (the event after it).
            saved = wait_until(lambda: _both(store), "the follow-up saved beside the second app's answer")
        finally:
            store.close()
        expect(pages[0].locator("#history-status")).not_to_contain_text("⚠")
        assert set(saved) == set(questions)
        assert [t.turn.question for t in saved[questions[0]].path()] == [questions[0], "A follow-up on the first app"]
        assert [t.turn.question for t in saved[questions[1]].path()] == [questions[1]]
        assert all(t.turn.done is not None and not s.problems for s in saved.values() for t in s.turns.values())
    finally:
        for proc, _ in apps:
            stop_app(proc)
        for context in contexts:
            context.close()
    db = sqlite3.connect(tmp_path / "history.sqlite3")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    assert not [p.name for p in tmp_path.iterdir() if ".damaged-" in p.name or ".newer-" in p.name]
