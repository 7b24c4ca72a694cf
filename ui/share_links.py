"""Read-only share links (``--share-links``): ``GET /share/<token>`` serves the conversation's
player page. A token is 256 random bits, stored only as its hash; revoking it (or deleting the
conversation) makes the link answer 404. The page is the same self-contained player file the
Share button offers, sent with headers that keep it out of search engines and caches."""

from __future__ import annotations

import logging
from typing import Any

from agent.api import HistoryError, player_html

from .saved import SavedHistory

log = logging.getLogger(__name__)

SHARE_PATH = "/share/{token}"
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow",
           "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}


def mount_share_links(app: Any, saved: SavedHistory | None) -> bool:
    """Serve share links on ``app`` (Gradio's FastAPI app) when they are on; whether they are."""
    if saved is None or saved.store is None or not saved.share_links:
        return False
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    store = saved.store

    async def share(request: Any) -> HTMLResponse:
        token = str(request.path_params.get("token", ""))
        try:
            conversation = store.by_share_token(token)
            if not conversation.path():
                raise HistoryError("nothing to show")
            page = player_html(conversation.summary.title, list(conversation.turns.values()),
                               head=conversation.head)
        except HistoryError:
            return HTMLResponse("<!DOCTYPE html><title>Not found</title><p>This share link does not exist or "
                                "was revoked.</p>", status_code=404, headers=HEADERS)
        return HTMLResponse(page, headers=HEADERS)

    # First: Gradio's own routes include catch-alls that would answer this path otherwise.
    app.router.routes.insert(0, Route(SHARE_PATH, share, methods=["GET"]))
    return True
