"""The model's verdicts on a recorded run, added to its trace after the run ended.

A run is appended to a trace whole, when it ends; "Check with the model" may judge its claims
minutes later, after other runs were appended. So the judged verdicts go on a line of their own,
``{"type": "claims_judged", "run": ID, "claims": [...], "claims_summary": {...}}``, naming the
run by its meta line's ``run`` id; a reader puts them into that run's ``done`` (the last such
line for a run wins). The judge layer is thus recorded, never recomputed: a replay, a report, an
export and ``python -m agent check`` all see the judged verdicts, and a trace without such a
line reads exactly as before.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from ..claims.record import Claim
from ..events import Done, json_line
from .trace_meta import Meta, redact_values

JUDGED = "claims_judged"
_KEYS = {"type", "run", "claims", "claims_summary"}


def judged_line(meta: Meta, done: Done, *, secrets: Sequence[str] = ()) -> str | None:
    """The line recording ``done``'s claims for the run ``meta`` starts; None when that run has
    no id (recorded before runs had one) or ``done`` holds no claims."""
    run = meta.get("run")
    if not isinstance(run, str) or not run or done.claims is None:
        return None
    data = {"type": JUDGED, "run": run, "claims": [c.to_dict() for c in done.claims],
            "claims_summary": done.claims_summary}
    return json_line(redact_values(data, [s for s in secrets if s]))


def judged_run(obj: dict[str, Any]) -> str:
    """The run id a ``claims_judged`` line names; ``ValueError`` when it names none."""
    run = obj.get("run")
    if not isinstance(run, str) or not run:
        raise ValueError(f"a 'claims_judged' line must name its run's id in 'run', got {run!r}")
    return run


def apply_judged(done: Done, obj: dict[str, Any]) -> Done:
    """``done`` with the claims a ``claims_judged`` line records; ``ValueError`` when the line is
    malformed or its sentences are not those of ``done``'s checked answer."""
    extra = sorted(set(obj) - _KEYS)
    if extra:
        raise ValueError(f"a 'claims_judged' line has no field {extra[0]!r}")
    raw = obj.get("claims")
    if not isinstance(raw, list):
        raise ValueError(f"a 'claims_judged' line's 'claims' must be a list, got {raw!r}")
    claims = tuple(Claim.from_dict(item) for item in raw)
    if done.claims is None or [c.sentence for c in claims] != [c.sentence for c in done.claims]:
        raise ValueError(f"the 'claims_judged' line for run {obj.get('run')!r} does not check the sentences "
                         "of that run's answer")
    return replace(done, claims=claims)
