"""Documents in the browser: upload, list, cite, open the passage, remove; private to one
browser session and deleted when it ends. Scripted backend; Debian's chromium."""

from __future__ import annotations

import glob
import json
import os
import tempfile
from pathlib import Path

import pytest

from tests.index_helpers import encrypt_pdf, make_pdf

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path("/usr/bin/chromium").exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from agent.config import Settings  # noqa: E402
from tests.browser.test_ui_browser import (ask, close, open_drawer, open_panels, page_for,  # noqa: E402
                                   titles, wait_done)
from tests.ui_helpers import serve  # noqa: E402
from tests.waiting import wait_until  # noqa: E402

ROUNDS = [
    "The user asks about their report.\n</think>\n\n<tool_call>\n"
    '{"name": "search_documents", "arguments": {"query": "revenue Lisbon"}}\n</tool_call>',
    "Found it.\n</think>\n\nRevenue grew 12% [1].",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("uploads")
    report = folder / "report.pdf"
    report.write_bytes(make_pdf(["Cover page.", "Revenue grew 12 percent thanks to the Lisbon office."],
                                title="Annual report"))
    locked = folder / "locked.pdf"
    locked.write_bytes(encrypt_pdf(make_pdf(["secret"]), "pw"))
    notes = folder / "notes.md"
    notes.write_text("# Notes\n\nNothing about money.\n", encoding="utf-8")
    return {"report": report, "locked": locked, "notes": notes}


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory):
    script = tmp_path_factory.mktemp("script") / "rounds.json"
    script.write_text(json.dumps(ROUNDS), encoding="utf-8")
    fixture = script.parent / "web.json"
    fixture.write_text("{}", encoding="utf-8")
    settings = Settings(backend="scripted", model_script=str(script), search_fixture=str(fixture),
                        provider="fixture", concurrency_local=2)
    demo, url = serve(settings)
    yield url
    demo.close()


def open_documents(page) -> None:
    open_drawer(page)
    if not page.is_visible("#doc-upload"):
        page.click("#documents .label-wrap")
    page.wait_for_selector("#doc-upload", state="visible")


def upload(page, *paths: Path) -> None:
    open_documents(page)
    page.set_input_files("#documents input[type=file]", [str(p) for p in paths])


def listed(page) -> str:
    return page.inner_text("#doc-list") if page.is_visible("#doc-list") else ""


def shelves() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "deepsearch-docs-*")))


def test_upload_cite_open_passage_remove_and_isolation(browser, ui, files) -> None:
    before = shelves()
    a, b = page_for(browser, ui), page_for(browser, ui)
    upload(a, files["report"], files["locked"], files["notes"])
    a.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('locked.pdf')")
    status = a.inner_text("#doc-status")
    assert "✓ added report.pdf (2 passages)" in status and "✓ added notes.md (1 passage)" in status
    assert "locked.pdf: the PDF is encrypted with a password" in status
    a.wait_for_function("document.querySelector('#doc-list')?.innerText.includes('report.pdf')")
    assert "report.pdf" in listed(a) and "notes.md" in listed(a) and "locked.pdf" not in listed(a)
    mine = shelves() - before
    assert len(mine) == 1

    # B sees none of A's documents, and its model cannot search them.
    open_documents(b)
    assert listed(b) == ""
    ask(b, "What happened to revenue?")
    wait_done(b)
    open_panels(b)
    assert not [t for t in titles(b) if t.startswith("Search")]
    assert "Lisbon" not in b.inner_text("#chat") and "report.pdf" not in b.inner_text("#chat")

    ask(a, "What happened to revenue?")
    assert "searches 1/5 · done" in wait_done(a)
    citation = a.locator('#chat a.cite[href^="#passage-"]')
    assert citation.count() >= 1
    citation.first.click()
    passage = a.locator(f'details[id="{citation.first.get_attribute("href")[1:]}"]')
    passage.wait_for(state="visible")
    assert "report.pdf, page 2" in passage.inner_text()
    assert "Revenue grew 12 percent thanks to the Lisbon office." in passage.inner_text()

    open_drawer(a)  # a run closes the Settings drawer (issue 25.6); the open Documents panel is in it
    a.wait_for_selector("#doc-choice input", state="visible")
    a.click("#doc-choice input")
    a.click("ul[role=listbox] >> text=report.pdf")
    a.click("#doc-remove")
    a.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('Removed report.pdf')")
    assert "report.pdf" not in listed(a) and "notes.md" in listed(a)

    close(b)
    close(a)
    wait_until(lambda: not mine & shelves(), "closing the tab deleting its documents", interval=0.1)


def test_an_operators_index_is_shared_read_only_by_every_visitor(browser, files, tmp_path: Path) -> None:
    from agent.index import DocumentIndex

    shared = tmp_path / "shared-index"
    with DocumentIndex(shared) as index:
        index.add_file(files["report"])
    script = tmp_path / "rounds.json"
    script.write_text(json.dumps(ROUNDS), encoding="utf-8")
    (tmp_path / "web.json").write_text("{}", encoding="utf-8")
    settings = Settings(backend="scripted", model_script=str(script), search_fixture=str(tmp_path / "web.json"),
                        provider="fixture", index_dir=str(shared), concurrency_local=2)
    demo, url = serve(settings)
    try:
        for _visitor in range(2):
            page = page_for(browser, url)
            open_documents(page)
            assert "a shared index of 1 document (2 passages), read-only" in page.inner_text("#documents")
            assert listed(page) == ""  # the shared documents are not the visitor's to remove
            ask(page, "What happened to revenue?")
            assert "searches 1/5 · done" in wait_done(page)
            open_panels(page)
            assert "report.pdf, page 2" in page.inner_text("#chat")
            close(page)
    finally:
        demo.close()
    with DocumentIndex(shared, read_only=True) as index:
        assert index.stats().documents == 1


def gradio_copies(name: str) -> list[Path]:
    from gradio.utils import get_upload_folder

    return [p for p in Path(get_upload_folder()).rglob(name) if p.is_file()]


def test_same_file_name_in_two_sessions_stays_apart_and_leaves_no_copy(browser, ui, tmp_path: Path) -> None:
    """Two visitors upload different files both called minutes.md: each searches only their own,
    and Gradio's cached copy of each upload is gone once it is indexed (the cache would otherwise
    keep a visitor's file until the server restarts, long after their session ended)."""
    mine, theirs = tmp_path / "a" / "minutes.md", tmp_path / "b" / "minutes.md"
    for path, text in ((mine, "The Lisbon office grew revenue."), (theirs, "The Porto office cut costs.")):
        path.parent.mkdir()
        path.write_text(f"# Minutes\n\n{text}\n", encoding="utf-8")
    a, b = page_for(browser, ui), page_for(browser, ui)
    upload(a, mine)
    upload(b, theirs)
    for page in (a, b):
        page.wait_for_function("document.querySelector('#doc-status')?.innerText.includes('minutes.md')")
        assert "✓ added minutes.md (1 passage)" in page.inner_text("#doc-status")
    assert gradio_copies("minutes.md") == []
    ask(a, "What happened to revenue?")
    wait_done(a)
    open_panels(a)
    assert "Lisbon" in a.inner_text("#chat") and "Porto" not in a.inner_text("#chat")
    close(a)
    close(b)


def test_an_upload_over_the_size_limit_is_refused_before_it_is_stored(browser, ui, tmp_path: Path) -> None:
    """Gradio stores an upload whole before a handler sees it: the cap must hold at the door."""
    import httpx

    from ui.documents import MAX_FILE_MB

    big = tmp_path / "huge.txt"
    big.write_bytes(b"word " * (MAX_FILE_MB * 1_000_000 // 5 + 1000))
    with big.open("rb") as body:
        direct = httpx.post(f"{ui}gradio_api/upload", files={"files": ("huge.txt", body, "text/plain")}, timeout=60)
    assert direct.status_code == 413, direct.text[:300]
    page = page_for(browser, ui)
    upload(page, big)
    page.wait_for_function("document.body.innerText.includes('exceed the maximum allowed size')")
    assert "huge.txt" in page.inner_text("body")
    assert gradio_copies("huge.txt") == []
    close(page)


@pytest.mark.parametrize("name, shown", [
    # Gradio itself drops <, >, : and * from uploaded names; what is left must still read as text.
    ("<img src=x onerror=window.__xss=1>.md", "onerror=window.__xss=1"),
    ("[click](https:evil.example) *bold*.md", "[click](httpsevil.example)"),
])
def test_a_file_name_with_markup_stays_text_everywhere(browser, ui, tmp_path: Path, name: str, shown: str) -> None:
    """An uploaded file's name is untrusted: in the status, the list, the Search and Sources panels
    and the opened passage it is shown, never run or rendered as markup."""
    hostile = tmp_path / name
    hostile.write_text("# Report\n\nRevenue grew 12 percent thanks to the Lisbon office.\n", encoding="utf-8")
    page = page_for(browser, ui)
    upload(page, hostile)
    page.wait_for_function("document.querySelector('#doc-list')?.innerText.includes('.md')")
    ask(page, "What happened to revenue?")
    wait_done(page)
    open_panels(page)
    chip = page.locator('#chat a.cite[href^="#passage-"]').first
    chip.click()
    page.locator(f'details[id="{chip.get_attribute("href")[1:]}"]').wait_for(state="visible")
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x]").count() == 0 and page.locator("a[href*='evil']").count() == 0
    assert shown in page.inner_text("#chat")
    open_drawer(page)  # a run closes the Settings drawer (issue 25.6); the Documents list is in it
    page.wait_for_selector("#doc-list", state="visible")
    assert shown in page.inner_text("#doc-list")
    close(page)
