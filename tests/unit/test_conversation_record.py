"""The conversation record (agent/records/conversation.py): memory, branches, bounds, redaction and
its JSON form."""

import json

import pytest
from pydantic import ValidationError

from agent.events import Answer, Done, Error, SearchDone, SearchStart, SourceRef, Thinking
from agent.records.conversation import Conversation, citations_as_domains, dump, load

WIKI = SourceRef(id=1, title="Eiffel Tower", url="https://en.wikipedia.org/wiki/Eiffel_Tower")
DOC = SourceRef(id=2, title="Notes", url="", kind="document", file="notes.md", text="passage")


def answered(conversation, question, text, *, sources=(WIKI, DOC), stopped=False, kind="answer", secrets=()):
    turn = conversation.begin(question, kind=kind)
    for event in (Thinking(text="hm "), Thinking(text="ok"), SearchStart(query="q", round=1, max_searches=5),
                  SearchDone(query="q", provider="fixture", latency_s=0.1, results=sources),
                  Answer(text=text[:3]), Answer(text=text[3:]),
                  Done(answer=text, sources=sources, cited=(1,), stopped=stopped)):
        turn.add(event, secrets=secrets)
    return turn


def test_memory_is_final_answers_with_citations_as_domains_newest_first_kept():
    c = Conversation()
    answered(c, "Q1", "Tall [1] and noted [2].")
    answered(c, "Q2", "Partial [1]", stopped=True)
    broken = c.begin("Q3")
    broken.add(Answer(text="The dose is 500 mg per"))
    broken.add(Error(message="the stream ended early"))
    answered(c, "Q4", "")  # no answer
    answered(c, "Q5", "A5 [1, 2] [9].")
    answered(c, "replayed", "R [1].", kind="replay")
    assert c.memory(max_turns=10) == [("user", "Q1"), ("assistant", "Tall (en.wikipedia.org) and noted (notes.md)."),
                                      ("user", "Q5"), ("assistant", "A5 (en.wikipedia.org; notes.md).")]
    assert c.memory(max_turns=1) == [("user", "Q5"), ("assistant", "A5 (en.wikipedia.org; notes.md).")]
    assert c.memory(max_turns=0) == []
    assert [t.question for t in c.path()] == ["Q1", "Q2", "Q3", "Q4", "Q5", "replayed"]


def test_a_turn_the_person_stopped_is_not_remembered_even_if_its_done_came():
    c = Conversation()
    answered(c, "Q1", "A1").stopped = True
    assert c.memory(max_turns=5) == []


def test_deltas_are_joined_and_the_numbering_read_from_done():
    c = Conversation()
    turn = answered(c, "Q", "B [2] then A [1].")
    assert [type(e).__name__ for e in turn.events] == ["Thinking", "SearchStart", "SearchDone", "Answer", "Done"]
    assert turn.events[0].text == "hm ok" and turn.events[3].text == "B [2] then A [1]."
    assert turn.display_numbers == {2: 1, 1: 2} and turn.finished
    assert c.begin("next").display_numbers == {}


def test_regenerate_and_edit_replace_turns_so_the_record_holds_what_the_chat_shows():
    c = Conversation()
    for n in range(3):
        answered(c, f"Q{n}", f"A{n}")
    c.branch_at(2)  # regenerate the last
    answered(c, "Q2", "A2 again")
    assert [(t.question, t.done.answer) for t in c.path()] == [("Q0", "A0"), ("Q1", "A1"), ("Q2", "A2 again")]
    c.branch_at(1)  # edit the second question
    answered(c, "Q1 edited", "B1")
    assert [t.question for t in c.path()] == ["Q0", "Q1 edited"]
    assert len(c.turns) == 2  # the replaced turns are gone
    assert [meta["question"] for meta, _ in c.answers()] == ["Q0", "Q1 edited"]
    c.branch_at(7)  # past the record: nothing changes
    assert [t.question for t in c.path()] == ["Q0", "Q1 edited"]


def test_kept_branches_are_forks_reachable_from_their_parent():
    c = Conversation(keep_branches=True)
    first = answered(c, "Q0", "A0")
    answered(c, "Q1", "A1")
    c.branch_at(1)
    answered(c, "Q1 again", "B1")
    assert [t.question for t in c.children(first.id)] == ["Q1", "Q1 again"]
    assert [t.question for t in c.path()] == ["Q0", "Q1 again"]
    assert c.memory(max_turns=5)[-1] == ("assistant", "B1")


def test_old_turns_keep_only_their_done():
    c = Conversation(keep_events=2)
    for n in range(4):
        answered(c, f"Q{n}", f"A{n} [1]")
        answered(c, "replay", "R", kind="replay")
    path = c.path()
    answers = [t for t in path if t.kind == "answer"]
    assert [len(t.events) for t in answers] == [1, 1, 5, 5]
    assert len(c.answers(last=2)[0][1]) == 5  # the exported answers are whole
    assert c.memory(max_turns=4)[1] == ("assistant", "A0 (en.wikipedia.org)")


def test_secrets_are_redacted_on_the_way_in():
    c = Conversation()
    turn = c.begin("Q")
    turn.add(Thinking(text="key sk-abcdef123 here"), secrets=["sk-abcdef123"])
    turn.add(SearchDone(query="q", provider="tavily", latency_s=0.1, error="bad key sk-abcdef123"),
             secrets=["sk-abcdef123"])
    turn.add(Error(message="echo sk-abcdef123"), secrets=["sk-abcdef123"])
    assert "sk-abcdef123" not in dump(c)
    assert turn.events[1].error == "bad key [redacted]"


def test_a_record_round_trips_through_json_and_bad_json_is_refused():
    c = Conversation(keep_branches=True)
    answered(c, "Q0", "A0 [1]")
    answered(c, "Q1", "A1 [2]")
    again = load(dump(c))
    assert again == c and again.path()[1].display_numbers == {2: 1, 1: 2}
    data = json.loads(dump(c))
    turn = next(iter(data["turns"].values()))
    turn["events"][0] = {"type": "telepathy"}
    with pytest.raises(ValidationError):
        load(json.dumps(data))
    with pytest.raises(ValidationError):
        load("{not json")


def test_citations_as_domains():
    text = "A [1], B [1, 4], C [9]. Real link [site](https://x.org)."
    assert citations_as_domains(text, [WIKI]) == "A (en.wikipedia.org), B (en.wikipedia.org), C. Real link [site](https://x.org)."
