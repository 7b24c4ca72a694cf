"""A document read whole: what the model read of it (not its search passage) is what every
view shows — the chat's Sources panel, chip and card previews, the reports, the terminal —
each passage with its PDF page."""

from __future__ import annotations

import html
import io
import json
import threading

from agent.backends.scripted import ScriptedBackend
from agent.events import Done, PassageRef, ReadDone, SourceRef, to_dict
from agent.loop import run
from agent.read import FixturePages, PageReader
from agent.records.report import export_events
from agent.search import SearchChain
from agent.search.base import SearchResult, document_result
from agent.terminal import TerminalPrinter
from tests.engine_helpers import answer, done_of, settings
from ui.mapper import events_to_messages

CONTENTS = "Contents: offices, staff, appendix and index of the yearly notes."
FILLER = "The cafeteria menu changed twice and the car park was repainted in spring. " * 8
GREW = "Lisbon revenue grew by twelve percent in 2023, the best year of the office."
CONSULTING = "Most revenue in Lisbon came from consulting for harbour authorities."
PAGES = [(1, CONTENTS), (2, FILLER), (3, GREW), (4, CONSULTING), (5, FILLER)]


class Documents:
    """A documents provider as the index is one: a search hit (the contents page) and the whole file."""

    name = "local"

    def search(self, query: str, *, max_results: int) -> list[SearchResult]:
        return [document_result(title="Yearly notes", file="notes.pdf", page=1, content=CONTENTS, content_chars=2000)]

    def document_pages(self, file: str) -> list[tuple[int | None, str]]:
        return list(PAGES) if file == "notes.pdf" else []


def documents_call(query: str) -> str:
    call = {"name": "search_documents", "arguments": {"query": query}}
    return f"Look in the files.\n</think>\n\n<tool_call>\n{json.dumps(call)}\n</tool_call>"


def read_run(**kw) -> list:
    s = settings(read_passages=2, **kw)
    rounds = [documents_call("Lisbon revenue"), answer("Revenue grew by twelve percent [1].")]
    web = SearchChain([Documents()], backoff_s=0.0)
    return list(run("How much did Lisbon revenue grow?", settings=s, search=web, cancel=threading.Event(),
                    backend=ScriptedBackend(rounds=rounds, settings=s), reader=PageReader(FixturePages({})),
                    documents=SearchChain([Documents()], backoff_s=0.0)))


def test_the_read_passages_with_their_pages_are_the_sources_passages():
    events = read_run()
    [read] = [e for e in events if isinstance(e, ReadDone)]
    assert read.error is None and [(p.page, p.text) for p in read.passages] == [(3, GREW), (4, CONSULTING)]
    source = done_of(events).sources[0]
    assert source.kind == "document" and source.text == CONTENTS and source.passages == read.passages
    written = to_dict(done_of(events))["sources"][0]["passages"]
    assert written == [{"text": GREW, "start": written[0]["start"], "end": written[0]["end"], "page": 3},
                       {"text": CONSULTING, "start": written[1]["start"], "end": written[1]["end"], "page": 4}]
    web = to_dict(ReadDone(id=1, url="https://e.org/", latency_s=0.1, passages=(PassageRef(text="a", start=0, end=1),)))
    assert web["passages"] == [{"text": "a", "start": 0, "end": 1}]  # a web passage keeps its shape


def test_the_chat_shows_what_was_read_of_a_document_not_its_search_passage():
    messages = events_to_messages(read_run(), max_searches=3)
    sources = next(m for m in messages if (m.metadata or {}).get("title", "").startswith("Sources"))
    assert GREW in sources.content and CONSULTING in sources.content and CONTENTS not in sources.content
    assert "notes.pdf, pages 3, 4" in sources.content and "page 3: " in sources.content
    chat = html.unescape(next(m for m in messages if not m.metadata).content)
    chip = chat[chat.index('<a class="cite"'):chat.index("</a>", chat.index('<a class="cite"'))]
    assert f"“{GREW}”" in chip and CONTENTS not in chip  # the chip previews the passage read
    card = chat[chat.index('<a class="source-card"'):]
    assert f"“{GREW}”" in card and "notes.pdf, pages 3, 4" in card
    anchor = chip.split('href="', 1)[1].split('"', 1)[0]
    assert anchor.startswith("#passage-") and f'id="{anchor[1:]}"' in sources.content  # chip opens the passages


def test_a_document_that_was_not_read_still_shows_its_search_passage():
    messages = events_to_messages(read_run(read="off"), max_searches=3)
    sources = next(m for m in messages if (m.metadata or {}).get("title", "").startswith("Sources"))
    assert CONTENTS in sources.content and GREW not in sources.content and "notes.pdf, page 1" in sources.content
    chat = html.unescape(next(m for m in messages if not m.metadata).content)
    assert f"“{CONTENTS}”" in chat  # the chip previews the passage the search found


def test_reports_and_the_terminal_show_the_read_passages_of_a_document():
    events = read_run()
    meta = {"question": "How much did Lisbon revenue grow?"}
    markdown = export_events(meta, events, "md")
    sources = markdown[markdown.index("## Sources"):] if "## Sources" in markdown else markdown
    assert "notes.pdf, pages 3, 4" in sources and "*page 3:* Lisbon revenue grew" in sources
    page = export_events(meta, events, "html")
    cited = page[page.rindex("notes.pdf, pages 3, 4"):]
    assert "2 passages read" in cited and html.escape(GREW) in cited and "page 4" in cited
    assert html.escape(CONTENTS) not in cited
    out = io.StringIO()
    printer = TerminalPrinter(out)
    for event in events:
        printer(event)
    assert "notes.pdf, pages 3, 4" in out.getvalue() and "> Lisbon revenue grew" in out.getvalue()


def test_a_document_passage_on_one_page_names_the_page_once():
    ref = SourceRef(id=1, title="Notes", url="", kind="document", file="notes.pdf", page=1, text=CONTENTS,
                    passages=(PassageRef(text=GREW, start=0, end=len(GREW), page=3),))
    done = Done(answer="It grew [1].", sources=(ref,), cited=(1,))
    sources = next(m for m in events_to_messages([done], max_searches=3)
                   if (m.metadata or {}).get("title", "").startswith("Sources"))
    assert "notes.pdf, page 3" in sources.content and "page 3: " not in sources.content


def test_open_page_on_a_document_number_reads_the_whole_document_with_pages():
    opened = {"name": "open_page", "arguments": {"id": 1, "goal": "how much Lisbon revenue grew"}}
    rounds = [documents_call("Lisbon revenue"),
              f"Open it.\n</think>\n\n<tool_call>\n{json.dumps(opened)}\n</tool_call>",
              answer("Revenue grew by twelve percent [1].")]
    s = settings(read="ask", read_passages=1)
    box: dict = {}
    events = list(run("How much did Lisbon revenue grow?", settings=s, search=SearchChain([Documents()], backoff_s=0.0),
                      backend=ScriptedBackend(rounds=rounds, settings=s), cancel=threading.Event(),
                      reader=PageReader(FixturePages({})), documents=SearchChain([Documents()], backoff_s=0.0),
                      on_conversation=lambda c: box.setdefault("c", c)))
    [read] = [e for e in events if isinstance(e, ReadDone)]  # ask: no auto-read, only the open_page
    assert read.id == 1 and [(p.page, p.text) for p in read.passages] == [(3, GREW)]
    assert "File: notes.pdf" in box["c"].transcript() and "(page 3, characters" in box["c"].transcript()
    assert done_of(events).sources[0].passages == read.passages
