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


def test_the_real_pages_are_the_benchmark_s_with_their_reference_text():
    truth = read_bench.json.loads((read_bench.REAL_PAGES / "ground-truth.json").read_text(encoding="utf-8"))
    pages = sorted(p.name.removesuffix(".html.gz") for p in read_bench.REAL_PAGES.glob("*.html.gz"))
    assert pages == sorted(truth) and len(pages) == 21
    assert all(entry["articleBody"].strip() and entry["url"].startswith("http") for entry in truth.values())
    real = read_bench.bench_real_extraction(3)
    assert real["pages"] == 3 and set(read_bench.EXTRACTORS) <= set(real)
    ours = real["ours (trafilatura)"]
    assert ours["shingle_f1"] >= 0.9 and ours["f1_mean"] >= 0.9  # a fixed set: the same score every run
    assert ours["shingle_f1"] > real["all text (get_text)"]["shingle_f1"]
    assert "real pages" in read_bench.report({"extraction": real, "real_extraction": real, "needle": [],
                                              "parallel": read_bench.bench_parallel(delay_s=0.0, repeats=1)})


def test_the_shingle_metric_is_the_benchmark_s():
    assert read_bench.shingle_counts("one two three four five", "one two three four five") == (1.0, 0.0, 0.0)
    tp, fp, fn = read_bench.shingle_counts("one two three four", "one two three four five six")
    assert (tp, fp, fn) == (1 / 3, 0.0, 2 / 3)
    f1, precision, recall = read_bench.shingle_f1([(1 / 3, 0.0, 2 / 3), (1.0, 0.0, 0.0)])
    assert precision == 1.0 and recall == (1 / 3 + 1) / 2 and abs(f1 - 2 * recall / (1 + recall)) < 1e-12
