"""Claims checked against their sources (issue 23): sentences, the lexical layer, the judge layer."""

from .lexical import SNIPPET_NOTE, check_answer
from .record import CHECK_MODES, Claim, CheckMode, Evidence, Verdict, summarise
from .sources import CheckSource, Passage, check_source

__all__ = ["CHECK_MODES", "SNIPPET_NOTE", "CheckMode", "CheckSource", "Claim", "Evidence", "Passage", "Verdict",
           "check_answer", "check_source", "summarise"]
