"""The ``--json`` contract, byte for byte: ``python -m agent --json`` on fixed scripts prints exactly
the recorded lines (key order, float formatting, escaping included).

The CLI runs as a real subprocess; only its clock is replaced (every ``time.monotonic`` call is
1/8 s later than the one before), so timings, rates and latencies are the same on every machine.
Set ``GOLDEN_UPDATE=1`` to rewrite the recorded files after a deliberate contract change.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
GOLDEN = DATA / "json_golden"

# Installed before the engine is imported, so every default ``clock=time.monotonic`` is the fake.
FAKE_CLOCK_CLI = """
import itertools, runpy, sys, time
ticks = itertools.count()
time.monotonic = lambda: next(ticks) * 0.125
time.perf_counter = time.monotonic
sys.path.insert(0, ".")
sys.argv = ["agent", *sys.argv[1:]]
runpy.run_module("agent", run_name="__main__", alter_sys=True)
"""

# name -> (arguments, exit status)
CASES = {
    # one search, one cited web source
    "eiffel": (["How tall is the Eiffel Tower?", "--model-script", str(DATA / "eiffel.script.json"),
               "--search-fixture", str(DATA / "eiffel.search.json")], 0),
    # a failed search, answer text before a call, a call over the budget, a malformed call,
    # an invalid citation, non-ASCII text and a U+2028 written escaped
    "mixed": (["How tall?", "--max-searches", "2", "--model-script", str(GOLDEN / "mixed.script.json"),
              "--search-fixture", str(GOLDEN / "mixed.search.json")], 0),
    # the script runs out: the run ends with an error event and no done (exit 1)
    "short": (["How tall?", "--model-script", str(GOLDEN / "short.script.json"),
              "--search-fixture", str(DATA / "eiffel.search.json")], 1),
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "TAVILY", "OPENAI"))}
    env["PYTHON_DOTENV_DISABLED"] = "1"
    return env


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_output_is_unchanged_byte_for_byte(name):
    args, status = CASES[name]
    p = subprocess.run([sys.executable, "-c", FAKE_CLOCK_CLI, *args, "--json"], cwd=ROOT, env=_env(),
                       capture_output=True, timeout=120)
    assert p.returncode == status, p.stderr.decode()
    golden = GOLDEN / f"{name}.jsonl"
    if os.environ.get("GOLDEN_UPDATE") == "1":
        golden.write_bytes(p.stdout)
    expected = golden.read_bytes().splitlines()
    got = p.stdout.splitlines()
    for number, (want, have) in enumerate(zip(expected, got), start=1):
        assert have == want, f"{golden.name} line {number} differs"
    assert len(got) == len(expected), f"{golden.name}: {len(got)} lines, expected {len(expected)}"
