"""The engine's command-line flags and stop signals, shared by the CLI (``python -m agent``), the
eval (``python -m agent.eval``) and ``app.py``."""

from __future__ import annotations

import argparse
import signal

from .config import Settings, load_dotenv_file, settings_from_env
from .registry import BACKENDS, PROVIDERS, help_text

# docker stop, timeout, a Space restart and CI cancels send SIGTERM or SIGHUP: every entry point
# (the CLI, the eval, the web app) ends on each of them as on Ctrl-C.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def engine_flags(parser: argparse.ArgumentParser, *, recordings: bool = True) -> None:
    """Add the engine flags (backend, model, search, budgets, and --trace and --replay, listed in
    the help only with ``recordings``) to ``parser``."""
    g = parser.add_argument_group("engine")
    g.add_argument("--backend", choices=list(BACKENDS),
                   help="LLM backend (default: transformers, or scripted with --model-script). "
                        + help_text(BACKENDS))
    g.add_argument("--model", help="model id or local path (default Qwen/QwQ-32B)")
    g.add_argument("--dialect", choices=["qwq", "search-r1", "research"],
                   help="the search protocol the model was trained on (default qwq; "
                        "search-r1 and research run Search-R1 / ReSearch checkpoints)")
    g.add_argument("--base-url", help="OpenAI-compatible server URL for --backend openai")
    g.add_argument("--provider", choices=list(PROVIDERS),
                   help="search provider (default auto). " + help_text(PROVIDERS))
    g.add_argument("--index", metavar="DIR",
                   help="a document index (python -m agent.index): what --provider local searches, "
                        "else a second tool, search_documents, beside web search")
    g.add_argument("--retriever-url", metavar="URL",
                   help="a Search-R1-compatible POST /retrieve server for --provider retriever")
    g.add_argument("--max-searches", type=int, metavar="N", help="search budget per question (default 5)")
    g.add_argument("--max-new-tokens", type=int, metavar="N", help="token limit per generation round")
    g.add_argument("--model-script", metavar="FILE",
                   help="JSON list of raw model outputs, one per round, or a catalogue "
                        '{"questions": {QUESTION: [rounds]}, "default": [rounds]} (implies --backend scripted)')
    g.add_argument("--search-fixture", metavar="FILE",
                   help="JSON {query: [results]} to search offline (implies --provider fixture)")
    g.add_argument("--read", choices=["off", "auto", "ask"],
                   help="read the sources (default auto: the top --read-top results of each search, plus "
                        "open_page for qwq; ask: open_page only; off: snippets only)")
    g.add_argument("--read-top", type=int, metavar="N", help="results of each search read in auto mode (default 3)")
    g.add_argument("--reader", choices=["bm25", "model"],
                   help="how passages are picked: bm25 (default) or model (Qwen-Agent parallel reading; "
                        "server backends only)")
    g.add_argument("--allow-private-fetch", action="store_true", default=None,
                   help="let pages be read from private and loopback addresses (intranet deployments)")
    g.add_argument("--page-fixture", metavar="FILE",
                   help='JSON {url: html | {"status": 404} | {"error": "..."} | {"content_type": ..., '
                        '"body_base64": ...}}: pages come from it and are never fetched')
    g.add_argument("--check-claims", choices=["off", "lexical", "judge"],
                   help="check each cited sentence against its sources: lexical (default; free, instant), "
                        "judge (also asks a model: the --judge-base-url server, else the app's own "
                        "backend) or off (DEEPSEARCH_CHECK_CLAIMS)")
    g.add_argument("--judge-base-url", metavar="URL",
                   help="OpenAI-compatible server of an LLM judge, for the eval and --check-claims judge "
                        "(key in $DEEPSEARCH_JUDGE_API_KEY)")
    g.add_argument("--judge-model", metavar="ID", help="the judge's model name on that server")
    # Without ``recordings`` they stay accepted, unlisted, so the caller can say why they do not apply.
    g.add_argument("--trace", metavar="FILE", help="record the run as JSONL" if recordings else argparse.SUPPRESS)
    g.add_argument("--replay", metavar="FILE",
                   help="re-emit a recorded trace instead of running" if recordings else argparse.SUPPRESS)


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from defaults < .env < environment < the engine flags in ``args``."""
    load_dotenv_file()
    return settings_from_env(
        backend=args.backend, model=args.model, dialect=args.dialect, base_url=args.base_url,
        provider=args.provider,
        max_searches=args.max_searches, max_new_tokens=args.max_new_tokens,
        model_script=args.model_script, search_fixture=args.search_fixture,
        index_dir=args.index, retriever_url=args.retriever_url,
        read=args.read, read_top=args.read_top, reader=args.reader,
        allow_private_fetch=args.allow_private_fetch, page_fixture=args.page_fixture,
        check_claims=args.check_claims, judge_base_url=args.judge_base_url, judge_model=args.judge_model,
    )
