"""Search-R1 and ReSearch on the transformers backend: the tiny random Qwen2 with a
Qwen2.5-style ChatML template, its lm_head scripted to say exactly what a test needs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from transformers import AutoConfig, AutoTokenizer

from agent.backends.local.stops import round_stops
from agent.backends.local.transformers import TransformersBackend
from agent.config import Settings
from agent.dialects import get_dialect
from agent.events import Answer, Done, SearchStart
from agent.loop import run
from agent.search import SearchChain
from tests.engine_helpers import FakeProvider, result
from tests.integration.test_transformers_backend import ScriptedHead, gen_threads, head, ids_of
from devtools.tiny_model import build_tiny_model

# Qwen2.5's template, less its tool branches: these dialects render no tool schema.
QWEN25_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. "
    "You are a helpful assistant.<|im_end|>\n{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SEARCH = "<think> I need the height. </think>\n<search> tallest building </search>"
ANSWER = "<think> It is the Burj Khalifa. </think>\n<answer> Burj Khalifa </answer>"


@pytest.fixture(scope="module")
def chatml_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_tiny_model(tmp_path_factory.mktemp("tiny-qwen25"))
    tok = AutoTokenizer.from_pretrained(path)
    tok.chat_template = QWEN25_TEMPLATE
    tok.add_tokens([">\n\n"])  # Qwen2.5 has such merged tokens: a stop string can end inside one
    assert len(tok) <= AutoConfig.from_pretrained(path).vocab_size
    tok.save_pretrained(path)
    return path


def make(model_dir: Path, dialect: str, **kw: object) -> TransformersBackend:
    kw.setdefault("max_new_tokens", 64)
    return TransformersBackend(settings=Settings(model=str(model_dir), temperature=0.0, dialect=dialect,
                                                 **kw))  # type: ignore[arg-type]


def scripted(backend: TransformersBackend, *texts: str, filler: str = " the") -> ScriptedHead:
    ids = [i for t in texts for i in ids_of(backend, t)]
    return ScriptedHead(backend.model.config.vocab_size, ids, filler=ids_of(backend, filler)[0])


def test_search_tag_is_several_tokens_so_it_stops_as_a_string(chatml_model_dir: Path) -> None:
    backend = make(chatml_model_dir, "search-r1")
    stops = round_stops(backend.tokenizer, get_dialect("search-r1"), model_id="tiny")
    assert len(ids_of(backend, "</search>")) > 1
    assert stops.stop_strings == ("</search>", "</answer>") and stops.stop_ids == ()
    qwq = round_stops(backend.tokenizer, get_dialect("qwq"), model_id="tiny")
    assert qwq.stop_strings == () and len(qwq.stop_ids) == 1  # </tool_call>: one token, stopped on by id


@pytest.mark.parametrize("dialect", ["search-r1", "research"])
def test_round_stops_at_search_then_kv_is_reused_across_the_splice(chatml_model_dir: Path, dialect: str) -> None:
    backend = make(chatml_model_dir, dialect)
    messages = get_dialect(dialect).build_messages("Tallest building?", max_searches=3)
    conv = backend.start(messages, [])
    assert conv.transcript() == get_dialect(dialect).render_prompt(messages, [])  # same as the ChatML we render
    prompt = conv.usage.prompt_tokens
    with head(backend, scripted(backend, SEARCH, " never generated", ANSWER)):
        first = "".join(conv.generate(cancel=threading.Event()))
        assert first == SEARCH and conv.finish_reason == "tool_call"
        conv.add_tool_result("Doc 1(Title: Burj Khalifa) 828 metres tall.")
        spliced = conv.usage.spliced_tokens
        backend.model.lm_head.script = ids_of(backend, ANSWER) + ids_of(backend, " after the answer")
        second = "".join(conv.generate(cancel=threading.Event()))
    assert second == ANSWER and conv.finish_reason == "stop"  # stopped at </answer>, nothing after it
    text = conv.transcript()
    wrapper = "\n\n<information>" if dialect == "search-r1" else " <result>\n"
    assert text.startswith(conv.tokenizer.decode(conv.ids[:prompt]))
    assert SEARCH + wrapper + "Doc 1(Title: Burj Khalifa) 828 metres tall." in text and text.endswith(ANSWER)
    # Round 2 prefilled only the splice and round 1's last token, never the prompt again.
    assert conv.usage.prefilled_tokens == prompt + spliced + 1
    assert not gen_threads()


def test_a_stop_string_ending_inside_a_token_still_counts_as_a_search(chatml_model_dir: Path) -> None:
    backend = make(chatml_model_dir, "search-r1")
    conv = backend.start([{"role": "user", "content": "Q?"}], [])
    body = ids_of(backend, "<search> q </search>\n\n")
    assert backend.tokenizer.decode(body[-1:]) == ">\n\n"  # the stop ends inside this token
    with head(backend, ScriptedHead(backend.model.config.vocab_size, body, filler=body[0])):
        text = "".join(conv.generate(cancel=threading.Event()))
    assert conv.finish_reason == "tool_call" and text == "<search> q </search>\n\n"


def test_full_run_through_the_loop_with_stop_and_sources(chatml_model_dir: Path) -> None:
    backend = make(chatml_model_dir, "search-r1")
    backend.load()
    table = {"tallest building": [result(1, title="Burj Khalifa", content="828 m")]}
    s = backend.settings
    with head(backend, scripted(backend, SEARCH, ANSWER)):
        events = list(run("Tallest building?", settings=s, backend=backend,
                          search=SearchChain([FakeProvider(table)], backoff_s=0.0)))
    done = events[-1]
    assert isinstance(done, Done) and done.answer == "Burj Khalifa" and done.searches == 1
    assert [e.query for e in events if isinstance(e, SearchStart)] == ["tallest building"]
    assert "".join(e.text for e in events if isinstance(e, Answer)) == "Burj Khalifa"
    assert [src.title for src in done.sources] == ["Burj Khalifa"]
    assert done.stats.prefill_saved_tokens > 0


def test_stop_ends_a_tag_dialect_generation(chatml_model_dir: Path) -> None:
    backend = make(chatml_model_dir, "research", max_new_tokens=400)
    backend.load()
    cancel = threading.Event()
    with head(backend, scripted(backend, "<think>", filler=" the")):
        events = []
        for event in run("Q?", settings=backend.settings, backend=backend,
                         search=SearchChain([FakeProvider({})], backoff_s=0.0), cancel=cancel):
            events.append(event)
            cancel.set()
    done = events[-1]
    assert isinstance(done, Done) and done.stopped and done.stats.finish == "cancelled"
    assert done.stats.generated_tokens < 50
    assert not gen_threads()
