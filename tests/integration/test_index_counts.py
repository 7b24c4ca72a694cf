"""`python -m agent.index`: `add` and a later `stats` agree on the size on disk, and a count of
one reads "1 passage", "1 document" (issue 25.7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.index.__main__ import main
from agent.text.counts import counted


def megabytes(out: str) -> str:
    return re.search(r"([\d.]+) MB", out).group(1)


@pytest.mark.parametrize("words", [3_000, 60_000])  # a small add (WAL kept) and a larger one
def test_add_and_stats_report_the_same_size(tmp_path: Path, capsys, words: int) -> None:
    doc = tmp_path / "notes.txt"
    doc.write_text(" ".join(f"word{i % 997} zebra{i}" for i in range(words)), encoding="utf-8")
    index = tmp_path / "index"
    assert main(["add", str(doc), "--index", str(index)]) == 0
    added = capsys.readouterr().out
    assert main(["stats", "--index", str(index)]) == 0
    assert megabytes(added) == megabytes(capsys.readouterr().out)


def test_a_count_of_one_is_singular(tmp_path: Path, capsys) -> None:
    doc = tmp_path / "one.txt"
    doc.write_text("A single short passage about zebras.", encoding="utf-8")
    index = tmp_path / "index"
    assert main(["add", str(doc), "--index", str(index)]) == 0
    out = capsys.readouterr().out
    assert "added one.txt (1 passage)" in out and "index: 1 document, 1 passage," in out
    assert main(["stats", "--index", str(index)]) == 0
    assert capsys.readouterr().out.startswith("1 document, 1 passage,")
    assert main(["remove", str(doc), "--index", str(index)]) == 0
    assert "one.txt (1 passage)" in capsys.readouterr().out
    assert [counted(n, "passage") for n in (0, 1, 2)] == ["0 passages", "1 passage", "2 passages"]
