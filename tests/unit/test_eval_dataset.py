"""Reading QA datasets in every supported format, and refusing unusable ones with a message."""

import json
from pathlib import Path

import pytest

from agent.eval.dataset import DatasetError, FieldMap, load_dataset

DATA = Path(__file__).resolve().parents[1] / "data" / "eval"
ROOT = Path(__file__).resolve().parents[2]


def test_jsonl_keeps_ids_and_golden_lists():
    qs = load_dataset(DATA / "questions.jsonl").questions
    assert [q.id for q in qs] == ["paris", "hamlet", "eiffel", "wall"]
    assert qs[1].golden_answers == ("William Shakespeare", "Shakespeare")


def test_csv_with_mapped_fields_and_list_cells_numbers_rows():
    qs = load_dataset(DATA / "questions.csv", fields=FieldMap(question="Question", answer="Answer")).questions
    assert [q.id for q in qs] == ["1", "2", "3", "4"]
    assert qs[0].golden_answers == ("Paris",) and qs[2].golden_answers == ("330 metres", "330 m")


def test_json_list_with_answer_string_number_and_limit(tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps([{"question": "Year?", "answer": 1889}, {"question": "Q2", "answer": ["a", "b"]},
                                {"question": "Q3", "answer": "c"}]))
    ds = load_dataset(path, limit=2)
    assert [q.golden_answers for q in ds.questions] == [("1889",), ("a", "b")]


def test_parquet_in_search_r1s_layout(tmp_path):
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "nq.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"id": "train_0", "question": "who sang x", "golden_answers": ["A", "B"],
         "reward_model": {"ground_truth": {"target": ["A", "B"]}}},
    ]), path)
    assert load_dataset(path).questions[0].golden_answers == ("A", "B")
    nested = load_dataset(path, fields=FieldMap(answer="reward_model.ground_truth.target"))
    assert nested.questions[0].id == "train_0" and nested.questions[0].golden_answers == ("A", "B")


def test_rows_without_a_question_or_answer_are_skipped_and_counted(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"question": "Q1", "answer": "A"}\n\n{"question": "", "answer": "A"}\n'
                    '{"question": "Q3", "golden_answers": []}\n["not", "an", "object"]\n')
    ds = load_dataset(path)
    assert len(ds.questions) == 1 and ds.skipped == 3 and ds.first_skipped == 2


@pytest.mark.parametrize("name,content,needle", [
    ("d.jsonl", "", "no usable row"),
    ("d.jsonl", '{"q": "x", "a": "y"}\n', "--question-field"),
    ("d.jsonl", '{"question": "x", "answer": "y"}\n{oops\n', "line 2 is not JSON"),
    ("d.json", '{"question": "x"}', "JSON list"),
    ("d.json", "[1, 2", "not valid JSON"),
    ("d.csv", "question,answer\n", "no usable row"),
    ("d.parquet", "not parquet", "not a readable Parquet"),
    ("d.txt", "x", "unknown format"),
    ("d.jsonl", "[" * 100000 + "\n", "nested too deeply"),
    ("d.json", "[" * 100000, "nested too deeply"),
    ("d.jsonl", '{"id": 1, "question": "x", "answer": "y"}\n{"id": 1, "question": "z", "answer": "y"}\n',
     "id '1' twice"),
])
def test_bad_datasets_are_refused_with_the_reason(tmp_path, name, content, needle):
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DatasetError, match=needle.replace("(", r"\(")) as info:
        load_dataset(path)
    assert str(path) in str(info.value)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope.jsonl")


@pytest.mark.parametrize("name,rows", [("freshqa-sample.jsonl", 20), ("simpleqa-sample.jsonl", 20),
                                       ("tiny-questions.jsonl", 6)])
def test_shipped_samples_load(name, rows):
    ds = load_dataset(ROOT / "data" / "eval" / name)
    assert len(ds.questions) == rows and ds.skipped == 0
