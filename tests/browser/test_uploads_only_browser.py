"""Search only my documents (issue 25.5), in a real browser: the Documents panel's box makes the
search tool search the files this tab added and not the web; it and the Settings' provider are one
setting; ticked before any upload, a question is refused with a toast and the page stays idle.
Scripted backend (a web_search call, then an answer citing [1]); Debian's chromium."""

from __future__ import annotations

import json

import pytest

from agent.config import Settings
from tests.browser.test_documents_browser import files, open_documents  # noqa: F401 (fixture)
from tests.browser.test_ui_browser import ask, close, open_panels, page_for, wait_done
from tests.ui_helpers import serve

ROUNDS = [
    "The user asks about revenue.\n</think>\n\n<tool_call>\n"
    '{"name": "web_search", "arguments": {"query": "revenue Lisbon"}}\n</tool_call>',
    "Found it.\n</think>\n\nRevenue grew 12% [1].",
]
WEB_TITLE = "Lisbon revenue on the web"
ONLY = "#docs-only input[type=checkbox]"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("script")
    script = folder / "rounds.json"
    script.write_text(json.dumps(ROUNDS), encoding="utf-8")
    web = folder / "web.json"
    web.write_text(json.dumps({"revenue Lisbon": [{"title": WEB_TITLE, "url": "https://web.example/lisbon",
                                                   "content": "Revenue in Lisbon, as the web says."}]}),
                   encoding="utf-8")
    settings = Settings(backend="scripted", model_script=str(script), search_fixture=str(web),
                        provider="fixture", concurrency_local=2, read="off")
    demo, url = serve(settings)
    yield url
    demo.close()


def provider_shown(page) -> str:
    return page.input_value("#set-provider input")


def chat_text(page) -> str:
    open_panels(page)
    return page.inner_text("#chat")


def reopen_documents(page) -> None:
    """A run (a refused one too) closes the drawer: wait for that, then open it (the Documents
    panel in it stays open)."""
    page.wait_for_function("!document.body.classList.contains('tools-open')", timeout=10_000)
    page.click("#tools-toggle")
    page.wait_for_selector("#doc-upload", state="visible")


def test_search_only_my_documents(browser, ui, files) -> None:  # noqa: F811
    page = page_for(browser, ui)
    open_documents(page)
    assert provider_shown(page) == "Bundled results (offline)" and not page.is_checked(ONLY)
    # Where the README says the panel is: the last part of the ⚙ Settings drawer, below the settings.
    assert page.evaluate("""() => { const tools = document.querySelector('#tools'),
        docs = document.querySelector('#documents'), settings = document.querySelector('#settings');
        const last = [...tools.querySelectorAll('#settings, #replay-upload, #documents')].pop();
        return tools.contains(docs) && last === docs
            && docs.getBoundingClientRect().top > settings.getBoundingClientRect().bottom; }""")

    page.check(ONLY)  # ... before any upload: the question is refused, nothing runs
    page.wait_for_function("document.querySelector('#set-provider input').value === 'Only my uploaded documents'")
    ask(page, "What happened to revenue?")
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=10_000)
    assert "no document has been added yet" in toast.inner_text()
    # Read, the note is closed, as people do: it lies over the drawer's toggle until it goes.
    page.locator('[data-testid="toast-close"]').first.click()
    page.wait_for_selector(".toast-body", state="detached", timeout=30_000)
    page.wait_for_selector("#ask", state="visible", timeout=10_000)  # idle, not stuck on Stop
    assert page.locator("#chat [data-testid=bot]").count() == 0

    reopen_documents(page)
    page.set_input_files("#documents input[type=file]", [str(files["report"])])
    page.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('report.pdf')")
    page.locator(".toast-body").evaluate_all("els => els.forEach(e => e.closest('.toast-wrap')?.remove())")
    ask(page, "What happened to revenue?")
    wait_done(page)
    shown = chat_text(page)
    assert "via your uploaded documents" in shown and "report.pdf, page 2" in shown  # the upload was searched ...
    assert WEB_TITLE not in shown and "web.example" not in shown  # ... and the web was not

    reopen_documents(page)  # unticked: the provider goes back, and the web is searched again
    page.uncheck(ONLY)
    page.wait_for_function("document.querySelector('#set-provider input').value === 'Bundled results (offline)'")
    ask(page, "And on the web?")
    page.wait_for_function("document.querySelectorAll('#chat [data-testid=user]').length === 2")
    wait_done(page)
    assert WEB_TITLE in chat_text(page)

    reopen_documents(page)  # the provider chosen in Settings ticks the box
    page.click("#set-provider input")
    page.click("ul[role=listbox] >> text=Only my uploaded documents")
    page.wait_for_function(f"document.querySelector('{ONLY}').checked")
    close(page)
