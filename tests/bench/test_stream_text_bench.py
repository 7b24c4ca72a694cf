"""Smoke test of bench/stream_text.py: it runs and reports both growth ratios."""

from bench.stream_text import measure


def test_stream_text_bench_reports_both_growths() -> None:
    result = measure(5000)
    assert set(result) == {"ours_s_5000", "ours_s_25000", "ours_growth_5x",
                           "grown_string_s_5000", "grown_string_s_25000", "grown_string_growth_5x"}
    assert all(v > 0 for v in result.values())
