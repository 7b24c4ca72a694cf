"""``summary.json``: the scores of every question answered so far, as fractions 0-1."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence


def summarize(rows: Sequence[dict[str, Any]], *, total: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Means over ``rows`` (errors count as wrong answers), ``total`` = questions selected."""
    n = len(rows)
    seconds = sorted(float(r.get("seconds") or 0.0) for r in rows)
    judged = [r["judge"] for r in rows if r.get("judge") in ("correct", "incorrect")]
    return {
        "n": n,
        "total": total,
        "complete": n == total,
        "em": _mean(r["em"] for r in rows),
        "f1": _mean(r["f1"] for r in rows),
        "subem": _mean(r["subem"] for r in rows),
        "judge": _mean(v == "correct" for v in judged) if judged else None,
        "judged": len(judged),
        # Citation metrics: means over the rows that have one (an error or an uncited answer has none).
        **{name: _mean(r[name] for r in rows if r.get(name) is not None)
           for name in ("citation_recall", "citation_precision", "supported_claim_rate")},
        "uncited_sentences": sum(int(r.get("uncited_sentences") or 0) for r in rows),
        "mean_searches": _mean(r.get("searches") or 0 for r in rows),
        "p50_s": _percentile(seconds, 50),
        "p95_s": _percentile(seconds, 95),
        "errors": sum(1 for r in rows if r.get("end") == "error"),
        "ends": dict(sorted(Counter(str(r.get("end")) for r in rows).items())),
        "generated_tokens": sum(int(r.get("tokens") or 0) for r in rows),
        "settings": settings,
        "written_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write via a temporary file and a rename, so a reader never sees half a summary."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _mean(values: Iterable[float]) -> float | None:
    values = [float(v) for v in values]
    return round(sum(values) / len(values), 6) if values else None


def _percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    value = sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
    return round(value, 3)
