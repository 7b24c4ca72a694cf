"""An on-disk index of a person's documents (``python -m agent.index``)."""

from __future__ import annotations

from .store import AddOutcome, DocumentIndex, DocumentInfo, Hit, IndexStats, IndexUnavailable

__all__ = ["AddOutcome", "DocumentIndex", "DocumentInfo", "Hit", "IndexStats", "IndexUnavailable"]
