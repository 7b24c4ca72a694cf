"""Search-R1's retrieval API (``POST /retrieve``), both the server's and the client's side.

Request ``{"queries": [str], "topk": int, "return_scores": bool}``; response
``{"result": [[{"document": DOC, "score": float}]]}`` with scores or
``{"result": [[DOC]]}`` without, where ``DOC`` is ``{"id", "contents"}`` and
``contents`` is ``"Title"\\ntext`` (PeterGriffinJin/Search-R1,
``search_r1/search/retrieval_server.py``). Our documents add ``file``,
``page`` and ``heading`` keys, which Search-R1's clients ignore.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import DocumentIndexError
from .readers import join_contents, split_contents
from .store import Hit

DEFAULT_TOPK = 3  # Search-R1's server default
MAX_TOPK = 100
# Search-R1's training sends every rollout's search of a turn in one request: its GRPO scripts
# run 512 prompts x 5 rollouts (n_agent), so up to 2,560 queries (search_r1/llm_agent/generation.py,
# batch_search; train_grpo.sh). 4,096 leaves room for a larger batch; the results are bounded too,
# so that a request's answer stays tens of MB (passages are at most 2,400 characters).
MAX_QUERIES = 4096
MAX_RESULTS = 40_960  # queries x topk: 4,096 x 10, or 409 x 100


class RetrieveFormatError(DocumentIndexError, ValueError):
    """A /retrieve request or response that does not have the documented shape."""


def document_of(hit: Hit) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": hit.pid, "contents": join_contents(hit.title, hit.text), "file": hit.file}
    if hit.page is not None:
        doc["page"] = hit.page
    if hit.heading:
        doc["heading"] = hit.heading
    return doc


def response_of(hits_per_query: list[list[Hit]], *, return_scores: bool) -> dict[str, Any]:
    if return_scores:
        return {"result": [[{"document": document_of(h), "score": h.score} for h in hits]
                           for hits in hits_per_query]}
    return {"result": [[document_of(h) for h in hits] for hits in hits_per_query]}


def hits_of_response(data: Any, *, query_count: int) -> list[list[Hit]]:
    """Parse a /retrieve response (with or without scores) into hits per query.

    ``file`` is the server's own ``file`` key when it sends one, else the passage title
    (Search-R1's Wikipedia passages have only an id and contents).
    """
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, list) or len(result) != query_count:
        raise RetrieveFormatError(
            f"expected {{\"result\": [one list per query]}} for {query_count} query(ies), "
            f"got {str(data)[:200]!r}")
    return [[_hit(item) for item in per_query if _is_item(item)] if isinstance(per_query, list) else []
            for per_query in result]


def _is_item(item: Any) -> bool:
    doc = item.get("document", item) if isinstance(item, dict) else None
    return isinstance(doc, dict) and isinstance(doc.get("contents"), str)


def _hit(item: dict[str, Any]) -> Hit:
    doc = item.get("document", item)
    score = item.get("score") if "document" in item else None
    title, text = split_contents(doc["contents"])
    page = doc.get("page")
    heading = doc.get("heading")
    return Hit(pid=str(doc.get("id", "")), file=str(doc.get("file") or title or doc.get("id", "")),
               title=title, text=text,
               score=_score(score),
               page=page if isinstance(page, int) and not isinstance(page, bool) else None,
               heading=heading if isinstance(heading, str) else None)


def _score(value: Any) -> float:
    """A hit's score: a finite number, or 0.0 when the server sent none or something that is no
    number (an odd field, ignored like the others). A number no float can hold or an infinite
    one (10**400, 1e400, NaN) is a broken answer: ``RetrieveFormatError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    try:
        score = float(value)
    except OverflowError:
        raise RetrieveFormatError("a score is too large to be a number of any use") from None
    if not math.isfinite(score):
        raise RetrieveFormatError(f"a score must be finite, got {score!r}")
    return score
