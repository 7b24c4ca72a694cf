"""The closed set of events the engine emits.

One event stream is the only interface between the engine and everything else
(UI, CLI ``--json``, traces, benchmarks). Consumers ``match`` on these classes
exhaustively. The dataclasses are the one definition of each event: pydantic validates
and serialises them from it (``EVENT``, a discriminated union on ``type``), so ``to_dict`` /
``from_dict`` are the stable JSON shape of the CLI contract in docs/DESIGN.md and the trace
reader's validation at once. Nothing is validated when the engine builds an event (that costs
per token); data from outside (traces, stored records) is validated on the way in.

Field types are strict where a reader must not be fooled (``"5"`` is no id, ``true`` no count),
and a number must be finite; the stats tolerate keys they do not know (newer or older traces).

The events are in ``union``, the fields they are made of in ``fields``, how a run ended and what it
measured in ``stats``, their JSON shape in ``codec``; every name is imported from here.
"""

from .codec import expected_words, from_dict, json_line, shown, to_dict
from .fields import Bool, Int, Number, PassageRef, SourceRef, Str
from .stats import (REFUSAL_REASONS, RUN_ENDS, STATS, FinishReason, ReadStats, RefusalReason, RefusedCall, RunEnd,
                    RunStats, infer_end)
from .union import (EVENT, TYPES, Answer, Done, Error, Event, ReadDone, ReadStart, SearchDone, SearchStart,
                    TaggedEvent, Thinking)

__all__ = ["EVENT", "REFUSAL_REASONS", "RUN_ENDS", "STATS", "TYPES", "Answer", "Bool", "Done", "Error", "Event",
           "FinishReason", "Int", "Number", "PassageRef", "ReadDone", "ReadStart", "ReadStats", "RefusalReason",
           "RefusedCall", "RunEnd", "RunStats", "SearchDone", "SearchStart", "SourceRef", "Str", "TaggedEvent",
           "Thinking", "expected_words", "from_dict", "infer_end", "json_line", "shown", "to_dict"]
