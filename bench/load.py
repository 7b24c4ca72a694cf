"""How many people one app replica serves, measured against plain Gradio.

``python bench/load.py [--quick] [--json]`` starts, all on 127.0.0.1:

- a fake OpenAI-compatible server streaming like vLLM (``bench/load_fake_server.py``:
  thinking, then the answer, a tool call in half of the answers, paced at
  ``--tok-s`` tokens a second per stream);
- the app, ``python app.py --backend openai`` against it (search answered from a
  fixture file, so no network);
- a minimal ``gr.Blocks`` chat streaming the same tokens (``bench/load_baseline.py``);

then, for each N in the list, N ``gradio_client`` sessions (in worker processes,
``bench/load_clients.py``) ask at once, first the app then the baseline or the
other way round (alternating per N, so a drift of the shared CPU hits both).
Printed side by side per N: answer time p50/p95, time to the first visible
token, updates per stream, errors, the server process's CPU seconds per 1k
streamed tokens, and its resident memory per session. Ratios matter here, not
absolute figures: both servers are measured in the same run on the same box.

JSON keys (``--json``, the last line): ``sessions`` (largest N), ``errors`` (the
app's, all N), ``cpu_ratio`` (app / baseline CPU per token at the largest N),
``cpu_ratio_1`` (the same at N = 1), ``slowdown_app`` and ``slowdown_baseline``
(p50 at the largest N / p50 at N = 1), ``mem_mb_per_session``, and ``runs``
with every figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.load_clients import Target, run_worker  # noqa: E402
from bench.load_procs import Servers, cpu_seconds, rss_mb  # noqa: E402

QUICK_SESSIONS = (1, 8, 32)
FULL_SESSIONS = (1, 8, 32, 64, 128)
GOALS = {"cpu_ratio": "<= 1.0", "cpu_ratio_1": "<= 1.0", "slowdown_app": "<= slowdown_baseline",
         "errors": "0 at the largest N"}


@dataclass(frozen=True, kw_only=True)
class Plan:
    sessions: tuple[int, ...]
    questions: int
    tokens: int
    tok_s: float
    workers: int
    timeout_s: float
    ttft_s: float = 0.2


def phase(servers: Servers, target: Target, n: int, plan: Plan) -> dict[str, Any]:
    """N sessions ask ``plan.questions`` questions each; the server's CPU, memory and tokens around it."""
    url, pid = servers.url(target), servers.pid(target)
    ctx = _client_context()
    groups = [list(range(n))[i::min(n, plan.workers)] for i in range(min(n, plan.workers))]
    pipes, procs = [], []
    for group in groups:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=run_worker, args=(url, target, group, plan.questions, plan.timeout_s, child),
                           daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    try:
        for conn in pipes:
            if not conn.poll(plan.timeout_s):
                raise RuntimeError(f"a client worker did not open its sessions on {url} in {plan.timeout_s} s")
            kind, detail = conn.recv()
            if kind != "ready":
                raise RuntimeError(detail)
        rss0, tok0, cpu0, t0 = rss_mb(pid), servers.tokens(), cpu_seconds(pid), time.monotonic()
        for conn in pipes:
            conn.send("go")
        records, peak = _collect(pipes, pid, deadline=t0 + plan.timeout_s * plan.questions + 30)
        cpu, tokens, wall = cpu_seconds(pid) - cpu0, servers.tokens() - tok0, time.monotonic() - t0
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
    return _summary(records, n=n, plan=plan, cpu=cpu, tokens=tokens, wall=wall, rss0=rss0, peak=peak)


def _client_context() -> Any:
    """Where client workers start: a fork server that imported gradio_client once, so each
    phase's workers start at once rather than after an import of ~1 s (and inherit none of this
    process's threads); fresh interpreters where there is no fork server (Windows)."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["bench.load_clients", "gradio_client"])
    return ctx


def _collect(pipes: list, pid: int, *, deadline: float) -> tuple[list[dict], float]:
    """The workers' records, sampling the server's RSS meanwhile; bounded by ``deadline``."""
    records: list[dict] = []
    pending = list(pipes)
    peak = rss_mb(pid)
    while pending and time.monotonic() < deadline:
        for conn in list(pending):
            if conn.poll(0.2 / len(pending)):
                kind, detail = conn.recv()
                records += detail if kind == "done" else []
                pending.remove(conn)
        peak = max(peak, rss_mb(pid))
    if pending:
        records.append({"session": -1, "wall_s": None, "ttft_s": None, "updates": 0,
                        "error": f"{len(pending)} client worker(s) did not finish in time"})
    return records, peak


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 3)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 3)


def _summary(records: list[dict], *, n: int, plan: Plan, cpu: float, tokens: int, wall: float,
             rss0: float, peak: float) -> dict[str, Any]:
    ok = [r for r in records if not r["error"]]
    walls = [r["wall_s"] for r in ok]
    ttfts = [r["ttft_s"] for r in ok if r["ttft_s"] is not None]
    errors = [r["error"] for r in records if r["error"]]
    missing = n * plan.questions - len(records)
    return {
        "sessions": n, "answers": len(ok), "errors": len(errors) + max(0, missing),
        "error_examples": sorted(set(errors))[:3],
        "p50_s": _pct(walls, 50), "p95_s": _pct(walls, 95),
        "ttft_p50_s": _pct(ttfts, 50), "ttft_p95_s": _pct(ttfts, 95),
        "updates_per_stream": round(statistics.mean(r["updates"] for r in ok), 1) if ok else None,
        "tokens": tokens, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
        "cpu_s_per_1k_tokens": round(1000 * cpu / tokens, 3) if tokens else None,
        "rss_start_mb": round(rss0, 1), "rss_peak_mb": round(peak, 1),
    }


def run(plan: Plan, workdir: Path) -> dict[str, Any]:
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load0 = os.getloadavg()[0]
    runs: dict[str, dict[str, Any]] = {}
    with Servers(workdir, tokens=plan.tokens, tok_s=plan.tok_s, concurrency=max(plan.sessions),
                 ttft_s=plan.ttft_s) as servers:
        warm = Plan(**{**plan.__dict__, "questions": 1})
        idle = {}
        for target in ("app", "baseline"):
            phase(servers, target, 1, warm)  # imports, first-request work: not measured
            idle[target] = rss_mb(servers.pid(target))
        for i, n in enumerate(plan.sessions):
            order = ("app", "baseline") if i % 2 == 0 else ("baseline", "app")
            for target in order:
                result = phase(servers, target, n, plan)
                result["mem_mb_per_session"] = round(max(0.0, result["rss_peak_mb"] - idle[target]) / n, 2)
                runs.setdefault(str(n), {})[target] = result
    return _headline(plan, runs, idle, started=started, load=(load0, os.getloadavg()[0]))


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _headline(plan: Plan, runs: dict, idle: dict, *, started: str, load: tuple[float, float]) -> dict[str, Any]:
    top, one = runs[str(max(plan.sessions))], runs[str(min(plan.sessions))]
    app_top, base_top = top["app"], top["baseline"]
    return {
        "sessions": max(plan.sessions),
        "errors": sum(r["app"]["errors"] for r in runs.values()),
        "errors_baseline": sum(r["baseline"]["errors"] for r in runs.values()),
        "cpu_ratio": _ratio(app_top["cpu_s_per_1k_tokens"], base_top["cpu_s_per_1k_tokens"]),
        "cpu_ratio_1": _ratio(one["app"]["cpu_s_per_1k_tokens"], one["baseline"]["cpu_s_per_1k_tokens"]),
        "slowdown_app": _ratio(app_top["p50_s"], one["app"]["p50_s"]),
        "slowdown_baseline": _ratio(base_top["p50_s"], one["baseline"]["p50_s"]),
        "mem_mb_per_session": app_top["mem_mb_per_session"],
        "mem_mb_per_session_baseline": base_top["mem_mb_per_session"],
        "rss_idle_mb": {k: round(v, 1) for k, v in idle.items()},
        "runs": runs,
        "plan": {**plan.__dict__, "sessions": list(plan.sessions)},
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "started": started,
                    "loadavg_1m_start": round(load[0], 2), "loadavg_1m_end": round(load[1], 2)},
        "goals": GOALS,
    }


def report(r: dict[str, Any]) -> str:
    m, p = r["machine"], r["plan"]
    lines = [
        f"Load: {p['questions']} question(s) per session, {p['tokens']} tokens per answer at {p['tok_s']} tok/s "
        f"per stream; {m['nproc']} CPUs, load average {m['loadavg_1m_start']} -> {m['loadavg_1m_end']}, "
        f"started {m['started']}",
        f"{'N':>4} | {'answer p50/p95 s':>17} | {'first token p50 s':>17} | {'updates':>11} | {'errors':>7} | "
        f"{'CPU s/1k tok':>13} | {'MB/session':>11}",
        f"{'':>4} | {'app  base':>17} | {'app  base':>17} | {'app base':>11} | {'app base':>7} | "
        f"{'app  base':>13} | {'app  base':>11}",
    ]
    for n, pair in r["runs"].items():
        a, b = pair["app"], pair["baseline"]
        lines.append(
            f"{n:>4} | {a['p50_s']}/{a['p95_s']} {b['p50_s']}/{b['p95_s']} | {a['ttft_p50_s']} {b['ttft_p50_s']} | "
            f"{a['updates_per_stream']} {b['updates_per_stream']} | {a['errors']} {b['errors']} | "
            f"{a['cpu_s_per_1k_tokens']} {b['cpu_s_per_1k_tokens']} | {a['mem_mb_per_session']} "
            f"{b['mem_mb_per_session']}")
        for name, side in (("app", a), ("baseline", b)):
            if side["error_examples"]:
                lines.append(f"     {name} errors: {'; '.join(side['error_examples'])}")
    lines.append(
        f"cpu_ratio {r['cpu_ratio']} (N={r['sessions']}, goal <= 1.0), cpu_ratio_1 {r['cpu_ratio_1']} "
        f"(goal <= 1.0), slowdown app {r['slowdown_app']} vs baseline {r['slowdown_baseline']}, "
        f"errors {r['errors']} (baseline {r['errors_baseline']}), app memory {r['mem_mb_per_session']} MB "
        f"per session over an idle {r['rss_idle_mb']['app']} MB")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> tuple[Plan, argparse.Namespace]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help=f"N = {QUICK_SESSIONS}, shorter answers: under 5 "
                                                         "minutes on 2 cores")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument("--sessions", help=f"comma-separated N list (default {FULL_SESSIONS})")
    p.add_argument("--questions", type=int, help="questions per session (default 2)")
    p.add_argument("--tokens", type=int, help="tokens per answer (default 300, quick 200)")
    p.add_argument("--tok-s", type=float, default=50.0, help="tokens a second per stream (default 50)")
    p.add_argument("--ttft", type=float, default=0.2, metavar="S",
                   help="seconds the fake model waits before each stream's first token, its prefill (default 0.2)")
    p.add_argument("--workers", type=int, default=4, help="client processes (default 4)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds one answer may take before it counts "
                                                                 "as an error (default 300)")
    a = p.parse_args(argv)
    try:
        sessions = tuple(sorted({int(x) for x in a.sessions.split(",")})) if a.sessions else (
            QUICK_SESSIONS if a.quick else FULL_SESSIONS)
    except ValueError:
        p.error(f"--sessions takes numbers separated by commas, e.g. 1,8,32; got {a.sessions!r}")
    plan = Plan(sessions=sessions, questions=a.questions or 2, tokens=a.tokens or (200 if a.quick else 300),
                tok_s=a.tok_s, workers=a.workers, timeout_s=a.timeout, ttft_s=a.ttft)
    if min(sessions) < 1 or plan.questions < 1 or plan.tokens < 4 or plan.tok_s <= 0 or plan.workers < 1 \
            or not 0 <= plan.ttft_s < 60:
        p.error(f"sessions, questions, workers must be >= 1, tokens >= 4, tok/s > 0, 0 <= ttft < 60; got {plan!r}")
    return plan, a


def main(argv: list[str] | None = None) -> int:
    plan, args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="deepsearch-load-") as tmp:
        result = run(plan, Path(tmp))
    print(report(result), flush=True)
    if args.json:
        print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
