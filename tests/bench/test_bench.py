"""The benchmarks run and report what they claim (structure and exact counts; no timings asserted).

``bench/run.py`` and ``bench/gpu.py`` print numbers, they are not timed tests:
here they run on tiny sizes so a broken benchmark is caught in CI, and the
deterministic figures (prefill accounting, stop-check equivalence) are checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from agent.backends.local.transformers import TransformersBackend
from agent.config import Settings
from bench import engine_bench, gpu, gpu_model, stop_check
from bench.run import GOALS, SMOKE, report, run_all

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def backend(tiny_model_dir: Path) -> TransformersBackend:
    b = TransformersBackend(settings=Settings(model=str(tiny_model_dir), temperature=0.0,
                                              search_retry_backoff_s=0.0))
    b.load()
    return b


def _ids(backend: TransformersBackend, text: str) -> list[int]:
    return backend.tokenizer.encode(text, add_special_tokens=False)


# -- stop detection: ours and the notebook's agree ----------------------------

def test_seed_and_our_stop_checks_agree(backend: TransformersBackend) -> None:
    tok, model = backend.tokenizer, backend.model
    stops = engine_bench.stop_ids(backend)
    prompt = engine_bench.prompt_ids(backend, backend.settings)
    ours = stop_check.OurStopCheck(model, stops, max_length=8192, start_len=len(prompt))
    thinking = prompt + _ids(backend, "Let me think about this step by step. I should search.\n</think>\n\n")
    call = _ids(backend, '<tool_call>\n{"name": "web_search", "arguments": {"query": "tallest"}}\n</tool_call>')
    answer = _ids(backend, "The Burj Khalifa is the tallest building [1].<|im_end|>")
    assert call[-1] == stops[1] and answer[-1] == stops[0]  # each one token
    cases = {
        "tool_call": thinking + call,
        "stop": thinking + answer,
        None: thinking,
        # An earlier, finished call followed by more text is not a stop for either method.
        "later": thinking + call + _ids(backend, "<|im_end|>\n<|im_start|>user\n<tool_response>\nx\n"
                                                  "</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\nOk"),
    }
    for expected, ids in cases.items():
        want = None if expected == "later" else expected
        assert stop_check.seed_stop(tok, ids) == want, expected
        assert ours.reason(torch.tensor([ids])) == want, expected
    # generate builds these from eos_token_id=[<|im_end|>, </tool_call>]; ours adds the cancel watch.
    assert ours.names[-1] == "_RoundWatch" and "EosTokenCriteria" in ours.names
    ours.cancel.set()
    assert ours(torch.tensor([thinking]))  # cancel stops at any token


def test_timed_transcript_is_realistic_and_ends_mid_thought(backend: TransformersBackend) -> None:
    prompt = engine_bench.prompt_ids(backend, backend.settings)
    ids = stop_check.transcript_ids(backend.tokenizer, prompt, 5000)
    assert len(ids) == 5000 and ids[: len(prompt)] == prompt
    assert ids.count(engine_bench.stop_ids(backend)[1]) >= 2  # several tool calls in it
    assert stop_check.seed_stop(backend.tokenizer, ids) is None


# -- KV reuse: exact counts ---------------------------------------------------

def test_prefill_counts_on_a_forced_search_run(backend: TransformersBackend) -> None:
    r = engine_bench.measure_prefill(backend, searches=2, think_tokens=40, results=2, result_tokens=30)
    assert r["searches"] == 2 and r["rounds"] == 3 and r["cited"] == [1]
    # Counted in the model's forward passes, independently of the backend's accounting.
    assert r["prefill_tokens_counted_in_forward"] == r["prefill_tokens_kv_reuse"]
    assert r["prefill_excess"] == 1.0  # no token prefilled twice
    assert r["forward_positions_per_context_token"] == 1.0  # every position run through the model once
    assert r["prefill_tokens_per_round"][0] == r["prompt_tokens"]
    assert sum(r["prefill_tokens_per_round"][1:]) == r["spliced_tokens"] + r["fed_back_sampled_tokens"]
    literal = (r["prompt_tokens"] + r["spliced_tokens"] + 2) / (r["prompt_tokens"] + r["spliced_tokens"])
    assert r["prefill_excess_literal"] == pytest.approx(literal, abs=1e-6)
    assert 0.2 < r["prefill_ratio"] < 0.6  # the prompt dominates at these tiny sizes


# -- the whole of run.py on tiny sizes -----------------------------------------

def test_run_all_smoke(tmp_path: Path) -> None:
    r = run_all(quick=True, workdir=tmp_path, params=SMOKE)
    for key in ("stop_check_us_1k", "stop_check_us_16k", "seed_stop_check_us_1k", "seed_stop_check_us_16k",
                "stop_check_speedup_16k", "overhead_ratio", "overhead_ratio_tiny", "overhead_ratio_decode",
                "prefill_ratio", "prefill_excess", "ui_updates_per_s", "ui_update_cost_growth"):
        assert isinstance(r[key], (int, float)), key
        assert r[key] > 0, key
    assert r["prefill_excess"] == 1.0
    assert set(r["goals_met"]) == set(GOALS)
    assert r["details"]["overhead_small"]["path"] == "ui.app_ui.Handlers.ask"
    assert r["index_passages"] == SMOKE["index_passages"]
    for key in ("index_build_s", "index_query_ms_p50", "index_query_ms_p95", "bm25s_query_ms_p50",
                "index_query_p50_ratio_vs_bm25s", "index_passages_per_s"):
        assert r[key] > 0, key
    assert 0.0 <= r["index_top10_agreement"] <= 1.0
    text = report(r)
    assert "prefill_ratio" in text and "overhead_ratio" in text and "top-10 agreement with bm25s" in text
    json.dumps(r)  # the --json line


def test_index_bench_corpus_is_stemming_stable_and_agreement_is_counted() -> None:
    """The synthetic words survive our index's English stemming (only a, o, u vowels, open
    syllables), so both engines rank the same terms; agreement counts shared ids."""
    from bench import index_bench
    from agent.index.ranking import terms_of
    import numpy as np

    words = index_bench.vocabulary(500, np.random.default_rng(0))
    assert all(set(w) <= set(index_bench.CONSONANTS + index_bench.VOWELS) and w[-1] in "aou" for w in words)
    assert terms_of(" ".join(words)) == words
    assert index_bench.agreement([[1, 2, 3]], [[3, 4, 1]]) == round(2 / 3, 4)


# -- bench/gpu.py --------------------------------------------------------------

def test_gpu_bench_tiny_json() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "gpu.py"), "--tiny", "--json"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["device"] == "cpu" and r["shape"] == "tiny" and r["quantization"] == "none"
    assert set(r["decode_tok_s"]) == {"64", "128", "256"}
    for key in ("decode_tok_s_64", "decode_tok_s_256", "ttft_reuse_s", "ttft_reprefill_s", "ttft_speedup",
                "weight_bytes_per_token", "kv_bytes_per_context_token"):
        assert r[key] > 0, key
    assert "peak_vram_gb" in r and r["logits_finite"] is True
    assert r["variant"]["name"] == "static" and "error" not in r["variant"], r["variant"]
    assert isinstance(r["variant"]["greedy_equal"], bool)


def test_gpu_model_nf4_layer_by_layer_on_cpu() -> None:
    """The NF4 build path (bitsandbytes also quantizes on CPU) and the byte count it feeds."""
    pytest.importorskip("bitsandbytes")
    config = gpu_model.make_config(tiny=True)
    model = gpu_model.build_model(config, device=torch.device("cpu"), dtype=torch.bfloat16, quant="nf4")
    linears = [m for m in model.model.layers.modules() if type(m).__name__ == "Linear4bit"]
    assert len(linears) == 7 * config.num_hidden_layers
    assert all(m.weight.bnb_quantized and m.weight.quant_type == "nf4" for m in linears)
    params = sum(m.in_features * m.out_features for m in linears)
    stored = sum(m.weight.numel() * m.weight.element_size() + gpu_model.quant_state_bytes(m.weight.quant_state)
                 for m in linears)
    # 4 bits a weight plus block scales and lookup tables (a few hundred bytes a matrix: at QwQ-32B's
    # size that is 4.13 bits a weight, at this tiny size about 6).
    assert 4.0 < 8 * stored / params < 7.0
    head = config.vocab_size * config.hidden_size * 2  # lm_head stays bf16, as transformers' bnb loading does
    assert gpu_model.weight_bytes_per_token(model) > head + stored
    with torch.inference_mode():
        assert torch.isfinite(model(torch.tensor([[5, 6, 7]])).logits).all()


def test_gpu_bandwidth_table_and_qwq_kv_size() -> None:
    assert gpu.lookup_bandwidth("NVIDIA H100 80GB HBM3") == (3350, "H100")
    assert gpu.lookup_bandwidth("NVIDIA H100 PCIe")[0] == 2000
    assert gpu.lookup_bandwidth("NVIDIA H200")[0] == 4800
    assert gpu.lookup_bandwidth("NVIDIA A100-SXM4-80GB")[0] == 2039
    assert gpu.lookup_bandwidth("NVIDIA A10G")[0] == 600
    assert gpu.lookup_bandwidth("NVIDIA L40S")[0] == 864 and gpu.lookup_bandwidth("NVIDIA L4")[0] == 300
    assert gpu.lookup_bandwidth("Some Future GPU") == (None, None)
    # shared/fixtures/qwq-32b/README.md: 64 x 2 x 8 x 128 x 2 bytes = 256 KiB per token.
    assert gpu.kv_bytes_per_token(gpu_model.make_config(tiny=False), torch.bfloat16) == 256 * 1024


def test_gpu_bench_refuses_the_full_shape_without_cuda() -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(SystemExit, match="needs an NVIDIA GPU"):
        gpu.run(gpu.parse_args([]))


def test_forcing_head_and_counter_leave_the_model_clean(backend: TransformersBackend) -> None:
    from bench.common import ForwardCounter

    counter = ForwardCounter(backend.model)
    conv = backend.start([{"role": "user", "content": "hi"}], [],
                         settings=backend.settings.with_overrides(max_new_tokens=4))
    list(conv.generate(cancel=threading.Event()))
    counter.close()
    assert counter.prefill == [conv.usage.prompt_tokens]
    assert "generate" not in vars(backend.model)  # the class method again
