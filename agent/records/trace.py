"""Record a run as JSONL and read it back strictly (``replay`` paces it, ``report`` exports it).

File format (version 3), one JSON object per line::

    {"type": "meta", "version": 3, "question", "model", "backend", "settings",
     "started_at", "scripted", "recorder": "deepsearch"}
    {"type": "thinking", "text": "...", "t": 0.012}      # to_dict(event) + "t"
    ...
    {"type": "done", ..., "t": 3.5}

``t`` is seconds since the writer was created, rounded to milliseconds.
Version 2 added ``end`` to ``done`` (how the run ended); version-1 files still
read, their ``end`` inferred from what they recorded (``events.infer_end``).
Version 3 added the ``read_start``/``read_done`` events, ``passages`` on sources
that were read and ``stats.reads``; versions 1 and 2 read and replay as before.

One file may hold several runs: ``TraceWriter`` appends, and every run starts
with its own meta line (so ``app.py --trace FILE`` keeps a whole session in one
file). Readers take the LAST run unless given ``run=``; ``read_runs`` returns
them all. Only the run being read is validated, so an earlier run that crashed
half-way does not make later runs unreadable.

Secrets never reach the file: the meta carries ``Settings.public()``, and any
secret value (API keys) that shows up in an event, say an echoing error
message, is replaced by ``[redacted]``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Callable

from pydantic import ValidationError

from ..errors import RecordsError, UsageError
from ..config import Settings
from ..events import Done, Error, Event, expected_words, from_dict, json_line, shown, to_dict
from .judged import JUDGED, apply_judged, judged_run
from .trace_meta import META, READABLE_VERSIONS, Meta, redact_values
from .trace_meta import RECORDER as RECORDER
from .trace_meta import TRACE_VERSION as TRACE_VERSION
from .trace_meta import trace_meta as trace_meta

log = logging.getLogger(__name__)

TimedEvent = tuple[float, Event]


class TraceError(RecordsError, UsageError):
    """A trace cannot be written or read; the message names the file (and line)."""


# --------------------------------------------------------------------------- writing


class TraceWriter:
    """Appends one run to ``path``: a meta line, then one line per event.

    Each line is flushed as it is written, so a crash leaves a readable prefix
    (which ``read_trace`` refuses as truncated, naming the last line). A disk
    error while recording is logged once and recording stops: a full disk must
    not break a live demo.
    """

    def __init__(self, path: str | Path, *, question: str, settings: Settings, model: str,
                 clock: Callable[[], float] = time.monotonic, fork: dict[str, Any] | None = None) -> None:
        """``fork``: where this run branched from (``--fork-at``), kept in the meta line."""
        self.path = Path(path)
        self.error: str | None = None
        self._clock = clock
        self._t0 = clock()
        self._secrets = list(settings.secrets)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            needs_newline = _ends_mid_line(self.path)
            self._file = self.path.open("a", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise TraceError(
                f"cannot open trace {str(self.path)!r} for writing: {exc.strerror or exc}; "
                "pick a writable path for --trace"
            ) from None
        if needs_newline:
            # A crashed run left half a line; start ours on a fresh one.
            self._write_line_raw("")
        self.meta = trace_meta(question=question, settings=settings, model=model)
        if fork is not None:
            self.meta["fork"] = dict(fork)
        self._write(self.meta)

    def write(self, event: Event, *, at: float | None = None) -> None:
        """One event line; ``at``: when it happened on this writer's clock (default: now)."""
        if self._file.closed:
            raise ValueError(f"trace writer for {str(self.path)!r} is closed; open a new one per run")
        data = to_dict(event)
        data["t"] = round(max(0.0, (self._clock() if at is None else at) - self._t0), 3)
        self._write(data)

    def close(self) -> None:
        if not self._file.closed:
            try:
                self._file.close()
            except OSError as exc:
                self._fail(exc)

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _write(self, data: dict[str, Any]) -> None:
        self._write_line_raw(json_line(redact_values(data, self._secrets)))

    def _write_line_raw(self, line: str) -> None:
        if self.error is not None:
            return
        try:
            self._file.write(line + "\n")
            self._file.flush()
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self.error = f"recording to {str(self.path)!r} stopped: {exc.strerror or exc}"
        log.warning("%s; the run goes on without a recording", self.error)


def _ends_mid_line(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            if f.tell() == 0:
                return False
            f.seek(-1, 2)
            return f.read(1) != b"\n"
    except FileNotFoundError:
        return False


# --------------------------------------------------------------------------- reading


def read_trace(path: str | Path, *, run: int = -1) -> tuple[Meta, list[TimedEvent]]:
    """The meta and ``(t, event)`` pairs of one run (default: the last), fully validated.

    Raises ``TraceError`` naming the file and line for anything wrong: missing
    or empty file, no meta first, unsupported version, a line that is not JSON,
    an unknown event type or bad fields, ``t`` going backwards, or a run that
    does not end with ``done`` or ``error`` (truncated).
    """
    name, runs = _split_runs(path)
    try:
        lines = runs[run]
    except IndexError:
        raise TraceError(
            f"{name} holds {len(runs)} run(s); run {run} does not exist "
            f"(use 0..{len(runs) - 1}, or -1 for the last)"
        ) from None
    return _parse_run(name, lines)


def read_runs(path: str | Path) -> list[tuple[Meta, list[TimedEvent]]]:
    """Every run in the file, in order, each validated like ``read_trace``."""
    name, runs = _split_runs(path)
    return [_parse_run(name, lines) for lines in runs]


# One line of a run: (line number, raw text, parsed object or None when not JSON).
_Line = tuple[int, str, Any]
# A line this app writes nests 5 levels at most (done > stats > refused_calls > call). Deeper
# JSON is refused on reading, before any reader (reports, the UI) walks it recursively.
_MAX_DEPTH = 32
_TOO_DEEP = object()  # stands for a line nested deeper than that


def runs_from_text(text: str, *, name: str) -> list[tuple[Meta, list[TimedEvent]]]:
    """Every run of a trace held in memory (a stored conversation), validated like ``read_runs``;
    ``name`` says where it came from in error messages."""
    return [_parse_run(name, lines) for lines in _split_text(name, text)]


def run_text(meta: Meta, timed: list[TimedEvent]) -> str:
    """One run as the lines of a trace (``runs_from_text`` reads it back)."""
    lines = [json_line(meta)] + [json_line({**to_dict(event), "t": t}) for t, event in timed]
    return "\n".join(lines) + "\n"


def _split_runs(path: str | Path) -> tuple[str, list[list[_Line]]]:
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TraceError(f"trace {name} does not exist; check the path") from None
    except IsADirectoryError:
        raise TraceError(f"trace {name} is a directory; give the .jsonl file") from None
    except UnicodeDecodeError as exc:
        raise TraceError(f"trace {name} is not UTF-8 text (byte {exc.start}); is it a trace?") from None
    except OSError as exc:
        raise TraceError(f"trace {name} cannot be read: {exc.strerror or exc}") from None
    return name, _split_text(name, text)


def _split_text(name: str, text: str) -> list[list[_Line]]:
    runs: list[list[_Line]] = []
    judged: list[_Line] = []  # the model's later verdicts on a run (``judged.py``): moved to its end
    # Lines end at "\n" only: JSON text may hold U+2028 and friends, which splitlines() breaks on.
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            obj = None
        except RecursionError:
            obj = _TOO_DEEP
        if obj is not None and obj is not _TOO_DEEP and _depth(obj) > _MAX_DEPTH:
            obj = _TOO_DEEP
        if obj is _TOO_DEEP and not runs:
            raise TraceError(f"{name}:{number}: {_DEEP_MESSAGE}")
        if isinstance(obj, dict) and obj.get("type") == "meta":
            runs.append([])
        elif not runs:
            got = ("a JSON object with no 'type'" if isinstance(obj, dict) and obj.get("type") is None
                   else f"type {shown(obj.get('type'))}" if isinstance(obj, dict)
                   else "a line that is not a JSON object")
            raise TraceError(
                f"{name}:{number}: the first line must be the meta line "
                f'{{"type": "meta", "version": {TRACE_VERSION}, ...}}, got {got}; '
                "this is not a trace written by this app"
            )
        if isinstance(obj, dict) and obj.get("type") == JUDGED:
            judged.append((number, raw, obj))
        else:
            runs[-1].append((number, raw, obj))
    if not runs:
        raise TraceError(f"trace {name} is empty; record one with --trace FILE")
    _place_judged(name, runs, judged)
    return runs


def _place_judged(name: str, runs: list[list[_Line]], judged: list[_Line]) -> None:
    """Each ``claims_judged`` line goes to the end of the run it names (by the meta's ``run``)."""
    by_id = {lines[0][2].get("run"): lines for lines in runs if isinstance(lines[0][2].get("run"), str)}
    for number, raw, obj in judged:
        try:
            run = judged_run(obj)
        except ValueError as exc:
            raise TraceError(f"{name}:{number}: {exc}") from None
        if run not in by_id:
            raise TraceError(f"{name}:{number}: the 'claims_judged' line names run {run!r}, "
                             "which this trace does not hold")
        by_id[run].append((number, raw, obj))


def _parse_run(name: str, lines: list[_Line]) -> tuple[Meta, list[TimedEvent]]:
    number, _, meta = lines[0]
    _check_meta(name, number, meta)
    timed: list[TimedEvent] = []
    previous = 0.0
    for number, raw, obj in lines[1:]:
        where = f"{name}:{number}"
        if obj is _TOO_DEEP:
            raise TraceError(f"{where}: {_DEEP_MESSAGE}")
        if obj is None:
            cut = "" if raw.rstrip().endswith("}") else " (cut off: the recording may have crashed)"
            raise TraceError(f"{where}: line is not valid JSON{cut}: {_clip(raw)}")
        if not isinstance(obj, dict):
            raise TraceError(f"{where}: expected a JSON object, got {_clip(raw)}")
        if obj.get("type") == JUDGED:
            timed[-1] = _judged(where, timed, obj)
            continue
        if timed and isinstance(timed[-1][1], Done):
            raise TraceError(f"{where}: event {obj.get('type')!r} after the run's 'done' event")
        t = obj.get("t")
        if "t" not in obj:
            raise TraceError(f"{where}: 't' must be a number of seconds >= 0, and this event has none")
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise TraceError(f"{where}: 't' must be a number of seconds >= 0, got {shown(t)}")
        if t < previous:
            raise TraceError(f"{where}: 't' goes backwards ({t!r} after {previous!r})")
        previous = float(t)
        try:
            event = from_dict(obj)
            _check_cited(event)
        except ValueError as exc:
            raise TraceError(f"{where}: {exc}") from None
        timed.append((previous, event))
    if not timed or not isinstance(timed[-1][1], (Done, Error)):
        last = lines[-1][0]
        raise TraceError(
            f"{name}:{last}: trace is truncated: the run does not end with a 'done' or 'error' "
            "event (did the recording crash?); re-record it"
        )
    return meta, timed


def _judged(where: str, timed: list[TimedEvent], obj: dict[str, Any]) -> TimedEvent:
    """The run's ``done`` (at its time) with the model's verdicts of a ``claims_judged`` line."""
    if not timed or not isinstance(timed[-1][1], Done):
        raise TraceError(f"{where}: a 'claims_judged' line for a run that did not end with 'done'")
    t, done = timed[-1]
    assert isinstance(done, Done)
    try:
        return t, apply_judged(done, obj)
    except ValueError as exc:
        raise TraceError(f"{where}: {exc}") from None


def _check_meta(name: str, number: int, meta: dict[str, Any]) -> None:
    version = meta.get("version")
    readable = ", ".join(map(str, READABLE_VERSIONS))
    if version is None:
        raise TraceError(f"{name}:{number}: the meta line has no version number, so this is not a trace "
                         f"this app wrote (it reads versions {readable})")
    if isinstance(version, bool) or not isinstance(version, int):
        raise TraceError(f"{name}:{number}: the meta line's version must be a whole number "
                         f"(this app reads versions {readable}), got {shown(version)}")
    if version not in READABLE_VERSIONS:
        raise TraceError(f"unsupported trace version {version!r} in {name}:{number} "
                         f"(this app reads versions {readable})")
    try:
        META.validate_python(meta)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        key = error["loc"][0] if error["loc"] else "?"
        if error["type"] == "missing":
            raise TraceError(f"{name}:{number}: the meta line has no {key!r}") from None
        raise TraceError(f"{name}:{number}: meta field {key!r} must be {expected_words(error)}, "
                         f"got {shown(meta.get(str(key)))}") from None


_DEEP_MESSAGE = (f"JSON nested more than {_MAX_DEPTH} levels deep; this is not a trace written by "
                 "this app")


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects, without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > _MAX_DEPTH:
                break
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def _check_cited(event: Event) -> None:
    """A ``done`` cites only sources it lists: readers look each cited id up."""
    if isinstance(event, Done):
        known = {s.id for s in event.sources}
        for n in event.cited:
            if n not in known:
                raise ValueError(f"'cited' holds {n!r}, which is not the id of any source in this "
                                 f"'done' event (ids: {sorted(known)})")


def _clip(raw: str, limit: int = 80) -> str:
    return repr(raw if len(raw) <= limit else raw[:limit] + "…")
