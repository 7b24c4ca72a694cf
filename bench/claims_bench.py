"""The claims check measured on a labelled set written for this project (issue 23).

    python bench/claims_bench.py [--cases FILE] [--json] [--repeat N]
        [--judge-base-url URL --judge-model ID [--judge-batch N] [--judge-timeout S]]
        (key in $DEEPSEARCH_JUDGE_API_KEY)

``bench/data/claims_cases.jsonl`` holds (claim, passage, label) cases: exact support,
paraphrase, changed numbers and units, dates, negation, entity swaps, partial support, quotes
altered by one word, and multilingual pairs. Each case is checked as an answer of one
sentence citing [1], the passage being a document source's text.

Printed: the lexical layer's precision and recall on *not supported* (precision: of the
sentences it flags, the share labelled not supported; recall: of those labelled not supported,
the share it flags), recall per category, and the time per claim (median of ``--repeat``
passes over the whole set, divided by the number of cases). With a judge endpoint, the
judge's agreement with the labels on the same cases (batched as the app batches them; a batch
whose reply the app would refuse counts its cases as disagreeing, and is reported).
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
    p.add_argument("--judge-batch", type=int, default=8, help="claims per judge request (the app uses 8)")
    p.add_argument("--judge-timeout", type=float, default=300.0, help="seconds per judge request")
    args = p.parse_args(argv)
    cases = load(args.cases)
    result = {"lexical": scores(cases, lexical(cases)), "ms_per_claim": round(timing(cases, args.repeat), 4)}
    if args.judge_base_url and args.judge_model:
        result["judge"] = judge_agreement(cases, args.judge_base_url, args.judge_model, batch=args.judge_batch,
                                          timeout_s=args.judge_timeout)
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
        j = result["judge"]
        print(f"judge {j['model']} ({j['batch']} claims a request, {j['seconds']} s): verdicts for "
              f"{j['answered']} of {j['cases']} cases ({j['batches_refused']} batches refused)")
        print(f"  agreement with the labels {j['agreement']} (a case without a verdict counts as a "
              f"disagreement); where it answered {j['agreement_where_answered']}")
        if j["first_problems"]:
            print(f"  first refusals: {j['first_problems']}")
    return 0


def judge_agreement(cases: list[dict[str, Any]], base_url: str, model: str, *, batch: int = 8,
                    timeout_s: float = 300.0) -> dict[str, Any]:
    """The judge's verdicts on every case, batched as the app batches them. A batch whose reply
    the app would refuse (garbage, a timeout) leaves its cases without a verdict: ``agreement`` counts
    them as disagreeing, ``agreement_where_answered`` leaves them out, ``answered`` says how many had one."""
    from agent.claims.judge import ClaimJudge, JudgeUnavailable
    from agent.judge import OpenAIJudge

    client = OpenAIJudge(base_url=base_url, model=model, api_key=os.environ.get("DEEPSEARCH_JUDGE_API_KEY"),
                         timeout_s=timeout_s)
    judge = ClaimJudge(client, batch=batch)
    verdicts: list[str | None] = []
    problems: list[str] = []
    start = time.perf_counter()
    for at in range(0, len(cases), batch):
        part = cases[at:at + batch]
        try:
            verdicts += judge.judge_pairs([(c["claim"], [c["passage"]]) for c in part])
        except JudgeUnavailable as exc:
            verdicts += [None] * len(part)
            problems.append(str(exc)[:160])
    seconds = time.perf_counter() - start
    simple = [None if v is None else "supported" if v == "supported" else "not_supported" for v in verdicts]
    agree = [v == c["label"] for v, c in zip(simple, cases)]
    answered = [(c, v) for c, v in zip(cases, simple) if v is not None]
    result: dict[str, Any] = {
        "model": model, "batch": batch, "answered": len(answered), "cases": len(cases),
        "agreement": round(sum(agree) / len(cases), 3),
        "agreement_where_answered": round(sum(v == c["label"] for c, v in answered) / len(answered), 3)
        if answered else None,
        "batches_refused": len(problems), "first_problems": problems[:3], "seconds": round(seconds, 1)}
    if answered:
        graded = scores([c for c, _ in answered], [v for _, v in answered])
        result.update({k: graded[k] for k in ("precision_not_supported", "recall_not_supported")})
    return result


if __name__ == "__main__":
    sys.exit(main())
