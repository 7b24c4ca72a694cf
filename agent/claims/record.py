"""What a check says about one sentence, and the summary of an answer's checks.

These are the shapes of ``done.claims`` and ``done.claims_summary`` (docs/DESIGN.md): plain
frozen records, written and read as JSON objects with exactly the keys the contract names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal, get_args

Verdict = Literal["supported", "partly", "not_supported", "contradicted", "uncited"]
VERDICTS: tuple[str, ...] = get_args(Verdict)
Layer = Literal["lexical", "judge"]
LAYERS: tuple[str, ...] = get_args(Layer)
CheckMode = Literal["off", "lexical", "judge"]
CHECK_MODES: tuple[str, ...] = get_args(CheckMode)


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """The sentence of a cited source closest to the claim: the source ``id``, the ``text``
    and its offsets in that source's text (its page, document passage or snippet)."""

    id: int
    text: str
    start: int
    end: int


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One sentence of an answer and what its check found. ``ids`` are the engine's source ids
    it cites that exist; ``note`` is for people and uses display numbers ("Not found in [2]")."""

    sentence: str
    ids: tuple[int, ...]
    verdict: Verdict
    layer: Layer
    evidence: Evidence | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        evidence = None if self.evidence is None else {
            "id": self.evidence.id, "text": self.evidence.text,
            "start": self.evidence.start, "end": self.evidence.end}
        return {"sentence": self.sentence, "ids": list(self.ids), "verdict": self.verdict,
                "layer": self.layer, "evidence": evidence, "note": self.note}

    @classmethod
    def from_dict(cls, data: Any) -> "Claim":
        """Strict: a recorded claim of the wrong shape is an error naming it."""
        if not isinstance(data, dict):
            raise ValueError(f"a claim must be a JSON object, got {data!r}")
        ids, verdict, layer = data.get("ids"), data.get("verdict"), data.get("layer")
        if not isinstance(ids, list) or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
            raise ValueError(f"a claim's 'ids' must be a list of source ids, got {ids!r}")
        if verdict not in VERDICTS or layer not in LAYERS:
            raise ValueError(f"a claim's verdict must be one of {VERDICTS} and its layer one of "
                             f"{LAYERS}, got {verdict!r} and {layer!r}")
        if not isinstance(data.get("sentence"), str) or not isinstance(data.get("note", ""), str):
            raise ValueError(f"a claim's 'sentence' and 'note' must be text, got {data!r}")
        raw = data.get("evidence")
        evidence = None
        if raw is not None:
            if not isinstance(raw, dict) or not all(isinstance(raw.get(k), int) for k in ("id", "start", "end")) \
                    or not isinstance(raw.get("text"), str):
                raise ValueError(f"a claim's 'evidence' must be null or {{id, text, start, end}}, got {raw!r}")
            evidence = Evidence(id=raw["id"], text=raw["text"], start=raw["start"], end=raw["end"])
        return cls(sentence=data["sentence"], ids=tuple(ids), verdict=verdict, layer=layer,
                   evidence=evidence, note=data.get("note", ""))


def summarise(claims: Iterable[Claim]) -> dict[str, int]:
    """``checked`` cited sentences, of which ``supported`` and ``not_supported`` (every verdict
    short of supported; ``partly`` and ``contradicted`` say how many of those were which),
    and ``uncited`` sentences, counted apart."""
    counts = {verdict: 0 for verdict in VERDICTS}
    for claim in claims:
        counts[claim.verdict] += 1
    checked = sum(counts.values()) - counts["uncited"]
    return {"checked": checked, "supported": counts["supported"],
            "not_supported": checked - counts["supported"], "uncited": counts["uncited"],
            "partly": counts["partly"], "contradicted": counts["contradicted"]}


def summary_line(summary: dict[str, int]) -> str:
    """The one line shown under an answer: "6 of 7 cited claims found in their sources ·
    1 not found · 2 sentences without a citation" (parts that are zero left out)."""
    checked, supported, uncited = summary["checked"], summary["supported"], summary["uncited"]
    parts = []
    if checked:
        noun = "claim" if checked == 1 else "claims"
        parts.append(f"{supported} of {checked} cited {noun} found in {'its' if checked == 1 else 'their'} sources")
        if summary["not_supported"]:
            parts.append(f"{summary['not_supported']} not found")
    else:
        parts.append("no cited claims to check")
    if uncited:
        parts.append(f"{uncited} {'sentence' if uncited == 1 else 'sentences'} without a citation")
    return " · ".join(parts)
