"""Demo mode reads its bundled pages: Read events, passages on sources, one failure in words."""

from __future__ import annotations


from agent.events import Done, ReadDone
from agent.config import Settings
from agent.demo import demo_settings
from agent.session import ChatSession, build_backend
from ui.app_ui import EXAMPLES


def test_the_demo_reads_bundled_pages_and_cites_passages():
    settings = demo_settings(Settings()).with_overrides(script_delay_s=0)
    session = ChatSession(settings=settings, backend=build_backend(settings))
    events = list(session.ask(EXAMPLES[0]))
    reads = [e for e in events if isinstance(e, ReadDone)]
    assert any(r.error is None and r.passages for r in reads)
    assert any(r.error == "HTTP 403" for r in reads)  # the stand-in that refuses: the answer goes on
    done = events[-1]
    assert isinstance(done, Done) and "330 metres" in done.answer
    assert any(s.passages for s in done.sources if s.id in done.cited)
