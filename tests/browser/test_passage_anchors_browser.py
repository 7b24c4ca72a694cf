"""Two answers in one chat each cite their own document source [1]: each answer's chip opens
that answer's passage, never the other's (every answer numbers its sources from 1, so the
passages' anchors must be the answer's own). Scripted backend; Debian's chromium."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from agent.config import Settings  # noqa: E402
from tests.browser.test_documents_browser import upload  # noqa: E402
from tests.browser.test_ui_browser import ANSWER, DONE_JS, ask, close, page_for  # noqa: E402
from tests.ui_helpers import serve  # noqa: E402

LISBON = "The Lisbon office grew revenue by twelve percent."
PORTO = "The Porto office cut its costs by a third."

def rounds(query: str, answer: str) -> list[str]:
    return ["Look in their files.\n</think>\n\n<tool_call>\n"
            f'{{"name": "search_documents", "arguments": {{"query": "{query}"}}}}\n</tool_call>',
            f"Found it.\n</think>\n\n{answer}"]


SCRIPT = {"questions": {"How did Lisbon do?": rounds("Lisbon revenue", "Lisbon grew [1]."),
                        "And Porto?": rounds("Porto costs", "Porto cut costs [1].")}}
# The passage a click shows: open, and its middle inside the window.
SHOWN_JS = """() => [...document.querySelectorAll('#chat details.passage')].filter(d => {
    const r = d.getBoundingClientRect();
    return d.open && r.height > 0 && r.top + r.height / 2 >= 0 && r.top + r.height / 2 <= innerHeight;
}).map(d => d.innerText)"""


@pytest.fixture()
def ui(tmp_path: Path):
    script = tmp_path / "rounds.json"
    script.write_text(json.dumps(SCRIPT), encoding="utf-8")
    (tmp_path / "web.json").write_text("{}", encoding="utf-8")
    settings = Settings(backend="scripted", model_script=str(script), search_fixture=str(tmp_path / "web.json"),
                        provider="fixture", results_per_search=1)
    demo, url = serve(settings)
    yield url
    demo.close()


# Where the passages and the chat pane are, for a failure to say what the click did.
PLACES_JS = """() => ({pane: (p => p && [p.scrollTop, p.scrollHeight, p.clientHeight])(
        document.querySelector('#chat [role=log]')), innerHeight,
    passages: [...document.querySelectorAll('#chat details.passage')].map(d => {
        const r = d.getBoundingClientRect();
        return [d.id, d.open, Math.round(r.top), Math.round(r.height)]; })})"""


def finished(page, answers: int) -> None:
    page.wait_for_function(f"document.querySelectorAll('{ANSWER}').length >= {answers} && {DONE_JS}",
                           timeout=60_000)


def test_each_answers_chip_opens_its_own_passage(browser, ui, tmp_path: Path) -> None:
    for name, text in (("lisbon.md", LISBON), ("porto.md", PORTO)):
        (tmp_path / name).write_text(f"# {name}\n\n{text}\n", encoding="utf-8")
    page = page_for(browser, ui, viewport={"width": 1000, "height": 700})
    upload(page, tmp_path / "lisbon.md", tmp_path / "porto.md")
    page.wait_for_function("document.querySelector('#doc-list')?.innerText.includes('porto.md')")
    page.keyboard.press("Escape")  # the drawer goes; the chat is in front again
    ask(page, "How did Lisbon do?")
    finished(page, 1)
    ask(page, "And Porto?")
    finished(page, 2)

    ids = page.eval_on_selector_all("#chat details.passage", "els => els.map(e => e.id)")
    assert len(ids) == len(set(ids)), f"a passage id appears twice in the chat: {sorted(ids)}"
    passages = page.locator("#chat details.passage")
    assert passages.count() == 2
    answers = page.locator(ANSWER)
    first, second = answers.nth(0).locator("a.cite"), answers.nth(answers.count() - 1).locator("a.cite")
    assert first.get_attribute("title").startswith("1. ") and second.get_attribute("title").startswith("1. ")
    assert first.get_attribute("href") != second.get_attribute("href")

    for chip, text, other in ((second, PORTO, LISBON), (first, LISBON, PORTO), (second, PORTO, LISBON)):
        page.evaluate("document.querySelectorAll('#chat details.passage').forEach(d => d.open = false)")
        chip.scroll_into_view_if_needed()
        chip.click()
        # What the click brought into view, read in the same frame it appeared (a later frame may
        # already have scrolled the pane on, under load).
        try:
            shown = page.wait_for_function(f"(() => {{ const s = ({SHOWN_JS})(); return s.length ? s : null; }})()",
                                           timeout=30_000).json_value()
        except playwright_api.TimeoutError:
            raise AssertionError(f"clicking {chip.get_attribute('href')} showed no passage in the window; "
                                 f"the chat: {page.evaluate(PLACES_JS)}") from None
        assert any(text in s for s in shown) and not any(other in s for s in shown), shown
    close(page)


def test_a_conversation_exports_document_citation_opens_its_own_answers_passage(browser, tmp_path: Path) -> None:
    """In the whole-conversation HTML (no script), answer 2's [1] scrolls to answer 2's source and
    shows its passage."""
    from tests.unit.test_reports import document_conversation
    from agent.records.conversation import Conversation
    from tests.engine_helpers import recorded
    from ui.conversation_export import ConversationExport

    conversation = ConversationExport(record=Conversation())
    for meta, events in document_conversation():
        recorded(conversation.record, meta["question"], events, meta=meta)
    html_path, _ = conversation.write(tmp_path)
    page = browser.new_context(viewport={"width": 800, "height": 500}).new_page()
    page.goto(Path(html_path).as_uri())
    for article, passage, other in ((1, "Porto cut costs.", "Lisbon grew revenue."),
                                    (0, "Lisbon grew revenue.", "Porto cut costs.")):
        page.locator("article").nth(article).locator("section.answer a.cite").click()
        target = page.locator("li:target")
        target.wait_for()
        assert passage in target.inner_text() and other not in target.inner_text()
        shown = target.locator(".pre").first
        assert shown.is_visible() and shown.inner_text() == passage
        box = shown.bounding_box()
        assert box is not None and 0 <= box["y"] < 500
    close(page)
