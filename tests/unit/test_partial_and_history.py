"""Unfinished answers never become history, history is bounded, odd stats still render
(issue 11.3, 11.14, 11.19)."""

from __future__ import annotations

from agent.events import Answer, Done, Error, RunStats, Thinking
from agent.loop import PARTIAL_NOTE
from tests.engine_helpers import answer, done_of, memory_of, run_script
from ui.mapper import ERROR_TITLE, STATS_TITLE, events_to_messages
from ui.stats import format_stats


def test_an_answer_cut_off_by_an_error_is_not_sent_back_as_history() -> None:
    events = [Thinking(text="x"), Answer(text="The safe dose is 500 mg per"),
              Error(message=f"the stream ended early. {PARTIAL_NOTE}")]
    messages = events_to_messages(events, max_searches=5)
    assert messages[-1].metadata == {"title": ERROR_TITLE} and "partial" in messages[-1].content
    assert memory_of(("Q1", events), ("Q2", [Answer(text="A2"), Done(answer="A2")])) == [
        ("user", "Q2"), ("assistant", "A2")]


def test_the_remembered_history_keeps_only_the_newest_turns() -> None:
    turns = [(f"Q{i}", [Answer(text=f"A{i}"), Done(answer=f"A{i}")]) for i in range(500)]
    pairs = memory_of(*turns, max_turns=3)
    assert pairs == [("user", "Q497"), ("assistant", "A497"), ("user", "Q498"), ("assistant", "A498"),
                     ("user", "Q499"), ("assistant", "A499")]
    assert memory_of(*turns, max_turns=0) == []


def test_the_engine_shows_the_model_only_the_newest_history_turns() -> None:
    history = []
    for i in range(200):
        history += [("user", f"old question {i}"), ("assistant", f"old answer {i}")]
    events, conv = run_script([answer("Fine.")], history=history, max_history_turns=2)
    assert done_of(events).answer == "Fine."
    seen = conv.transcript()
    assert "old question 199" in seen and "old question 198" in seen
    assert "old question 197" not in seen and "old answer 0" not in seen


def test_stats_with_fractional_or_odd_numbers_still_render() -> None:
    # Building RunStats checks no types (reading a trace does): the panel must still render.
    done = Done(answer="A", stats=RunStats(
        generated_tokens=2.5, prompt_tokens=float("nan"), ttft_s="soon", thinking_tokens=3.0,
        answer_tokens=-0.5, total_s=float("inf"), search_latencies_s=(1.5, "x", None)))
    table = format_stats(done)
    assert "– / –" in table  # prompt / generated
    messages = events_to_messages([Answer(text="A"), done], max_searches=5)
    assert messages[-1].metadata["title"] == STATS_TITLE


def test_long_words_count_as_many_tokens_in_both_estimating_backends() -> None:
    from agent.backends.openai.chat import OpenAIConversation
    from agent.backends.scripted import ScriptedConversation, approx_tokens
    blob = "QmFzZTY0" * 500  # 4000 characters of base64-like text: one "word"
    assert approx_tokens(blob) >= 4000 // 4
    assert approx_tokens("1234567890") == 10  # Qwen tokenizers split numbers into digits
    assert approx_tokens("The tower is tall.") == 5  # ordinary text stays one token a word
    for cls in (ScriptedConversation, OpenAIConversation):
        conv = cls.__new__(cls)
        assert conv.count_tokens(blob) == approx_tokens(blob)


def test_a_result_of_one_huge_word_is_not_spliced_into_a_nearly_full_context() -> None:
    from agent.backends.scripted import chunk_text
    from tests.engine_helpers import call, result
    rounds = [call("q"), answer("Done.")]
    probe, conv = run_script(rounds, {"q": [result(1, content="x" * 1200)]})
    room = conv.usage.prompt_tokens + len(chunk_text(rounds[0], seed=0)) + 1024 + 150
    events, _ = run_script(rounds, {"q": [result(1, content="x" * 1200)]}, context_limit=room,
                           answer_reserve_tokens=1024, result_chars=1200)
    done = done_of(events)
    assert done.stats.context_forced and done.sources == ()
