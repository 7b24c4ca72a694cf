"""Reading the sources (issue 26): extraction quality and speed, needle recall, parallel reads.

``python bench/read_bench.py [--quick] [--json]`` prints, side by side in one run:

1. **Extraction** on the bundled pages (``bench/data/extraction``, written by
   ``bench/read_pages.py``): bag-of-words F1 of the extracted text against the article, and
   pages/s, for ours (``agent.read.extract``: trafilatura after dropping hidden elements) and
   two baselines (the document index's HTML reader, which drops nav/header/footer/aside, and
   every text node of the page, as BeautifulSoup ``get_text`` would give). Goal: F1 >= 0.90.
   The same on **real pages** (``bench/data/extraction_real``: 21 of the 181 news and blog
   pages of Scrapinghub's article-extraction-benchmark, MIT, with their hand-checked article
   bodies), scored also by that benchmark's own metric (F1 of 4-word shingles, precision and
   recall averaged over pages, as its ``evaluate.py`` does).
2. **Needle**: one sentence hidden in documents of ~8k, ~128k and ~1M tokens of generated
   prose; a question that paraphrases it; recall@3 of the passage holding it (goal 1.0) and the
   seconds to cut and select (goal: 1M tokens in < 5 s on this machine).
3. **Parallel reads**: 3 pages from a local server that delays each by 300 ms, read by one
   ``read_many`` (as auto-read does), against the slowest page alone and the three one after
   another. Goal: parallel <= 1.3x the slowest.
"""

from __future__ import annotations

import argparse
import gzip
import http.server
import json
import random
import re
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from agent.read import FetchLimits, HttpFetcher, PageReader, extract, passages_of, select  # noqa: E402
from agent.read.fetch import Fetched  # noqa: E402

PAGES = Path(__file__).resolve().parent / "data" / "extraction"
REAL_PAGES = Path(__file__).resolve().parent / "data" / "extraction_real"
_WORD = re.compile(r"\w+")

NEEDLE = "Rosalind Achterberg always flavoured her famous lemon sponge cake with green cardamom from Kerala."
QUESTION = "Which spice did Rosalind Achterberg add to her lemon sponge cake?"


# ----------------------------------------------------------------------------------- extraction


def f1(found: str, gold: str) -> float:
    a, b = Counter(_WORD.findall(found.lower())), Counter(_WORD.findall(gold.lower()))
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def _ours(body: bytes) -> str:
    return extract(Fetched(url="https://example.org/p", content_type="text/html", charset="utf-8", body=body)).text


def _index_reader(body: bytes) -> str:
    from agent.index.readers import _html

    return "\n".join(s.text for s in _html(body, "p.html", "p")[1])


def _all_text(body: bytes) -> str:
    import lxml.html

    root = lxml.html.document_fromstring(body)
    for el in root.iter("script", "style"):
        el.drop_tree()
    return root.text_content()


EXTRACTORS = {"ours (trafilatura)": _ours, "index HTML reader": _index_reader, "all text (get_text)": _all_text}


def bench_extraction(limit: int | None = None) -> dict[str, Any]:
    pages = sorted(PAGES.glob("*.html"))[:limit]
    data = [(p.read_bytes(), p.with_suffix(".txt").read_text(encoding="utf-8")) for p in pages]
    _ours(data[0][0])  # imports and trafilatura's first-call setup are not per-page costs
    out: dict[str, Any] = {"pages": len(data)}
    for name, fn in EXTRACTORS.items():
        start = time.perf_counter()
        scores = [f1(fn(body), gold) for body, gold in data]
        seconds = time.perf_counter() - start
        out[name] = {"f1_mean": round(statistics.mean(scores), 4), "f1_min": round(min(scores), 4),
                     "pages_per_s": round(len(data) / seconds, 1)}
    return out


def shingle_counts(found: str, gold: str, n: int = 4) -> tuple[float, float, float]:
    """(tp, fp, fn) over 4-word shingles, normalised to sum to 1: the article-extraction-benchmark's
    ``string_shingle_matching``, so a long article weighs no more than a short one."""
    def shingles(text: str) -> Counter[tuple[str, ...]]:
        words = _WORD.findall(text)
        return Counter(tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1)) if words[i:i + n])

    a, b = shingles(found), shingles(gold)
    tp, fp, fn = sum((a & b).values()), sum((a - b).values()), sum((b - a).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def shingle_f1(rows: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """(F1, precision, recall) of per-page (tp, fp, fn), averaged as the benchmark's evaluate.py does."""
    def score(part: float, other: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else 0.0 if part == other == 0 else part / (part + other)

    precision = statistics.mean(score(tp, fp, fp, fn) for tp, fp, fn in rows if tp + fp > 0)
    recall = statistics.mean(score(tp, fn, fp, fn) for tp, fp, fn in rows if tp + fn > 0)
    return 2 * precision * recall / (precision + recall), precision, recall


def bench_real_extraction(limit: int | None = None) -> dict[str, Any]:
    """The extractors on real pages, against the article bodies people marked in them."""
    truth = json.loads((REAL_PAGES / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(truth)[:limit]
    data = [(gzip.decompress((REAL_PAGES / f"{k}.html.gz").read_bytes()), truth[k]["articleBody"]) for k in keys]
    out: dict[str, Any] = {"pages": len(data)}
    for name, fn in EXTRACTORS.items():
        start = time.perf_counter()
        found = [fn(body) for body, _ in data]
        seconds = time.perf_counter() - start
        words = [f1(text, gold) for text, (_, gold) in zip(found, data)]
        shingled, precision, recall = shingle_f1([shingle_counts(text, gold) for text, (_, gold) in zip(found, data)])
        out[name] = {"f1_mean": round(statistics.mean(words), 4), "f1_min": round(min(words), 4),
                     "shingle_f1": round(shingled, 4), "shingle_precision": round(precision, 4),
                     "shingle_recall": round(recall, 4), "pages_per_s": round(len(data) / seconds, 1)}
    return out


# ----------------------------------------------------------------------------------- needle


def haystack(tokens: int, *, seed: int = 7) -> str:
    """Generated prose of about ``tokens`` tokens (~0.75 words a token) with the needle at 60%."""
    rng = random.Random(seed)
    vocab = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "bi", "da", "fe", "go")
             for b in ("ran", "mel", "tis", "dor", "pun", "sek", "lav", "nor", "qui", "zet", "bam", "hol",
                       "tir", "wex", "yul", "cap")]
    common = ["the", "of", "and", "a", "in", "was", "to", "for", "with", "on", "by", "as"]
    words_needed = int(tokens * 0.75)
    sentences, count = [], 0
    while count < words_needed:
        n = rng.randint(8, 20)
        sentence = " ".join(rng.choice(common) if rng.random() < 0.4 else rng.choice(vocab) for _ in range(n))
        sentences.append(sentence.capitalize() + ".")
        count += n
    sentences.insert(int(len(sentences) * 0.6), NEEDLE)
    paragraphs = [" ".join(sentences[i:i + 6]) for i in range(0, len(sentences), 6)]
    return "\n\n".join(paragraphs)


def bench_needle(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        text = haystack(size)
        start = time.perf_counter()
        passages = passages_of(text)
        best = select(passages, [QUESTION], k=3)
        seconds = time.perf_counter() - start
        rows.append({"tokens": size, "chars": len(text), "passages": len(passages),
                     "recall_at_3": 1.0 if any(NEEDLE in p.text for p in best) else 0.0,
                     "seconds": round(seconds, 3)})
    return rows


# ----------------------------------------------------------------------------------- parallel reads


def _server(delay_s: float, body: bytes) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            time.sleep(delay_s)  # the page's server is slow; the reader must not add the delays up
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def bench_parallel(delay_s: float = 0.3, repeats: int = 3) -> dict[str, Any]:
    body = sorted(PAGES.glob("*.html"))[0].read_bytes()
    server, base = _server(delay_s, body)
    cancel = threading.Event()
    try:
        def fresh() -> PageReader:  # no cache between measurements
            return PageReader(HttpFetcher(limits=FetchLimits(), allow_private=True))

        fresh().read(f"{base}/warm", queries=["x"], k=3, cancel=cancel)
        single, parallel, serial = [], [], []
        for r in range(repeats):
            start = time.perf_counter()
            fresh().read(f"{base}/one{r}", queries=["bridge"], k=3, cancel=cancel)
            single.append(time.perf_counter() - start)
            start = time.perf_counter()
            results = fresh().read_many([f"{base}/p{r}-{i}" for i in range(3)], queries=["bridge"], k=3,
                                        cancel=cancel)
            parallel.append(time.perf_counter() - start)
            assert all(res.error is None for res in results), [res.error for res in results]
            reader = fresh()
            start = time.perf_counter()
            for i in range(3):
                reader.read(f"{base}/s{r}-{i}", queries=["bridge"], k=3, cancel=cancel)
            serial.append(time.perf_counter() - start)
    finally:
        server.shutdown()
        server.server_close()
    slowest, par, ser = statistics.median(single), statistics.median(parallel), statistics.median(serial)
    return {"delay_s": delay_s, "one_page_s": round(slowest, 3), "three_parallel_s": round(par, 3),
            "three_one_by_one_s": round(ser, 3), "parallel_over_slowest": round(par / slowest, 2),
            "one_by_one_over_slowest": round(ser / slowest, 2)}


# ----------------------------------------------------------------------------------- report


def run_all(*, quick: bool) -> dict[str, Any]:
    return {"extraction": bench_extraction(10 if quick else None),
            "real_extraction": bench_real_extraction(5 if quick else None),
            "needle": bench_needle((8_000, 128_000) if quick else (8_000, 128_000, 1_000_000)),
            "parallel": bench_parallel(repeats=1 if quick else 3)}


def report(results: dict[str, Any]) -> str:
    ex = results["extraction"]
    lines = [f"Extraction on {ex['pages']} bundled pages (goal: F1 >= 0.90)",
             f"  {'extractor':<22} {'F1 mean':>8} {'F1 min':>7} {'pages/s':>8}"]
    for name in EXTRACTORS:
        row = ex[name]
        lines.append(f"  {name:<22} {row['f1_mean']:>8.3f} {row['f1_min']:>7.3f} {row['pages_per_s']:>8.1f}")
    real = results.get("real_extraction")
    if real is not None:
        lines += [f"Extraction on {real['pages']} real pages (Scrapinghub article-extraction-benchmark)",
                  f"  {'extractor':<22} {'F1 mean':>8} {'F1 min':>7} {'shingle F1 (P / R)':>22} {'pages/s':>8}"]
        for name in EXTRACTORS:
            row = real[name]
            pr = f"{row['shingle_f1']:.3f} ({row['shingle_precision']:.3f} / {row['shingle_recall']:.3f})"
            lines.append(f"  {name:<22} {row['f1_mean']:>8.3f} {row['f1_min']:>7.3f} {pr:>22} {row['pages_per_s']:>8.1f}")
    lines.append("Needle (goal: recall@3 = 1.0; 1M tokens in < 5 s)")
    for row in results["needle"]:
        lines.append(f"  ~{row['tokens']:>9,} tokens  {row['passages']:>6} passages  recall@3 {row['recall_at_3']:.1f}"
                     f"  {row['seconds']:.2f} s")
    par = results["parallel"]
    lines.append(f"Parallel reads, 3 pages delayed {par['delay_s']} s each (goal: <= 1.3x the slowest)")
    lines.append(f"  one page {par['one_page_s']:.3f} s | three at once {par['three_parallel_s']:.3f} s "
                 f"({par['parallel_over_slowest']:.2f}x) | one by one {par['three_one_by_one_s']:.3f} s "
                 f"({par['one_by_one_over_slowest']:.2f}x)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 pages (5 real), no 1M-token needle, one repeat")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON too")
    args = parser.parse_args()
    results = run_all(quick=args.quick)
    print(report(results))
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
