"""Code in the chat, in a real browser: tag-like text and [1] inside a ``~~~`` fence (as inside
```) show as the literal code the model wrote, neither chips nor HTML; outside code they are
escaped and linked as before. Scripted backend; Debian's chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from agent.config import Settings  # noqa: E402
from tests.browser.test_ui_browser import ANSWER, ask, close, page_for, wait_done  # noqa: E402
from tests.ui_helpers import serve  # noqa: E402

TILDE_CODE = "<script>window.__ran = 1</script> <b>bold?</b> [1]"
TICK_CODE = "<i>it?</i> [1]"
ANSWER_TEXT = (f"Outside <b>tags</b> show as text [1].\n\n~~~html\n{TILDE_CODE}\n~~~\n\n"
               f"```\n{TICK_CODE}\n```\n\nAnd `<u>[1]</u>` inline.")
SCRIPT = ["Search first.\n</think>\n\n<tool_call>\n"
          '{"name": "web_search", "arguments": {"query": "fences"}}\n</tool_call>',
          f"Done.\n</think>\n\n{ANSWER_TEXT}"]
SEARCH = {"fences": [{"title": "Fences", "url": "https://f.example/fences", "content": "About fences."}]}


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("fences")
    (folder / "script.json").write_text(json.dumps(SCRIPT), encoding="utf-8")
    (folder / "search.json").write_text(json.dumps(SEARCH), encoding="utf-8")
    settings = Settings(backend="scripted", model_script=str(folder / "script.json"),
                        search_fixture=str(folder / "search.json"), provider="fixture", script_delay_s=0.0)
    demo, url = serve(settings)
    yield url
    demo.close()


def test_tag_like_text_and_citations_in_a_tilde_fence_are_literal_code(browser, ui) -> None:
    page = page_for(browser, ui)
    ask(page, "Show me code")
    assert "· done" in wait_done(page)
    answer = page.locator(ANSWER).last
    blocks = answer.locator("pre code").all_inner_texts()
    assert [b.strip() for b in blocks] == [TILDE_CODE, TICK_CODE]
    assert answer.locator("code").last.inner_text() == "<u>[1]</u>"
    assert answer.locator("pre a.cite, code a.cite").count() == 0
    assert answer.locator("script, b, i, u").count() == 0 and page.evaluate("window.__ran") is None
    # Outside code: the tag is text and [1] is a chip, as before.
    assert "Outside <b>tags</b> show as text" in answer.inner_text()
    assert answer.locator("a.cite").count() == 1
    assert answer.locator("a.cite").get_attribute("href") == "https://f.example/fences"
    close(page)
