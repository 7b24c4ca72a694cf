"""The claims check measured on a labelled set written for this project (issue 23).

    python bench/claims_bench.py [--cases FILE] [--json] [--repeat N]
        [--judge-base-url URL --judge-model ID]   (key in $DEEPSEARCH_JUDGE_API_KEY)

``bench/data/claims_cases.jsonl`` holds (claim, passage, label) cases: exact support,
paraphrase, changed numbers and units, dates, negation, entity swaps, partial support, quotes
altered by one word, and multilingual pairs. Each case is checked as an answer of one
sentence citing [1], the passage being a document source's text.

Printed: the lexical layer's precision and recall on *not supported* (precision: of the
sentences it flags, the share labelled not supported; recall: of those labelled not supported,
the share it flags), recall per category, and the time per claim (median of ``--repeat``
passes over the whole set, divided by the number of cases). With a judge endpoint, the
judge's agreement with the labels on the same cases (batched as the app batches them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from agent.claims import CheckSource, Passage, check_answer  # noqa: E402

CASES = REPO_ROOT / "bench" / "data" / "claims_cases.jsonl"


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def lexical(cases: list[dict[str, Any]]) -> list[str]:
    verdicts = []
    for case in cases:
        source = CheckSource(1, (Passage(case["passage"]),))
        claims = check_answer(_answer(case["claim"]), [source])
        verdicts.append("supported" if all(c.verdict == "supported" for c in claims) else "not_supported")
    return verdicts


def _answer(claim: str) -> str:
    """The claim as an answer sentence citing [1] (before its final stop, as the model writes it)."""
    body = claim.rstrip()
    stop = body[-1] if body and body[-1] in ".。!?" else ""
    return f"{body[:-1] if stop else body} [1]{stop or '.'}"


def scores(cases: list[dict[str, Any]], verdicts: list[str]) -> dict[str, Any]:
    flagged = [v == "not_supported" for v in verdicts]
    wrong = [c["label"] == "not_supported" for c in cases]
    tp = sum(f and w for f, w in zip(flagged, wrong))
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for case, flag in zip(cases, flagged):
        per[case["category"]][0] += flag == (case["label"] == "not_supported")
        per[case["category"]][1] += 1
    return {
        "cases": len(cases), "labelled_not_supported": sum(wrong), "flagged": sum(flagged),
        "precision_not_supported": round(tp / sum(flagged), 3) if any(flagged) else None,
        "recall_not_supported": round(tp / sum(wrong), 3) if any(wrong) else None,
        "accuracy": round(sum(f == w for f, w in zip(flagged, wrong)) / len(cases), 3),
        "accuracy_by_category": {k: f"{v[0]}/{v[1]}" for k, v in sorted(per.items())},
        "false_flags": [c["id"] for c, f, w in zip(cases, flagged, wrong) if f and not w],
    }


def timing(cases: list[dict[str, Any]], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        lexical(cases)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) / len(cases) * 1000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=Path, default=CASES)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.add_argument("--judge-base-url")
    p.add_argument("--judge-model")
    args = p.parse_args(argv)
    cases = load(args.cases)
    result = {"lexical": scores(cases, lexical(cases)), "ms_per_claim": round(timing(cases, args.repeat), 4)}
    if args.judge_base_url and args.judge_model:
        result["judge"] = judge_agreement(cases, args.judge_base_url, args.judge_model)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    lex = result["lexical"]
    print(f"lexical layer on {lex['cases']} cases ({lex['labelled_not_supported']} labelled not supported):")
    print(f"  precision on not supported {lex['precision_not_supported']}  (goal >= 0.95)")
    print(f"  recall on not supported    {lex['recall_not_supported']}  (goal >= 0.6)")
    print(f"  accuracy {lex['accuracy']}; by category {lex['accuracy_by_category']}")
    print(f"  supported cases flagged: {lex['false_flags'] or 'none'}")
    print(f"  time per claim {result['ms_per_claim']} ms  (goal < 1 ms)")
    if "judge" in result:
        print(f"judge: {result['judge']}")
    return 0


def judge_agreement(cases: list[dict[str, Any]], base_url: str, model: str) -> dict[str, Any]:
    from agent.claims.judge import ClaimJudge, JudgeUnavailable
    from agent.eval.judge import OpenAIJudge

    client = OpenAIJudge(base_url=base_url, model=model, api_key=os.environ.get("DEEPSEARCH_JUDGE_API_KEY"))
    judge = ClaimJudge(client)
    try:
        verdicts = judge.judge_pairs([(c["claim"], [c["passage"]]) for c in cases])
    except JudgeUnavailable as exc:
        return {"error": str(exc)}
    simple = ["supported" if v == "supported" else "not_supported" for v in verdicts]
    return {"agreement": round(sum(v == c["label"] for v, c in zip(simple, cases)) / len(cases), 3),
            **{k: v for k, v in scores(cases, simple).items() if k != "false_flags"}}


if __name__ == "__main__":
    sys.exit(main())
