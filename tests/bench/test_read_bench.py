"""bench/read_bench.py runs and reports what it claims (structure and exact counts; no timings asserted)."""

from __future__ import annotations

from bench import read_bench, read_pages


def test_the_bundled_pages_are_the_generator_s_output():
    generated = read_pages.generate()
    assert len(generated) >= 50
    for i, (doc, gold) in enumerate(generated[:5]):
        assert (read_pages.OUT / f"{i:02d}.html").read_text(encoding="utf-8") == doc
        assert (read_pages.OUT / f"{i:02d}.txt").read_text(encoding="utf-8") == gold + "\n"


def test_extraction_and_needle_and_parallel_report():
    extraction = read_bench.bench_extraction(3)
    assert extraction["pages"] == 3 and set(read_bench.EXTRACTORS) <= set(extraction)
    assert extraction["ours (trafilatura)"]["f1_mean"] >= 0.9  # a fixed set: the same score every run
    [needle] = read_bench.bench_needle((8_000,))
    assert needle["recall_at_3"] == 1.0 and needle["passages"] > 3
    parallel = read_bench.bench_parallel(delay_s=0.05, repeats=1)
    text = read_bench.report({"extraction": extraction, "needle": [needle], "parallel": parallel})
    assert "ours (trafilatura)" in text and "recall@3 1.0" in text and "three at once" in text
