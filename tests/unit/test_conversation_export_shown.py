"""The whole-conversation download holds what the chat shows (issue 25.4): after Regenerate, an
edited question, or a switch to another branch ("◀ 2/3 ▶"), the HTML and Markdown files hold the
shown branch's answers only, in the chat's order, each with its own citation numbers; a replayed
trace (shown, not part of the conversation) and the demo's note that no model runs are left out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.events import Answer, Done, SearchDone, SearchStart, SourceRef, Thinking
from agent.records.conversation import Conversation, Turn
from ui.conversation_export import ConversationExport


def source(n: int, name: str) -> SourceRef:
    return SourceRef(id=n, title=f"{name} page", url=f"https://{name}.example.org/")


def answered(record: Conversation, question: str, answer: str, *, kind: str = "answer") -> Turn:
    """A turn whose run searched once, found two sources, and cited the second as [1]."""
    turn = record.begin(question, meta={"model": "test"}, kind=kind)  # type: ignore[arg-type]
    tag = re.sub(r"\W+", "", question.lower())
    sources = [source(1, f"{tag}-first"), source(2, f"{tag}-second")]
    for event in (Thinking(text=f"thinking about {question}"), SearchStart(query=question, round=1, max_searches=3),
                  SearchDone(query=question, provider="fixture", latency_s=0.1, results=tuple(sources)),
                  Answer(text=f"{answer} [2]."),
                  Done(answer=f"{answer} [2].", sources=tuple(sources), cited=(2,), searches=1)):
        turn.add(event)
    return turn


def exported(record: Conversation, folder: Path, **kw: object) -> tuple[str, str]:
    html, md = ConversationExport(record=record, **kw).write(folder)  # type: ignore[arg-type]
    assert html and md
    return Path(html).read_text(encoding="utf-8"), Path(md).read_text(encoding="utf-8")


def questions_in(md: str) -> list[str]:
    return re.findall(r"^# (.+)$", md, flags=re.M)


def answers_in(md: str) -> list[str]:
    return re.findall(r"^## Answer\n\n(.+)$", md, flags=re.M)


@pytest.mark.parametrize("keep_branches", [False, True])
def test_regenerate_then_edit_exports_only_the_shown_turns(tmp_path: Path, keep_branches: bool) -> None:
    record = Conversation(keep_branches=keep_branches)
    answered(record, "First question", "First answer")
    answered(record, "Second question", "Old second answer")
    answered(record, "Third question", "Third answer")
    record.branch_at(2)  # Regenerate the last answer
    answered(record, "Third question", "Regenerated third answer")
    record.branch_at(1)  # edit the second question: the third goes with it
    answered(record, "Second question, edited", "New second answer")
    html, md = exported(record, tmp_path)
    assert questions_in(md) == ["First question", "Second question, edited"]
    assert answers_in(md) == ["First answer [\\[1\\]](https://firstquestion-second.example.org/).",
                              "New second answer [\\[1\\]](https://secondquestionedited-second.example.org/)."]
    for gone in ("Old second answer", "Third", "thirdquestion-second", "Second question<"):
        assert gone not in md and gone not in html, gone
    # The shown numbering: questions as the chat orders them, each answer's citation as its chip.
    assert sorted(set(re.findall(r'id="(q\d+)-', html))) == ["q1", "q2"]
    assert html.index("First question") < html.index("Second question, edited")
    assert "- \\[1\\] [secondquestionedited-second page]" in md
    assert "secondquestionedited-first" in md  # found by the search, listed under it, not cited


def test_switching_branches_exports_the_branch_shown(tmp_path: Path) -> None:
    """Branches kept for the "◀ 2/3 ▶" switcher: the download follows the one selected."""
    record = Conversation(keep_branches=True)
    answered(record, "Q1", "A1")
    old = answered(record, "Q2", "Old A2")
    answered(record, "Q3 after the old A2", "A3")
    record.branch_at(1)
    new = answered(record, "Q2", "New A2")
    assert questions_in(exported(record, tmp_path)[1]) == ["Q1", "Q2"]
    record.show(old.id)  # ◀: back to the first branch, to its end
    md = exported(record, tmp_path)[1]
    assert questions_in(md) == ["Q1", "Q2", "Q3 after the old A2"] and "New A2" not in md
    record.show(new.id)  # ▶
    md = exported(record, tmp_path)[1]
    assert answers_in(md)[-1].startswith("New A2 [\\[1\\]]") and "Old A2" not in md and "Q3" not in md


def test_replays_and_demo_notes_are_shown_but_not_exported(tmp_path: Path) -> None:
    record = Conversation()
    answered(record, "A recorded example", "Example answer")
    answered(record, "a replayed trace", "Replayed answer", kind="replay")
    answered(record, "Anything else?", "No model runs here.")
    answered(record, "Follow-up", "Follow-up answer")
    html, md = exported(record, tmp_path, leave_out=lambda q: q == "Anything else?")
    assert questions_in(md) == ["A recorded example", "Follow-up"]
    assert "Replayed answer" not in md and "No model runs here" not in md + html
    assert sorted(set(re.findall(r'id="(q\d+)-', html))) == ["q1", "q2"]


def test_nothing_to_offer_when_the_chat_shows_no_answer(tmp_path: Path) -> None:
    record = Conversation()
    answered(record, "Anything else?", "No model runs here.")
    assert ConversationExport(record=record, leave_out=lambda q: True).write(tmp_path) == (None, None)
    record.branch_at(0)  # edited away: the chat is empty again
    assert ConversationExport(record=record).write(tmp_path) == (None, None)
