"""The outputs of the chat's events as named structures, not positional tuples.

Every way of starting an answer (ask, an example, regenerate, edit, a replay) updates the same
components; ``AnswerOutputs`` names them. Its field order is the order of the listeners' outputs
(and of the API's ``/ask`` and ``/replay`` results), and ``ui/app_ui.py`` maps each name onto its
component in one place (``answer_components``), so a handler never lines a tuple up by hand.
``ClearedOutputs`` does the same for New chat and the clear icon.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import gradio as gr


def _skip() -> Any:
    return gr.skip()


@dataclass(frozen=True, kw_only=True)
class _Named:
    def values(self) -> tuple[Any, ...]:
        """The values in field order, as Gradio takes them."""
        return tuple(getattr(self, f.name) for f in fields(self))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True, kw_only=True)
class AnswerOutputs(_Named):
    """One update of an answer's outputs; a field left out is not updated (``gr.skip()``)."""

    question: Any = None  # the question box: "" clears it once a question is taken
    chat: Any = None
    meter: Any = None
    session: Any = None  # the gr.State: the session, on the frames that may have created it
    trace: Any = None  # the last answer's three downloads
    html: Any = None
    md: Any = None

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) is None and f.name in ("question", "session"):
                # A value would overwrite what the person is typing; a State is set only on purpose.
                object.__setattr__(self, f.name, _skip())

    @classmethod
    def nothing(cls) -> "AnswerOutputs":
        """No component changes (an empty question, no file given)."""
        return cls(**{name: _skip() for name in cls.names()})


@dataclass(frozen=True, kw_only=True)
class ClearedOutputs(_Named):
    """New chat / the clear icon: everything of the old conversation goes."""

    chat: Any
    meter: Any
    session: Any
    trace: Any
    html: Any
    md: Any
    question: Any
    conversation_html: Any
    conversation_md: Any
