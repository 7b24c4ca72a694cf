"""Smoke test of bench/claims_bench.py: it runs on the bundled labelled set and keeps the goals."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_claims_bench_prints_its_scores_and_meets_the_lexical_goals():
    p = subprocess.run([sys.executable, "bench/claims_bench.py", "--json", "--repeat", "1"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    lexical = result["lexical"]
    assert lexical["cases"] >= 150
    assert lexical["precision_not_supported"] >= 0.95 and lexical["recall_not_supported"] >= 0.6
    assert result["ms_per_claim"] > 0
