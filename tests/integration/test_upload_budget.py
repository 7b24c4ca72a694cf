"""Gradio's upload route is bounded per client and overall even when no handler takes the file
(issue 25.21): past the budget it answers 429, other routes are untouched."""

from __future__ import annotations

import httpx

from agent.config import Settings
from tests.browser.test_ui_browser import DATA
from tests.ui_helpers import serve
import ui.upload_budget as budget


def test_uploads_past_the_budget_are_refused(monkeypatch) -> None:
    monkeypatch.setattr(budget, "PER_CLIENT_BYTES", 1_000_000)
    built, url = serve(Settings(backend="scripted", model_script=str(DATA / "ui.script.json"),
                                search_fixture=str(DATA / "ui.search.json"), provider="fixture"))
    try:
        codes = []
        for i in range(4):
            files = {"files": (f"blob{i}.txt", b"x" * 300_000, "text/plain")}
            codes.append(httpx.post(f"{url}gradio_api/upload", files=files, timeout=30).status_code)
        assert codes[:3] == [200, 200, 200] and codes[3] == 429, codes
        refused = httpx.post(f"{url}gradio_api/upload", files={"files": ("b.txt", b"x" * 300_000, "text/plain")},
                             timeout=30)
        assert refused.status_code == 429 and "try again later" in refused.json()["error"]
        assert httpx.get(f"{url}config", timeout=30).status_code == 200  # the rest of the app answers
    finally:
        built.blocks.close()


def test_the_budget_counts_every_client_together() -> None:
    gate = budget.UploadBudget(lambda *a: None, per_client=10, total=15, window_s=60, clock=lambda: 0.0)
    assert gate._charge("a", 8) is None and gate._charge("b", 7) is None
    assert gate._charge("c", 1)[0] == 429  # everyone's total is spent
    assert gate._charge("a", None)[0] == 411
