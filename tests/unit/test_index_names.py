"""Issue 25.13: a file name is untrusted text. One holding a line break cannot forge a line of
`add` or `search` output, and a symbolic link in a folder being added is not followed out of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.index import DocumentIndex
from agent.index.__main__ import main

FORGED = "a\nadded secrets.txt (99 passages)\rx\u2028y.txt"


def test_a_file_name_with_line_breaks_prints_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / FORGED).write_text("zebraword in a file with a strange name", encoding="utf-8")
    assert main(["add", str(folder), "--index", str(tmp_path / "idx")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("added secrets.txt") for line in lines), lines
    assert len(lines) == 2 and lines[0].startswith("added a\\nadded secrets.txt"), lines
    assert main(["search", "zebraword", "--index", str(tmp_path / "idx")]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 2 and "\\n" in out.splitlines()[0], out


def test_a_symlink_out_of_the_folder_is_not_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("zebrasecret password", encoding="utf-8")
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "note.txt").write_text("zebranote is public", encoding="utf-8")
    os.symlink(secret, folder / "x.txt")
    os.symlink(secret.parent, folder / "sub" / "linked")  # a folder link out, too
    os.symlink(folder / "note.txt", folder / "same.txt")  # inside: fine
    assert main(["add", str(folder), "--index", str(tmp_path / "idx")]) == 0
    out = capsys.readouterr().out
    assert "x.txt: a symbolic link to a file outside" in out
    with DocumentIndex(tmp_path / "idx", read_only=True) as index:
        assert index.search("zebrasecret") == []
        assert index.search("zebranote")
