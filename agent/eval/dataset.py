"""Reading a QA dataset: JSONL, JSON (a list), CSV or Parquet, with mappable field names.

A row needs a question and at least one golden answer: ``golden_answers`` (a
list, Search-R1's format) or ``answer`` (a string or a list) unless the fields
are renamed; its ``id`` is kept when present, else its row number. A field
name may be a dotted path into nested objects (``reward_model.ground_truth.target``).
"""

from __future__ import annotations

import ast
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import UsageError

DEFAULT_ANSWER_FIELDS = ("golden_answers", "answer")
FORMATS = (".jsonl", ".json", ".csv", ".parquet")


class DatasetError(UsageError):
    """The dataset cannot be used; the message names the file and what to change."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    golden_answers: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class FieldMap:
    question: str = "question"
    answer: str | None = None  # None: golden_answers, else answer
    id: str = "id"


@dataclass(frozen=True)
class Dataset:
    questions: tuple[Question, ...]
    skipped: int  # rows without a usable question or golden answer
    first_skipped: int | None  # its row number, to point a person at it


def load_dataset(path: str | Path, *, fields: FieldMap = FieldMap(), limit: int | None = None) -> Dataset:
    """The usable rows of ``path`` (the first ``limit`` of them); ``DatasetError`` when none is."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise DatasetError(f"dataset {str(path)!r} has an unknown format; use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise DatasetError(f"dataset {str(path)!r} does not exist or is not a file")
    questions: list[Question] = []
    seen: set[str] = set()
    skipped, first_skipped = 0, None
    for number, row in enumerate(_rows(path), start=1):
        question = _to_question(row, number, fields)
        if question is None:
            skipped += 1
            first_skipped = first_skipped or number
            continue
        if question.id in seen:
            raise DatasetError(f"dataset {str(path)!r} has the id {question.id!r} twice (row {number}); "
                               "ids must be unique, or map --id-field to a unique column")
        seen.add(question.id)
        questions.append(question)
        if limit is not None and len(questions) >= limit:
            break
    if not questions:
        wanted = fields.answer or " or ".join(DEFAULT_ANSWER_FIELDS)
        raise DatasetError(
            f"dataset {str(path)!r} has no usable row: each needs a {fields.question!r} field and a "
            f"non-empty {wanted} field; map other names with --question-field / --answer-field"
        )
    return Dataset(questions=tuple(questions), skipped=skipped, first_skipped=first_skipped)


def _rows(path: Path) -> Iterator[Any]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            yield from _jsonl_rows(path)
        elif suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, list):
                raise DatasetError(f"dataset {str(path)!r} must hold a JSON list of objects, "
                                   f"got {type(data).__name__}")
            yield from data
        elif suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as f:
                yield from csv.DictReader(f)
        else:
            yield from _parquet_rows(path)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"dataset {str(path)!r} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"dataset {str(path)!r} cannot be read: {exc}") from None
    except RecursionError:
        raise DatasetError(f"dataset {str(path)!r} holds JSON nested too deeply to be a QA row") from None


def _jsonl_rows(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"dataset {str(path)!r} line {number} is not JSON ({exc.msg}); "
                                   "a .jsonl file holds one JSON object per line") from None


def _parquet_rows(path: Path) -> Iterator[Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError("reading .parquet needs pyarrow: pip install -r requirements-dev.txt "
                           "(or convert the file to .jsonl)") from None
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DatasetError(f"dataset {str(path)!r} is not a readable Parquet file: {exc}") from None
    yield from table.to_pylist()


def _to_question(row: Any, number: int, fields: FieldMap) -> Question | None:
    if not isinstance(row, dict):
        return None
    question = _get(row, fields.question)
    if not isinstance(question, str) or not question.strip():
        return None
    names = (fields.answer,) if fields.answer else DEFAULT_ANSWER_FIELDS
    golden: tuple[str, ...] = ()
    for name in names:
        golden = _answers(_get(row, name))
        if golden:
            break
    if not golden:
        return None
    raw_id = _get(row, fields.id)
    qid = str(raw_id).strip() if raw_id not in (None, "") else str(number)
    return Question(id=qid, question=question, golden_answers=golden)


def _get(row: dict[str, Any], name: str) -> Any:
    if name in row:
        return row[name]
    value: Any = row
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _answers(value: Any) -> tuple[str, ...]:
    """Golden answers from a list, a string, a number, or a CSV cell holding a list."""
    if isinstance(value, str) and value.strip().startswith("["):
        value = _list_literal(value)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return ()
    out = [str(v).strip() for v in value if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
    return tuple(v for v in out if v)


def _list_literal(text: str) -> Any:
    """A list written into a CSV cell, as JSON or as Python's repr (pandas exports)."""
    for parse in (json.loads, ast.literal_eval):
        try:
            parsed = parse(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(parsed, list):
            return parsed
    return text
