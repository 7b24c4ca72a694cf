"""``bench/load.py`` runs end to end and reports what it claims (tiny N, few tokens; no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load_clients import question
from bench.load_fake_server import END_MARK, THINK_MARK, Pace, plan

REPO = Path(__file__).resolve().parents[2]


def test_fake_server_streams_the_same_tokens_with_or_without_a_search() -> None:
    pace = Pace(tokens=60)
    think, answer, call = plan([{"role": "user", "content": question(0, 0)}], pace)
    assert call and not answer and think[0] == THINK_MARK  # a searching answer starts with a tool call
    think2, answer2, call2 = plan([{"role": "user", "content": "x"}, {"role": "tool", "content": "r"}], pace)
    assert not call2 and END_MARK in answer2[-1] and "[1]" in answer2[0]
    plain_think, plain_answer, plain_call = plan([{"role": "user", "content": question(0, 1)}], pace)
    assert not plain_call and plain_think[0] == THINK_MARK and END_MARK in plain_answer[-1]
    assert len(think) + len(think2) + len(answer2) == len(plain_think) + len(plain_answer) == 60


def test_load_bench_smoke_json() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "load.py"), "--sessions", "1,2", "--tokens", "12",
                           "--tok-s", "200", "--questions", "2", "--workers", "1", "--timeout", "60", "--json",
                           "--ttft", "0"],
                          capture_output=True, text=True, timeout=400, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["sessions"] == 2 and r["errors"] == 0 and r["errors_baseline"] == 0
    for key in ("cpu_ratio", "cpu_ratio_1", "slowdown_app", "slowdown_baseline"):
        assert r[key] > 0, key
    assert r["mem_mb_per_session"] >= 0
    for n in ("1", "2"):
        for target in ("app", "baseline"):
            run = r["runs"][n][target]
            assert run["answers"] == 2 * int(n), (n, target)
            assert run["updates_per_stream"] >= 2 and run["tokens"] > 0
            # The client sees the first token only at a poll before the answer ends: on a slow
            # machine every tiny answer can end between two polls, and the bench says null.
            assert run["ttft_p50_s"] is None or run["ttft_p50_s"] > 0, run
    # Both servers were fed the same stream: the same tokens for the same questions.
    assert r["runs"]["2"]["app"]["tokens"] == r["runs"]["2"]["baseline"]["tokens"]
    assert "cpu_ratio" in proc.stdout.splitlines()[-2]


def test_load_bench_refuses_bad_sessions() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "load.py"), "--sessions", "one,8"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 2 and "'one,8'" in proc.stderr


@pytest.mark.parametrize("args", [["--tokens", "2"], ["--sessions", "0,4"], ["--tok-s", "0"], ["--ttft", "-1"]])
def test_load_bench_refuses_bad_sizes(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "load.py"), *args],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 2 and "got" in proc.stderr
