"""Reading a long streamed round: cost growth from 1 M to 5 M characters (issue 11.8).

    python bench/stream_text.py [--chars 200000] [--json]

The openai backend reads each delta into the round's text. Growing one string
with ``+=`` copies the whole text at every delta (quadratic: the issue measured
2.1 s for 1 M characters, 25 s for 5 M); keeping the deltas in a list costs the
same per delta at any length. This feeds the same deltas, in process (no HTTP,
so only the accumulation is measured), through the backend's ``RoundReader``
and through a ``+=`` string, at N and 5 N characters, and prints each one's
growth: 5.0 is linear, 25 quadratic.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from agent.backends.base import Usage  # noqa: E402
from agent.backends.openai.link import RoundLink  # noqa: E402
from agent.backends.openai.stream import Round, RoundReader  # noqa: E402

DELTA = "word "  # one token per delta, as vLLM streams


def _chunks(chars: int) -> Iterator[Any]:
    delta = SimpleNamespace(content=DELTA, reasoning_content=None, reasoning=None, tool_calls=None)
    chunk = SimpleNamespace(choices=[SimpleNamespace(delta=delta, finish_reason=None)], usage=None)
    for _ in range(chars // len(DELTA)):
        yield chunk
    end = SimpleNamespace(content=None, reasoning_content=None, reasoning=None, tool_calls=None)
    yield SimpleNamespace(choices=[SimpleNamespace(delta=end, finish_reason="stop")], usage=None)


def ours(chars: int) -> float:
    link = RoundLink(threading.Event(), stall_s=3600)
    reader = RoundReader(Round(limit=10**9), usage=Usage(), log=["prompt"], link=link, url="bench",
                         round_no=1)
    start = time.perf_counter()
    for _ in reader.read(_chunks(chars)):
        pass
    link.finish()
    return time.perf_counter() - start


def grown_string(chars: int) -> float:
    """The accumulation the backend had before: one string per round, grown with ``+=``."""
    log = ["prompt", ""]
    start = time.perf_counter()
    for chunk in _chunks(chars):
        text = chunk.choices[0].delta.content
        if text:
            log[-1] += text
    return time.perf_counter() - start


def measure(chars: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, fn in (("ours", ours), ("grown_string", grown_string)):
        small, big = fn(chars), fn(5 * chars)
        out[f"{name}_s_{chars}"] = small
        out[f"{name}_s_{5 * chars}"] = big
        out[f"{name}_growth_5x"] = round(big / small, 2) if small > 0 else float("nan")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chars", type=int, default=200_000, help="the smaller size (the larger is 5x)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    result = measure(args.chars)
    if args.json:
        print(json.dumps(result))
        return 0
    n = args.chars
    print(f"{'':14} {n:>12,} chars {5 * n:>12,} chars   growth (5.0 linear, 25 quadratic)")
    for name in ("ours", "grown_string"):
        print(f"{name:14} {result[f'{name}_s_{n}']:>12.3f} s     {result[f'{name}_s_{5 * n}']:>12.3f} s     "
              f"{result[f'{name}_growth_5x']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
