"""The document index (SQLite store, tantivy ranking) side by side with ``bm25s`` on one corpus.

    python bench/index_bench.py [--passages N] [--queries N] [--json]

The corpus is Search-R1-shaped JSONL (``{"id", "contents": "\\"Title\\"\\ntext"}``),
100-150 words a passage drawn from a Zipf distribution over a made-up
vocabulary. Its words are consonant-vowel syllables with the vowels a, o, u
only and no final consonant, so English stemming (which our index applies)
leaves every one unchanged and both engines see the same terms. Queries are
2-4 words taken from random passages. Both engines rank by BM25 with the same
k1, b and IDF, so top-10 agreement measures how far the two implementations
differ; ours also leaves out query words found in half the passages or more
(store.py), so a second agreement asks bm25s for the words ours matched on.

Measured, each engine on the same corpus and queries:
- build: ours adds the JSONL file (read, split, store in SQLite, rank in
  tantivy, commit both) to an index on disk; bm25s tokenizes and indexes in
  memory, then saves (reported apart);
- query: one query at a time (as the chat asks), k=10, p50/p95 in ms;
- incremental: ours adds one new file to the built index; bm25s has no
  incremental add, so a new file means rebuilding (its build time);
- cold start: open the index from disk and answer a first query.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from agent.index import DocumentIndex  # noqa: E402

CONSONANTS = "bdfgklmnprtvz"
VOWELS = "aou"
K1, B = 1.2, 0.75  # tantivy's BM25 constants
# tantivy's IDF, log(1 + (N - n + 0.5) / (n + 0.5)), is Lucene's: bm25s's "lucene" method.
BM25S_METHOD = "lucene"
TOP_K = 10


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    syllables = [c + v for c in CONSONANTS for v in VOWELS]
    words: set[str] = set()
    while len(words) < size:
        n = int(rng.integers(2, 4))
        words.add("".join(syllables[int(i)] for i in rng.integers(0, len(syllables), n)))
    return sorted(words)


def corpus(passages: int, *, seed: int = 0, vocab_size: int = 50_000) -> tuple[list[str], list[str]]:
    """(titles, texts): Zipf-distributed words, 100-150 a passage."""
    rng = np.random.default_rng(seed)
    vocab = np.array(vocabulary(vocab_size, rng))
    ranks = np.arange(1, vocab_size + 1)
    weights = 1.0 / ranks ** 1.07
    lengths = rng.integers(100, 151, passages)
    draws = rng.choice(vocab_size, size=int(lengths.sum()), p=weights / weights.sum())
    texts, start = [], 0
    for n in lengths:
        texts.append(" ".join(vocab[draws[start:start + n]]))
        start += n
    titles = [f"Passage {i}" for i in range(passages)]
    return titles, texts


def queries(texts: list[str], count: int, *, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.integers(0, len(texts), count):
        words = texts[int(i)].split()
        pick = rng.choice(len(words), size=int(rng.integers(2, 5)), replace=False)
        out.append(" ".join(words[int(j)] for j in pick))
    return out


def write_jsonl(path: Path, titles: list[str], texts: list[str]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for i, (title, text) in enumerate(zip(titles, texts)):
            f.write(json.dumps({"id": str(i), "contents": f'"{title}"\n{text}'}) + "\n")


def _percentiles(samples_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return round(statistics.median(ordered), 3), round(p95, 3)


class _Clock:
    """Wall and CPU time of one stretch: on a shared, loaded machine the CPU time is the
    steadier figure (a process that waits for a core accrues wall time, not CPU time)."""

    def __enter__(self) -> "_Clock":
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall_ms = (time.perf_counter() - self._wall) * 1000
        self.cpu_ms = (time.process_time() - self._cpu) * 1000


def _query_loop(search, qs: list[str]) -> dict[str, Any]:
    walls, cpus, tops = [], [], []
    for q in qs:
        with _Clock() as clock:
            top = search(q)
        walls.append(clock.wall_ms)
        cpus.append(clock.cpu_ms)
        tops.append(top)
    p50, p95 = _percentiles(walls)
    cpu50, cpu95 = _percentiles(cpus)
    return {"query_ms_p50": p50, "query_ms_p95": p95, "query_cpu_ms_p50": cpu50, "query_cpu_ms_p95": cpu95,
            "tops": tops}


def measure_ours(workdir: Path, titles: list[str], texts: list[str], qs: list[str]) -> dict[str, Any]:
    corpus_file = workdir / "corpus.jsonl"
    write_jsonl(corpus_file, titles, texts)
    with DocumentIndex(workdir / "ours") as index:
        with _Clock() as build:
            outcome = index.add_file(corpus_file)
        extra = workdir / "new-note.md"
        extra.write_text("# New note\n\n" + texts[0], encoding="utf-8")
        with _Clock() as add_one:
            index.add_file(extra)
        size = index.stats().bytes_on_disk
    with _Clock() as cold:
        index = DocumentIndex(workdir / "ours", read_only=True)
        index.search(qs[0], k=TOP_K)
    with index:
        index.search(qs[0], k=TOP_K)  # warm the page cache like any later query
        queried = _query_loop(lambda q: [int(h.pid) for h in index.search(q, k=TOP_K)
                                         if h.file == "corpus.jsonl"], qs)
        queried["kept_terms"] = [index.query_terms(q) for q in qs]
    return {"passages": outcome.passages, "build_s": round(build.wall_ms / 1000, 3),
            "build_cpu_s": round(build.cpu_ms / 1000, 3), "add_one_file_ms": round(add_one.wall_ms, 2),
            "add_one_file_cpu_ms": round(add_one.cpu_ms, 2),
            "cold_open_query_ms": round(cold.wall_ms, 2), "bytes_on_disk": size, **queried}


def measure_bm25s(workdir: Path, titles: list[str], texts: list[str], qs: list[str],
                  kept_terms: list[list[str]]) -> dict[str, Any]:
    """bm25s on the same corpus; ``kept_terms`` (the words our index matched each query on) give
    a second top 10, untimed, that shows how far the two BM25 implementations differ."""
    import bm25s

    docs = [f"{title}\n{text}" for title, text in zip(titles, texts)]
    with _Clock() as build:
        tokens = bm25s.tokenize(docs, stopwords=None, show_progress=False)
        retriever = bm25s.BM25(k1=K1, b=B, method=BM25S_METHOD)
        retriever.index(tokens, show_progress=False)
    with _Clock() as save:
        retriever.save(str(workdir / "bm25s"))
    with _Clock() as cold:
        loaded = bm25s.BM25.load(str(workdir / "bm25s"))
        loaded.retrieve(bm25s.tokenize([qs[0]], stopwords=None, show_progress=False), k=TOP_K,
                        show_progress=False)

    def search(q: str) -> list[int]:
        ids, _scores = retriever.retrieve(bm25s.tokenize([q], stopwords=None, show_progress=False), k=TOP_K,
                                          show_progress=False, n_threads=1)
        return [int(i) for i in ids[0]]

    queried = _query_loop(search, qs)
    queried["tops_same_terms"] = [search(" ".join(terms)) if terms else [] for terms in kept_terms]
    size = sum(f.stat().st_size for f in (workdir / "bm25s").rglob("*") if f.is_file())
    return {"build_s": round(build.wall_ms / 1000, 3), "build_cpu_s": round(build.cpu_ms / 1000, 3),
            "save_s": round(save.wall_ms / 1000, 3), "cold_open_query_ms": round(cold.wall_ms, 2),
            "bytes_on_disk": size, **queried}


def agreement(ours: list[list[int]], theirs: list[list[int]]) -> float:
    """Mean share of bm25s's top 10 that our top 10 also holds."""
    shares = [len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(ours, theirs)]
    return round(statistics.mean(shares), 4)


def measure(*, passages: int, query_count: int, workdir: Path | None = None) -> dict[str, Any]:
    """The ``index_*`` figures of ``bench/run.py``, with bm25s beside them and ratios."""
    with tempfile.TemporaryDirectory(prefix="index-bench-") as tmp:
        folder = workdir or Path(tmp)
        titles, texts = corpus(passages)
        qs = queries(texts, query_count)
        ours = measure_ours(folder, titles, texts, qs)
        theirs = measure_bm25s(folder, titles, texts, qs, ours["kept_terms"])
    result = {
        "index_passages": ours["passages"],
        "index_build_s": ours["build_s"],
        "index_passages_per_s": round(ours["passages"] / ours["build_s"]),
        "index_query_ms_p50": ours["query_ms_p50"],
        "index_query_ms_p95": ours["query_ms_p95"],
        "index_query_cpu_ms_p50": ours["query_cpu_ms_p50"],
        "index_query_cpu_ms_p95": ours["query_cpu_ms_p95"],
        "index_build_cpu_s": ours["build_cpu_s"],
        "index_add_one_file_ms": ours["add_one_file_ms"],
        "index_add_one_file_cpu_ms": ours["add_one_file_cpu_ms"],
        "index_cold_open_query_ms": ours["cold_open_query_ms"],
        "index_bytes_on_disk": ours["bytes_on_disk"],
        "bm25s_build_s": theirs["build_s"],
        "bm25s_save_s": theirs["save_s"],
        "bm25s_query_ms_p50": theirs["query_ms_p50"],
        "bm25s_query_ms_p95": theirs["query_ms_p95"],
        "bm25s_query_cpu_ms_p50": theirs["query_cpu_ms_p50"],
        "bm25s_query_cpu_ms_p95": theirs["query_cpu_ms_p95"],
        "bm25s_build_cpu_s": theirs["build_cpu_s"],
        "bm25s_cold_open_query_ms": theirs["cold_open_query_ms"],
        "bm25s_bytes_on_disk": theirs["bytes_on_disk"],
        # > 1: ours takes longer.
        "index_build_ratio_vs_bm25s": round(ours["build_s"] / theirs["build_s"], 3),
        "index_query_p50_ratio_vs_bm25s": round(ours["query_ms_p50"] / theirs["query_ms_p50"], 3),
        "index_query_p95_ratio_vs_bm25s": round(ours["query_ms_p95"] / theirs["query_ms_p95"], 3),
        "index_query_cpu_p50_ratio_vs_bm25s": round(ours["query_cpu_ms_p50"] / max(theirs["query_cpu_ms_p50"], 1e-3), 3),
        "index_build_cpu_ratio_vs_bm25s": round(ours["build_cpu_s"] / max(theirs["build_cpu_s"], 1e-6), 3),
        "index_top10_agreement": agreement(ours["tops"], theirs["tops"]),
        # bm25s asked for the same words as ours (without those in half the passages or more).
        "index_top10_agreement_same_terms": agreement(ours["tops"], theirs["tops_same_terms"]),
        "index_queries": query_count,
    }
    return result


def report(r: dict[str, Any]) -> str:
    return "\n".join([
        f"Document index on {r['index_passages']} synthetic passages, {r['index_queries']} queries, k=10",
        "                          ours (SQLite+tantivy)   bm25s     ours/bm25s",
        f"  build (s)               {r['index_build_s']:>12.2f}  {r['bm25s_build_s']:>9.2f}"
        f"  {r['index_build_ratio_vs_bm25s']:>9.2f}x   ({r['index_passages_per_s']} passages/s; bm25s in "
        f"memory, +{r['bm25s_save_s']:.2f} s to save)",
        f"  query p50 (ms)          {r['index_query_ms_p50']:>12.2f}  {r['bm25s_query_ms_p50']:>9.2f}"
        f"  {r['index_query_p50_ratio_vs_bm25s']:>9.2f}x",
        f"  query p95 (ms)          {r['index_query_ms_p95']:>12.2f}  {r['bm25s_query_ms_p95']:>9.2f}"
        f"  {r['index_query_p95_ratio_vs_bm25s']:>9.2f}x",
        f"  query p50 CPU (ms)      {r['index_query_cpu_ms_p50']:>12.2f}  {r['bm25s_query_cpu_ms_p50']:>9.2f}"
        f"  {r['index_query_cpu_p50_ratio_vs_bm25s']:>9.2f}x",
        f"  build CPU (s)           {r['index_build_cpu_s']:>12.2f}  {r['bm25s_build_cpu_s']:>9.2f}"
        f"  {r['index_build_cpu_ratio_vs_bm25s']:>9.2f}x",
        f"  open + first query (ms) {r['index_cold_open_query_ms']:>12.1f}  {r['bm25s_cold_open_query_ms']:>9.1f}",
        f"  add one file (ms)       {r['index_add_one_file_ms']:>12.1f}  {'rebuild':>9}   "
        f"({r['index_add_one_file_cpu_ms']:.1f} ms CPU)",
        f"  on disk (MB)            {r['index_bytes_on_disk'] / 1e6:>12.1f}  {r['bm25s_bytes_on_disk'] / 1e6:>9.1f}",
        f"  top-10 agreement with bm25s: {r['index_top10_agreement']:.3f} (bm25s given the words ours "
        f"matched on: {r['index_top10_agreement_same_terms']:.3f})",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = measure(passages=args.passages, query_count=args.queries)
    print(report(result))
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
