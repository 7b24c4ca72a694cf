"""``python -m agent.index serve``: the index behind Search-R1's ``POST /retrieve``.

Search-R1's own inference and training scripts can then use our index as their
retriever. It binds to loopback unless told otherwise: a document index is
private by default, and the server has no authentication. A request body is
capped (``MAX_BODY_BYTES``) before it is read, and an index another process is
writing to answers 503 with ``Retry-After`` rather than failing. A client must send
its headers within ``HEADER_TIMEOUT_S`` and its body within ``BODY_TIMEOUT_S``, and
at most ``MAX_CONNECTIONS`` connections are open at once (server_protocol.py), so idle
half-sent requests cannot hold the server's file descriptors.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import sqlite3
from typing import Any

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..errors import DocumentIndexError
from .retrieve import DEFAULT_TOPK, MAX_QUERIES, MAX_RESULTS, MAX_TOPK, response_of
from .store import DocumentIndex

# 4,096 queries of a few hundred characters each fit; an unbounded body would be read whole
# into memory before anything could refuse it.
MAX_BODY_BYTES = 4 * 1024 * 1024
RETRY_AFTER_S = 1
# A request's body must arrive within this after its headers; 4 MiB takes a second on a slow link.
BODY_TIMEOUT_S = 30.0
KEEP_ALIVE_S = 5  # an idle kept-alive connection is closed after this (uvicorn's default)


class RetrieveRequest(BaseModel):
    queries: list[str]
    topk: int | None = None
    return_scores: bool = False


class BadRequest(DocumentIndexError, ValueError):
    """A /retrieve body that is not a request; the message says what is wrong, in words."""


def _no_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a JSON number (the body may hold only finite numbers)")


def parse_request(body: bytes) -> RetrieveRequest:
    """The request in ``body``. Python's JSON reader accepts NaN and Infinity, which JSON does
    not have, and FastAPI's 422 echoed them back and then failed to write itself (a 500): the
    body is read here, and every error names what is wrong without repeating the input."""
    from pydantic import ValidationError

    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the body is not JSON ({exc})") from None
    except RecursionError:
        raise BadRequest("the body is JSON nested far too deeply") from None
    try:
        return RetrieveRequest.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'the body'}: {e['msg']}"
                             for e in exc.errors(include_url=False, include_input=False, include_context=False))
        raise BadRequest(f"not a /retrieve request ({problems}); send "
                         '{"queries": [str], "topk": int, "return_scores": bool}') from None


def create_app(index: DocumentIndex) -> Any:
    from fastapi import FastAPI, HTTPException

    app = FastAPI(title="agent.index /retrieve", docs_url=None, redoc_url=None)

    def busy(exc: sqlite3.Error) -> HTTPException:
        # An `add` in another process holds the write lock past SQLite's busy timeout.
        return HTTPException(503, f"the index is busy ({exc}); retry in a moment",
                             headers={"Retry-After": str(RETRY_AFTER_S)})

    @app.post("/retrieve")
    async def retrieve(raw: Request) -> dict[str, Any]:
        try:
            request = parse_request(await raw.body())
        except BadRequest as exc:
            raise HTTPException(422, str(exc)) from None
        return await run_in_threadpool(answer, request)

    def answer(request: RetrieveRequest) -> dict[str, Any]:
        topk = request.topk or DEFAULT_TOPK  # Search-R1's server: `if not request.topk` (0 too)
        if not 1 <= topk <= MAX_TOPK:
            raise HTTPException(422, f"topk must be between 1 and {MAX_TOPK}, got {topk!r}")
        if len(request.queries) > MAX_QUERIES:
            raise HTTPException(422, f"at most {MAX_QUERIES} queries per request, "
                                     f"got {len(request.queries)}")
        if len(request.queries) * topk > MAX_RESULTS:
            raise HTTPException(422, f"at most {MAX_RESULTS} results per request (queries x topk), "
                                     f"got {len(request.queries)} x {topk}; split the request")
        try:
            hits = [index.search(q, k=topk) for q in request.queries]
        except sqlite3.OperationalError as exc:
            raise busy(exc) from None
        return response_of(hits, return_scores=request.return_scores)

    @app.get("/health")
    def health() -> dict[str, Any]:
        try:
            stats = index.stats()
        except sqlite3.OperationalError as exc:
            raise busy(exc) from None
        return {"documents": stats.documents, "passages": stats.passages}

    return BodyLimit(app, max_bytes=MAX_BODY_BYTES)


class BodyLimit:
    """ASGI middleware: a body over ``max_bytes`` gets 413, whether it declares its length or
    streams in chunks, and is never read further; a body that has not all arrived
    ``timeout_s`` after the request's headers gets 408 (a client that sends half a body and
    waits would otherwise hold its connection for ever)."""

    def __init__(self, app: Any, *, max_bytes: int, timeout_s: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        from fastapi import HTTPException
        from fastapi.responses import JSONResponse

        detail = f"the request body is over {self.max_bytes} bytes"
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if scope["type"] == "http" and declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
            return
        seen = 0
        timeout_s = BODY_TIMEOUT_S if self.timeout_s is None else self.timeout_s
        deadline = asyncio.get_running_loop().time() + timeout_s

        async def counted() -> dict:
            nonlocal seen
            left = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(left, 0.001))
            except TimeoutError:
                raise HTTPException(408, f"the request body did not arrive within {timeout_s:g} s",
                                    headers={"Connection": "close"}) from None
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, detail)  # FastAPI answers it while reading the body
            return message

        await self.app(scope, counted if scope["type"] == "http" else receive, send)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def uvicorn_config(app: Any, *, host: str, port: int) -> Any:
    """How ``serve`` runs ``app``: headers within HEADER_TIMEOUT_S, at most MAX_CONNECTIONS open."""
    import uvicorn

    from .server_protocol import bounded_protocol

    return uvicorn.Config(app, host=host, port=port, log_level="warning", http=bounded_protocol(),
                          timeout_keep_alive=KEEP_ALIVE_S)


def serve(index: DocumentIndex, *, host: str, port: int) -> None:
    import uvicorn

    uvicorn.Server(uvicorn_config(create_app(index), host=host, port=port)).run()
