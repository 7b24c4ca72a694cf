"""A command's text goes to stdout or to ``-o FILE``; a file it cannot write is one error line
naming the file (``python -m agent --export`` and ``python -m agent.history export`` share it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli_output import write_output


@pytest.mark.parametrize("output", [None, "", "-"])
def test_no_file_or_a_dash_is_stdout(output: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    assert write_output("ünïcode text\n", output)
    assert capsys.readouterr() == ("ünïcode text\n", "")


def test_a_file_gets_the_text_in_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.md"
    assert write_output("# ünïcode\n", str(target))
    assert target.read_bytes() == "# ünïcode\n".encode("utf-8")
    assert capsys.readouterr() == ("", "")


def test_a_file_that_cannot_be_written_is_one_line_naming_it(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing-folder" / "out.html"
    assert not write_output("text", str(target))
    out, err = capsys.readouterr()
    assert out == "" and err == f"error: cannot write {str(target)!r}: No such file or directory\n"
