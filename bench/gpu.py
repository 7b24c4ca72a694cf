"""GPU benchmark: a random-weight model with QwQ-32B's exact shape, NF4 on one NVIDIA GPU.

    python bench/gpu.py [--json] [--contexts 1024,8192,16384] [--decode-tokens 32]
                        [--ttft-contexts 8192] [--splice-tokens 1728] [--variant compile|static|none]
                        [--bandwidth-gbs N] [--no-double-quant] [--layers N]
    python bench/gpu.py --tiny --json      # a tiny shape on CPU, unquantized: tests this script

The weights cannot be downloaded, so the model is built from QwQ-32B's config
(``shared/fixtures/qwq-32b/README.md``: hidden 5120, 64 layers, 40 heads, 8 KV
heads, intermediate 27648, vocab 152064) with random weights, created on the
``meta`` device and then materialised *one linear layer at a time on the GPU*
and quantized there to bitsandbytes NF4 (double quantization like the app's
default), exactly the modules transformers' bnb integration quantizes
(every ``nn.Linear`` in the decoder layers; ``lm_head`` and the embeddings stay
bf16). Host RAM never holds the 64 GB of bf16 weights; peak VRAM during the
build is the NF4 model plus one bf16 matrix.

It measures, through ``model.generate`` with a ``DynamicCache`` as the app's
backend calls it (greedy):

- decode tokens/s at each context length (prefill a random prompt, then decode);
- time to first token after a tool call: the cached context plus a spliced tool
  response (KV reuse, what the app does) vs re-prefilling everything;
- peak VRAM;
- the memory-bandwidth limit: bytes a decode step must read (NF4 weights with
  their quantization state, the bf16 ``lm_head``, the KV cache at that context)
  / the GPU's bandwidth (looked up from the device name, or ``--bandwidth-gbs``),
  and measured / limit;
- a faster variant behind ``--variant``: ``compile`` = a ``StaticCache`` with
  ``torch.compile`` (CUDA graphs) of the decode step, ``static`` = the static
  cache alone; its greedy tokens are compared with the baseline's.

Random weights decode at the same speed as real ones (same shapes, same
kernels); only the text is noise.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
import warnings
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402
from transformers import DynamicCache, LogitsProcessor, LogitsProcessorList  # noqa: E402

from bench.gpu_model import (QWQ_32B, build_model, kv_bytes_per_token, make_config,  # noqa: E402
                             weight_bytes_per_token)

# Peak memory bandwidth in GB/s by device name (NVIDIA datasheets). First match wins,
# so more specific names come first ("A100" before "A10", "L40S" before "L4").
BANDWIDTH_GBS: list[tuple[str, float]] = [
    ("GH200", 4000), ("H200", 4800), ("H100 NVL", 3900), ("H100 PCIe", 2000), ("H100", 3350), ("H800", 3350),
    ("B200", 8000), ("A100-SXM4-80GB", 2039), ("A100 80GB PCIe", 1935), ("A100-PCIE-80GB", 1935),
    ("A100", 1555), ("A800", 2039), ("L40S", 864), ("L40", 864), ("L4", 300), ("A10G", 600), ("A10", 600),
    ("RTX 6000 Ada", 960), ("RTX A6000", 768), ("A6000", 768), ("RTX 4090", 1008), ("RTX 3090", 936),
    ("V100", 900), ("T4", 320),
]


def lookup_bandwidth(name: str) -> tuple[float | None, str | None]:
    for key, gbs in BANDWIDTH_GBS:
        if key.lower() in name.lower():
            return gbs, key
    return None, None


def label(n: int) -> str:
    return f"{n // 1024}k" if n % 1024 == 0 else str(n)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# -- measuring ---------------------------------------------------------------

class StepTimer(LogitsProcessor):
    """Stamps the time at every generation step (after each forward pass)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.stamps: list[float] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        _sync(self.device)
        self.stamps.append(time.perf_counter())
        return scores


def _generate(model: Any, ids: torch.Tensor, cache: Any, new_tokens: int, timer: StepTimer | None = None,
              **extra: Any) -> torch.Tensor:
    with torch.inference_mode():
        return model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), past_key_values=cache,
            max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
            temperature=None, top_p=None, top_k=None, pad_token_id=0,
            logits_processor=LogitsProcessorList([timer]) if timer is not None else None, **extra)


def _crop(cache: DynamicCache, length: int) -> None:
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)


def _peak_reset(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


_PEAK_GB = [0.0]  # the highest peak read so far, over all phases (each phase resets the counter)


def _peak_gb(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    peak = round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
    _PEAK_GB[0] = max(_PEAK_GB[0], peak)
    return peak


def measure_decode(model: Any, prompt: torch.Tensor, *, tokens: int, device: torch.device,
                   cache: Any = None, **extra: Any) -> dict[str, Any]:
    """Prefill ``prompt`` then decode ``tokens`` greedy tokens; times both."""
    timer = StepTimer(device)
    cache = cache if cache is not None else DynamicCache(config=model.config)
    _peak_reset(device)
    _sync(device)
    t0 = time.perf_counter()
    out = _generate(model, prompt, cache, tokens + 1, timer, **extra)
    _sync(device)
    st = timer.stamps
    decode_s = st[-1] - st[0]
    return {
        "prefill_s": round(st[0] - t0, 4),
        "prefill_tok_s": round(prompt.shape[1] / (st[0] - t0), 1),
        "decode_tok_s": round(tokens / decode_s, 3),
        "decode_ms_per_token": round(1000 * decode_s / tokens, 3),
        "peak_vram_gb": _peak_gb(device),
        "tokens": out[0, prompt.shape[1]:].tolist(),
        "cache": cache,
    }


def measure_ttft(model: Any, context: torch.Tensor, splice: torch.Tensor, *, device: torch.device,
                 repeats: int) -> dict[str, Any]:
    """First token after a tool call: cached context + splice (KV reuse) vs re-prefilling all."""
    full = torch.cat([context, splice], dim=1)
    _peak_reset(device)
    cache = DynamicCache(config=model.config)
    _generate(model, context, cache, 1)  # the context is in the cache, as after a round
    _crop(cache, context.shape[1])
    reuse, redo = [], []
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        _generate(model, full, cache, 1)
        _sync(device)
        reuse.append(time.perf_counter() - t0)
        _crop(cache, context.shape[1])
        fresh = DynamicCache(config=model.config)
        _sync(device)
        t0 = time.perf_counter()
        _generate(model, full, fresh, 1)
        _sync(device)
        redo.append(time.perf_counter() - t0)
        del fresh
    reuse_s, redo_s = sorted(reuse)[len(reuse) // 2], sorted(redo)[len(redo) // 2]
    return {"context": context.shape[1], "splice_tokens": splice.shape[1], "peak_vram_gb": _peak_gb(device),
            "reuse_s": round(reuse_s, 4),
            "reprefill_s": round(redo_s, 4), "speedup": round(redo_s / reuse_s, 2),
            "reuse_all_s": [round(x, 4) for x in reuse], "reprefill_all_s": [round(x, 4) for x in redo]}


def measure_variant(model: Any, name: str, prompts: dict[int, torch.Tensor], baseline: dict[int, dict[str, Any]], *,
                    tokens: int, device: torch.device, compile_mode: str, tiny: bool) -> dict[str, Any]:
    """Static cache (and torch.compile of the decode step) at every context; greedy tokens compared."""
    from transformers import CompileConfig, StaticCache

    longest = max(prompts)
    out: dict[str, Any] = {"name": name}
    extra: dict[str, Any] = {}
    if name == "compile":
        config = CompileConfig(mode=compile_mode)
        if device.type != "cuda":
            config._compile_all_devices = True  # generate compiles on CUDA only unless told
        extra["compile_config"] = config
    else:
        extra["disable_compile"] = True
    cache = StaticCache(config=model.config, max_cache_len=longest + tokens + 8)
    out["cache_len"] = longest + tokens + 8
    t0 = time.perf_counter()
    first = min(prompts)
    measure_decode(model, prompts[first], tokens=tokens, device=device, cache=cache, **extra)  # compiles here
    out["warmup_s"] = round(time.perf_counter() - t0, 2)
    for n, prompt in sorted(prompts.items()):
        with torch.inference_mode():  # its tensors were made in inference mode
            cache.reset()
        got = measure_decode(model, prompt, tokens=tokens, device=device, cache=cache, **extra)
        base = baseline[n]["tokens"]
        same = 0
        while same < min(len(base), len(got["tokens"])) and base[same] == got["tokens"][same]:
            same += 1
        out[label(n)] = {k: v for k, v in got.items() if k not in ("tokens", "cache")}
        out[label(n)]["greedy_equal"] = got["tokens"] == base
        out[label(n)]["greedy_matching_prefix"] = same
        out[label(n)]["speedup"] = round(got["decode_tok_s"] / baseline[n]["decode_tok_s"], 3)
    out["greedy_equal"] = all(out[label(n)]["greedy_equal"] for n in prompts)
    return out


# -- main --------------------------------------------------------------------

def run(args: argparse.Namespace) -> dict[str, Any]:
    log = (lambda msg: print(f"[gpu {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True))
    cuda = torch.cuda.is_available()
    device = torch.device(args.device or ("cuda" if cuda and not args.tiny else "cpu"))
    if device.type == "cuda" and not cuda:
        raise SystemExit("--device cuda but torch sees no CUDA GPU")
    if not args.tiny and device.type != "cuda":
        raise SystemExit("the QwQ-32B shape needs an NVIDIA GPU (about 24 GB free); "
                         "use --tiny to test this script on CPU")
    quant = args.quant if args.quant != "auto" else (None if args.tiny else "nf4")
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[args.dtype] if args.dtype else \
        (torch.bfloat16 if device.type == "cuda" else torch.float32)
    variant = args.variant or ("compile" if device.type == "cuda" else "static")
    config = make_config(args.tiny, args.layers)
    torch.manual_seed(args.seed)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "device": device.type, "device_name": name,
        "shape": "tiny" if args.tiny else ("qwq-32b" if not args.layers else f"qwq-32b-width, {args.layers} layers"),
        "config": {k: v for k, v in config.to_dict().items() if k in QWQ_32B or k == "rope_parameters"},
        "quantization": quant or "none", "double_quant": bool(quant and args.double_quant),
        "dtype": str(dtype).removeprefix("torch."), "torch": torch.__version__,
    }
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        result["vram_total_gb"] = round(total / 2**30, 2)
        result["vram_free_at_start_gb"] = round(free / 2**30, 2)
        need = 19.5 + 4.5 * max([*args.contexts, *args.ttft_contexts]) / 16384  # NF4 weights + KV + activations
        if not args.tiny and not args.layers and quant == "nf4" and free / 2**30 < need:
            raise SystemExit(f"{free / 2**30:.1f} GiB of GPU memory free; the QwQ-32B shape in NF4 at these "
                             f"contexts needs about {need:.0f} GiB (try --layers 16 for a smoke run, or shorter "
                             "--contexts)")

    log(f"building {result['shape']} ({quant or 'no quantization'}, {result['dtype']}) on {name}")
    t0 = time.perf_counter()
    model = build_model(config, device=device, dtype=dtype, quant=quant, double_quant=args.double_quant,
                        seed=args.seed, log=log)
    _sync(device)
    result["build_s"] = round(time.perf_counter() - t0, 1)
    result["weights_vram_gb"] = round(torch.cuda.memory_allocated(device) / 2**30, 3) if device.type == "cuda" \
        else None
    wbytes, kvbytes = weight_bytes_per_token(model), kv_bytes_per_token(config, dtype)
    result["weight_bytes_per_token"] = wbytes
    result["weight_gb"] = round(wbytes / 1e9, 3)
    result["kv_bytes_per_context_token"] = kvbytes
    bandwidth, source = (args.bandwidth_gbs, "flag") if args.bandwidth_gbs else lookup_bandwidth(name)
    if device.type != "cuda" and not args.bandwidth_gbs:
        bandwidth, source = None, None
    result["bandwidth_gbs"], result["bandwidth_source"] = bandwidth, (f"table: {source}" if source and source
                                                                      != "flag" else source)

    gen = torch.Generator(device="cpu").manual_seed(args.seed + 1)
    contexts = sorted(args.contexts)
    longest = max([*contexts, *args.ttft_contexts])
    all_ids = torch.randint(10, config.vocab_size, (1, longest + args.splice_tokens), generator=gen)
    prompts = {n: all_ids[:, :n].to(device) for n in contexts}

    log(f"warm-up, then decode at contexts {contexts}")
    measure_decode(model, prompts[contexts[0]][:, : min(64, contexts[0])], tokens=2, device=device)
    decode: dict[int, dict[str, Any]] = {}
    for n in contexts:
        got = measure_decode(model, prompts[n], tokens=args.decode_tokens, device=device)
        del got["cache"]
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
        step_bytes = wbytes + kvbytes * n
        if bandwidth:
            got["bandwidth_limit_tok_s"] = round(bandwidth * 1e9 / step_bytes, 2)
            got["bandwidth_limit_tok_s_weights_only"] = round(bandwidth * 1e9 / wbytes, 2)
            got["bandwidth_ratio"] = round(got["decode_tok_s"] / got["bandwidth_limit_tok_s"], 4)
        got["bytes_per_step_gb"] = round(step_bytes / 1e9, 3)
        decode[n] = got
        log(f"context {n}: {got['decode_tok_s']} tok/s, prefill {got['prefill_s']} s, peak {got['peak_vram_gb']} GB")
    result["decode"] = {label(n): {k: v for k, v in d.items() if k != "tokens"} for n, d in decode.items()}
    result["decode_tok_s"] = {label(n): d["decode_tok_s"] for n, d in decode.items()}
    for n, d in decode.items():
        result[f"decode_tok_s_{label(n)}"] = d["decode_tok_s"]
        if "bandwidth_ratio" in d:
            result[f"bandwidth_ratio_{label(n)}"] = d["bandwidth_ratio"]
            result[f"bandwidth_limit_tok_s_{label(n)}"] = d["bandwidth_limit_tok_s"]
    logits_ok = True
    with torch.inference_mode():
        logits = model(prompts[contexts[0]][:, :16]).logits
        logits_ok = bool(torch.isfinite(logits).all())
    result["logits_finite"] = logits_ok

    log(f"time to first token after a {args.splice_tokens}-token tool response at {args.ttft_contexts}")
    splice = all_ids[:, -args.splice_tokens:].to(device)
    ttft = {}
    for n in args.ttft_contexts:
        ttft[label(n)] = measure_ttft(model, all_ids[:, :n].to(device), splice, device=device,
                                      repeats=args.ttft_repeats)
    result["ttft"] = ttft
    first_ttft = ttft[label(args.ttft_contexts[0])]
    result["ttft_reuse_s"], result["ttft_reprefill_s"] = first_ttft["reuse_s"], first_ttft["reprefill_s"]
    result["ttft_speedup"] = first_ttft["speedup"]

    if variant != "none":
        log(f"variant {variant!r}: static cache{' + torch.compile' if variant == 'compile' else ''}")
        try:
            v = measure_variant(model, variant, prompts, decode, tokens=args.decode_tokens, device=device,
                                compile_mode=args.compile_mode, tiny=args.tiny)
        except Exception as exc:  # noqa: BLE001 - a variant that cannot run is a finding, not a crash
            v = {"name": variant, "error": f"{type(exc).__name__}: {str(exc)[:500]}"}
        result["variant"] = v
        if "error" not in v:
            for n in contexts:
                result[f"variant_decode_tok_s_{label(n)}"] = v[label(n)]["decode_tok_s"]
            result["variant_greedy_equal"] = v["greedy_equal"]
            result["variant_speedup_" + label(contexts[0])] = v[label(contexts[0])]["speedup"]
    result["peak_vram_gb"] = _PEAK_GB[0] if _peak_gb(device) is not None else None  # over every phase
    result["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)
    return result


def report(r: dict[str, Any]) -> str:
    lines = [f"bench/gpu.py {r['date']}: {r['shape']} on {r['device_name']} ({r['quantization']}, {r['dtype']}), "
             f"built in {r['build_s']} s; weights read per token {r['weight_gb']} GB, KV "
             f"{r['kv_bytes_per_context_token'] / 1024:.0f} KiB per context token; bandwidth "
             f"{r['bandwidth_gbs']} GB/s ({r['bandwidth_source']})"]
    for key, d in r["decode"].items():
        limit = (f"; limit {d['bandwidth_limit_tok_s']} tok/s -> {d['bandwidth_ratio']:.1%} of it"
                 if "bandwidth_ratio" in d else "")
        lines.append(f"  context {key}: decode {d['decode_tok_s']} tok/s ({d['decode_ms_per_token']} ms/token), "
                     f"prefill {d['prefill_s']} s ({d['prefill_tok_s']} tok/s), peak VRAM {d['peak_vram_gb']} GB"
                     + limit)
    for key, t in r["ttft"].items():
        lines.append(f"  first token after a {t['splice_tokens']}-token tool response at {key}: KV reuse "
                     f"{t['reuse_s']} s vs re-prefill {t['reprefill_s']} s ({t['speedup']}x)")
    v = r.get("variant")
    if v:
        if "error" in v:
            lines.append(f"  variant {v['name']}: failed: {v['error']}")
        else:
            parts = [f"{k} {v[k]['decode_tok_s']} tok/s ({v[k]['speedup']}x, greedy "
                     f"{'equal' if v[k]['greedy_equal'] else 'differs after ' + str(v[k]['greedy_matching_prefix'])})"
                     for k in r["decode"]]
            lines.append(f"  variant {v['name']} (warm-up {v['warmup_s']} s): " + "; ".join(parts))
    lines.append(f"  peak VRAM {r['peak_vram_gb']} GB; logits finite: {r['logits_finite']}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ints = (lambda s: [int(x) for x in s.split(",") if x.strip()])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="tiny shape on CPU, unquantized (tests the script)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--device", choices=["cuda", "cpu"], help="default: cuda, or cpu with --tiny")
    p.add_argument("--contexts", type=ints, help="decode context lengths (default 1024,8192,16384; tiny 64,128,256)")
    p.add_argument("--decode-tokens", type=int, help="tokens decoded per context (default 32; tiny 8)")
    p.add_argument("--ttft-contexts", type=ints, help="contexts for the after-a-tool-call test (default 8192; tiny 128)")
    p.add_argument("--splice-tokens", type=int, help="tool-response tokens (default 1728 = 5 results of ~300; tiny 32)")
    p.add_argument("--ttft-repeats", type=int, default=3)
    p.add_argument("--variant", choices=["compile", "static", "none"],
                   help="faster variant to try (default compile on CUDA, static on CPU)")
    p.add_argument("--compile-mode", default="reduce-overhead", help="torch.compile mode for --variant compile")
    p.add_argument("--quant", choices=["auto", "nf4", "none"], default="auto",
                   help="auto: nf4 for the QwQ shape, none with --tiny (nf4 also runs on CPU with bitsandbytes)")
    p.add_argument("--no-double-quant", dest="double_quant", action="store_false")
    p.add_argument("--dtype", choices=["bf16", "fp32"], help="default bf16 on CUDA, fp32 on CPU")
    p.add_argument("--bandwidth-gbs", type=float, help="GPU memory bandwidth in GB/s (overrides the table)")
    p.add_argument("--layers", type=int, help="fewer decoder layers for a smoke run (figures are then not QwQ-32B's)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    a.contexts = a.contexts or ([64, 128, 256] if a.tiny else [1024, 8192, 16384])
    a.decode_tokens = a.decode_tokens or (8 if a.tiny else 32)
    a.ttft_contexts = a.ttft_contexts or ([128] if a.tiny else [8192])
    a.splice_tokens = a.splice_tokens or (32 if a.tiny else 1728)
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore")
    try:
        from transformers.utils import logging as tlog

        tlog.set_verbosity_error()
    except ImportError:
        pass
    result = run(args)
    print(report(result), flush=True)
    if args.json:
        print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
