"""``python -m agent.index serve``: the index behind Search-R1's ``POST /retrieve``.

Search-R1's own inference and training scripts can then use our index as their
retriever. It binds to loopback unless told otherwise: a document index is
private by default.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .retrieve import DEFAULT_TOPK, MAX_QUERIES, MAX_TOPK, response_of
from .store import DocumentIndex


class RetrieveRequest(BaseModel):
    queries: list[str]
    topk: int | None = None
    return_scores: bool = False


def create_app(index: DocumentIndex) -> Any:
    from fastapi import FastAPI, HTTPException

    app = FastAPI(title="agent.index /retrieve", docs_url=None, redoc_url=None)

    @app.post("/retrieve")
    def retrieve(request: RetrieveRequest) -> dict[str, Any]:
        topk = DEFAULT_TOPK if request.topk is None else request.topk
        if not 1 <= topk <= MAX_TOPK:
            raise HTTPException(422, f"topk must be between 1 and {MAX_TOPK}, got {topk!r}")
        if len(request.queries) > MAX_QUERIES:
            raise HTTPException(422, f"at most {MAX_QUERIES} queries per request, "
                                     f"got {len(request.queries)}")
        hits = [index.search(q, k=topk) for q in request.queries]
        return response_of(hits, return_scores=request.return_scores)

    @app.get("/health")
    def health() -> dict[str, Any]:
        stats = index.stats()
        return {"documents": stats.documents, "passages": stats.passages}

    return app


def serve(index: DocumentIndex, *, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(create_app(index), host=host, port=port, log_level="warning")
