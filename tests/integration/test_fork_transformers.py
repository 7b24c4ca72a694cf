"""A fork on the local transformers backend prefills the recorded prefix once (issue 24.4).

The recorded run comes from the scripted backend; the fork runs on the tiny random Qwen2 model
with its ``lm_head`` scripted (``ScriptedHead``), so greedy decoding writes a known answer. A
forward pre-hook counts the model's forward passes and the tokens each one takes in.
"""

from __future__ import annotations

from pathlib import Path

from agent.backends.local.transformers import TransformersBackend
from agent.backends.scripted import ScriptedBackend
from agent.config import Settings
from agent.events import Done, SearchDone
from agent.search import SearchChain
from agent.session import ChatSession
from tests.engine_helpers import FakeProvider, answer, call, result
from tests.integration.test_transformers_backend import ScriptedHead, head, ids_of
from tests.unit.test_fork import HOSTILE, NoSearch


def test_a_fork_prefills_its_recorded_prefix_in_one_forward_and_searches_nothing(tiny_model_dir: Path) -> None:
    scripted = Settings(backend="scripted", read="off", search_retry_backoff_s=0.0)
    original = ChatSession(settings=scripted, backend=ScriptedBackend(
        rounds=[call("height"), call("paint"), answer("330 m [1], brown [2].")], settings=scripted),
        search=SearchChain([FakeProvider({"height": [result(1, content="330 metres")],
                                          "paint": [result(2, title=HOSTILE, content=HOSTILE)]})], backoff_s=0.0))
    list(original.ask("How tall is the Eiffel Tower?"))
    turn = original.record.path()[0]
    after_second = [i for i, e in enumerate(turn.events) if isinstance(e, SearchDone)][1] + 1

    local = Settings(model=str(tiny_model_dir), temperature=0.0, max_new_tokens=32, read="off",
                     search_retry_backoff_s=0.0)
    backend = TransformersBackend(settings=local)
    provider = NoSearch()
    session = ChatSession(settings=local, backend=backend, search=SearchChain([provider], backoff_s=0.0),
                          record=original.record)
    im_end = backend.tokenizer.convert_tokens_to_ids("<|im_end|>")
    script = ids_of(backend, "</think>\n\nForked [1].") + [im_end]
    forwards: list[int] = []
    hook = backend.model.register_forward_pre_hook(
        lambda _m, args, kwargs: forwards.append(int((kwargs.get("input_ids") if kwargs.get("input_ids") is not None
                                                      else args[0]).shape[-1])), with_kwargs=True)
    try:
        with head(backend, ScriptedHead(backend.model.config.vocab_size, script, filler=im_end)):
            events = list(session.fork(turn.id, at=after_second))
    finally:
        hook.remove()

    done = events[-1]
    assert isinstance(done, Done) and done.answer == "Forked [1]." and provider.calls == []
    conv = session.conversation.inner  # the PrefixConversation's real one
    prefix = len(conv.ids) - len(script)  # everything before the first generated token
    # One forward takes in the whole recorded prefix; every later one is a single decoded token.
    assert forwards[0] == prefix and all(n == 1 for n in forwards[1:]), forwards[:5]
    assert len(forwards) == len(script)
    assert conv.usage.prefilled_tokens == prefix and conv.usage.rounds == 1
    assert done.stats.prefill_saved_tokens > 0  # three rounds read the context, one prefill paid for it
    # The recorded hostile result went back escaped: the prefix holds one tool call per search
    # and only the splices' own special tokens.
    text = conv.transcript()
    body = text[text.index("<|im_start|>assistant\n<think>\n"):]
    assert body.count("<tool_call>") == 2 and body.count("<tool_response>") == 2
    assert body.count("<|im_start|>") == 1 + 2 * 2  # the answer's turn, then two per splice
    assert backend.tokenizer.decode(conv.ids[:prefix]).endswith("<|im_start|>assistant\n<think>\n")
