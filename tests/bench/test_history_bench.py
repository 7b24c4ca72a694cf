"""The history benchmark runs on tiny sizes and reports every figure it claims (no timings asserted)."""

from __future__ import annotations

from bench import history_bench


def test_the_history_benchmark_reports_its_figures(capsys):
    assert history_bench.main(["--conversations", "20", "--turns", "3"]) == 0
    out = capsys.readouterr().out
    for phrase in ("history list, 20 conversations", "reopen a 3-turn conversation", "bytes per record event",
                   "another branch of its last turn adds"):
        assert phrase in out
    figures = history_bench.bench(10, 2)
    assert figures["player_bytes_per_event"] > 0 and figures["report_bytes"] > 0
    assert figures["branch_bytes"] > 0  # the branch is in the file
