"""Why a page could not be read, in words a person reads in the Read panel."""

from __future__ import annotations

from ..errors import SearchProblem


class ReadFailed(SearchProblem):
    """A page that cannot be read. ``str(exc)`` is one short sentence (``timed out``,
    ``HTTP 404``, ``not a page (application/zip)``); the run goes on with the snippet."""


class ReadCancelled(SearchProblem):
    """Stop was pressed while the page was being read."""
