"""Re-record the bundled demo traces: ``python assets/demo/make_demos.py`` from the repo root.

Every demo is a SCRIPTED run (``scripts.json`` plays the model, one run per
question, and ``search.json`` plays the web; the app's demo mode plays the same
two files), so each trace's meta says ``"scripted": true`` and the reports carry
a "Scripted run" badge: none of them is a real QwQ-32B run.

- ``eiffel.jsonl``: two searches, an answer with a table citing five sources.
- ``telegraph.jsonl``: the first search fails (simulated outage), the model retries.
- ``sky.jsonl``: stopped by the person while the answer streams (done has stopped: true).

The first two go through the real CLI (``python -m agent ... --trace``). A stop
cannot be scripted from the CLI without a racy Ctrl-C, so the third runs the
same engine in-process and sets the cancel event after a fixed number of answer
deltas.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path("assets/demo")
# Per-chunk delay of the scripted model, so a replay at speed 1 streams like a live run.
DELAY_S = "0.02"
# A model id that cannot be mistaken for a real model in the meta's settings.
MODEL = "scripted-demo"
STOP_AFTER_ANSWER_DELTAS = 40

SCRIPT, SEARCH = HERE / "scripts.json", HERE / "search.json"
QUESTIONS = {
    "eiffel": "How tall is the Eiffel Tower, and has its height changed over time?",
    "telegraph": "When was the first transatlantic telegraph cable completed?",
    "sky": "Why is the sky blue?",
}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TAVILY_API_KEY", "OPENAI_API_KEY")}
    return env | {"PYTHON_DOTENV_DISABLED": "1", "DEEPSEARCH_SCRIPT_DELAY": DELAY_S}


def record_cli(name: str) -> None:
    trace = HERE / f"{name}.jsonl"
    trace.unlink(missing_ok=True)  # the writer appends; a demo file holds exactly one run
    subprocess.run(
        [sys.executable, "-m", "agent", QUESTIONS[name], "--json", "--model", MODEL,
         "--model-script", str(SCRIPT), "--search-fixture", str(SEARCH), "--trace", str(trace)],
        check=True, env=_env(), stdout=subprocess.DEVNULL,
    )


def record_stopped(name: str) -> None:
    os.environ.update(_env())
    os.environ.pop("TAVILY_API_KEY", None)
    os.environ.pop("OPENAI_API_KEY", None)
    sys.path.insert(0, os.getcwd())
    from agent.config import settings_from_env
    from agent.events import Answer
    from agent.session import ChatSession, build_backend
    from agent.records.trace import TraceWriter

    settings = settings_from_env(model=MODEL, model_script=str(SCRIPT), search_fixture=str(SEARCH))
    backend = build_backend(settings)
    cancel = threading.Event()
    trace = HERE / f"{name}.jsonl"
    trace.unlink(missing_ok=True)
    answered = 0
    with TraceWriter(trace, question=QUESTIONS[name], settings=settings, model=backend.model_id) as rec:
        for event in ChatSession(settings=settings, backend=backend).ask(QUESTIONS[name], cancel=cancel):
            rec.write(event)
            answered += isinstance(event, Answer)
            if answered == STOP_AFTER_ANSWER_DELTAS:
                cancel.set()  # what the UI's Stop button does


if __name__ == "__main__":
    if not (HERE / "make_demos.py").exists():
        sys.exit("run this from the repository root: python assets/demo/make_demos.py")
    record_cli("eiffel")
    record_cli("telegraph")
    record_stopped("sky")
    print("recorded:", ", ".join(sorted(p.name for p in HERE.glob("*.jsonl"))))
