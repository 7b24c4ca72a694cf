"""Reading the sources: pages and documents, passage by passage (issue 26).

fetch (``HttpFetcher`` or ``FixturePages``) -> extract (``extract``) -> passages
(``passages_of``, the index's chunking) -> select (``select``, the index's BM25), put
together by ``PageReader``. Beside ``agent/search/``: search finds pages, this reads them.
"""

from __future__ import annotations

from .addresses import BlockedAddress, checked_address, literal_address, why_blocked
from .errors import ReadCancelled, ReadFailed
from .extract import Extracted, extract
from .fetch import USER_AGENT, Fetched, FetchLimits, HttpFetcher
from .fixture import FixturePages, PageFixtureError
from .reader import PageFetcher, PageReader, ReadResult
from .select import PassageSpan, passages_of, select

__all__ = [
    "USER_AGENT", "BlockedAddress", "Extracted", "FetchLimits", "Fetched", "FixturePages", "HttpFetcher",
    "PageFetcher", "PageFixtureError", "PageReader", "PassageSpan", "ReadCancelled", "ReadFailed",
    "ReadResult", "checked_address", "extract", "literal_address", "passages_of", "select", "why_blocked",
]
