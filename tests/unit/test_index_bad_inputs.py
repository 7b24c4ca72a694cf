"""``python -m agent.index add`` fed odd files and folders: each is indexed sensibly or skipped
with one clear line, never a traceback."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from agent.index import DocumentIndex
from agent.index.__main__ import main
from agent.index.passages import MAX_PASSAGE_CHARS


def _add(tmp_path: Path, *paths: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["add", *map(str, paths), "--index", str(tmp_path / "idx")])
    out = capsys.readouterr()
    return code, out.out + out.err


def refuse_reading(locked: Path, read_bytes):
    def read(self: Path) -> bytes:
        if self.resolve() == locked.resolve():
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return read_bytes(self)
    return read


def _texts(tmp_path: Path, query: str) -> list[str]:
    with DocumentIndex(tmp_path / "idx", read_only=True) as index:
        return [h.text for h in index.search(query, k=10)]


def test_an_empty_folder_says_so_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    code, out = _add(tmp_path, tmp_path / "empty", capsys=capsys)
    assert code == 1 and "no files to index" in out and "empty" in out


def test_a_folder_of_other_types_says_so_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"\x89PNG")
    code, out = _add(tmp_path, folder, capsys=capsys)
    assert code == 1 and "skipped 1 file(s) of other types" in out and "no files to index" in out


def test_symlink_loops_and_a_folder_named_like_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)
    (root / "self").symlink_to(root / "self")  # a link to itself
    (root / "dangling.txt").symlink_to(root / "gone.txt")
    (root / "folder.pdf").mkdir()
    (root / "folder.pdf" / "inside.txt").write_text("Tide tables for the harbour.", encoding="utf-8")
    code, out = _add(tmp_path, root, capsys=capsys)
    assert code == 0 and "added inside.txt" in out and "Traceback" not in out
    assert _texts(tmp_path, "harbour") == ["Tide tables for the harbour."]


def test_utf16_text_with_a_byte_order_mark_is_text_not_binary(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """What Windows Notepad saves as "Unicode"."""
    path = tmp_path / "notes.txt"
    path.write_bytes("\ufeffThe harbour master keeps the tide tables.".encode("utf-16-le"))
    code, out = _add(tmp_path, path, capsys=capsys)
    assert code == 0 and "added notes.txt" in out, out
    assert _texts(tmp_path, "harbour") == ["The harbour master keeps the tide tables."]


def test_utf8_with_one_stray_byte_keeps_its_accents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cv.txt"
    path.write_bytes("Un résumé naïve et café.".encode() + b" \xff")
    assert _add(tmp_path, path, capsys=capsys)[0] == 0
    (text,) = _texts(tmp_path, "résumé")
    assert text.startswith("Un résumé naïve et café.")


def test_windows_1252_text_is_still_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\u00e9 \u201cquoted\u201d menu.".encode("cp1252"))
    assert _add(tmp_path, path, capsys=capsys)[0] == 0
    assert _texts(tmp_path, "menu") == ["Café “quoted” menu."]


def test_a_huge_single_word_line_makes_bounded_passages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A minified file or a language written without spaces: no passage of megabytes."""
    path = tmp_path / "blob.txt"
    path.write_text("harbour " + "x" * 300_000 + " tide", encoding="utf-8")
    assert _add(tmp_path, path, capsys=capsys)[0] == 0
    with DocumentIndex(tmp_path / "idx", read_only=True) as index:
        (harbour,) = index.search("harbour", k=5)
        (tide,) = index.search("tide", k=5)
        assert index.stats().passages >= 300_000 // MAX_PASSAGE_CHARS
    assert len(harbour.text) <= MAX_PASSAGE_CHARS and len(tide.text) <= MAX_PASSAGE_CHARS


def test_html_hidden_text_is_not_indexed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Text a reader never sees is the classic place to hide instructions for a model."""
    path = tmp_path / "page.html"
    path.write_text(
        "<html><body><p>Visible tide tables.</p>"
        "<div hidden>hiddenword</div><p style='display: none'>noneword</p>"
        "<span style='visibility:hidden'>invisword</span><div aria-hidden='true'>ariaword</div>"
        "<p style='color: red'>redword stays</p></body></html>", encoding="utf-8")
    assert _add(tmp_path, path, capsys=capsys)[0] == 0
    (text,) = _texts(tmp_path, "tide")
    assert "Visible tide tables." in text and "redword stays" in text
    for word in ("hiddenword", "noneword", "invisword", "ariaword"):
        assert word not in text


def test_html_charset_from_an_xml_declaration_or_meta(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    xml = tmp_path / "a.html"
    xml.write_bytes(b'<?xml version="1.0" encoding="iso-8859-1"?><html><body><p>caf\xe9 xmlword</p></body></html>')
    meta = tmp_path / "b.html"
    meta.write_bytes(b'<html><head><meta charset="windows-1252"></head><body><p>na\xefve metaword</p></body></html>')
    assert _add(tmp_path, xml, meta, capsys=capsys)[0] == 0
    assert _texts(tmp_path, "xmlword") == ["café xmlword"]
    assert _texts(tmp_path, "metaword") == ["naïve metaword"]


def test_a_corpus_with_bad_lines_keeps_the_good_rows_and_counts_the_bad(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [json.dumps({"id": "1", "contents": '"Lisbon"\nLisbon is the capital of Portugal.'}),
            "not json", json.dumps({"id": "2"}), json.dumps({"id": 3, "contents": 42}), "[1, 2]", '"text"',
            "[" * 100_000,  # nested past the JSON parser's recursion limit
            json.dumps({"id": None, "contents": '"Porto"\nPorto is a city of Portugal.'}),
            json.dumps({"id": "1", "contents": '"Again"\nA second row with id 1 in Portugal.'})]
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out = _add(tmp_path, path, capsys=capsys)
    assert code == 0 and "Traceback" not in out, out
    assert "added corpus.jsonl (3 passages)" in out
    assert "6 line(s) that are not" in out and "first: line 2" in out
    assert "1 row(s) repeat an earlier id" in out
    with DocumentIndex(tmp_path / "idx", read_only=True) as index:
        ids = sorted(h.pid for h in index.search("Portugal", k=10))
    assert ids == ["1", "1", "8"]  # a null id is no id: the line number stands in


def test_unreadable_file_is_skipped_with_its_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.txt"
    path.write_text("secret", encoding="utf-8")
    path.chmod(0)
    if os.access(path, os.R_OK):
        # Root (CI) reads a mode-0 file anyway: refuse this one file the way the kernel refuses
        # anyone else, so the same except branch runs whoever runs the tests.
        monkeypatch.setattr(Path, "read_bytes", refuse_reading(path, Path.read_bytes))
    code, out = _add(tmp_path, path, capsys=capsys)
    assert code == 1 and "locked.txt" in out and "cannot be read" in out


def test_a_fifo_named_like_a_document_is_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Reading a FIFO would block for ever; a folder walk and a named path both pass it by."""
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    code, out = _add(tmp_path, fifo, capsys=capsys)
    assert code == 1 and "pipe.txt" in out and "not a regular file" in out


def test_a_file_name_that_is_not_utf8_is_skipped_and_the_rest_added(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Linux file names are bytes: one from an old Latin-1 system must not abort the whole add."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.txt"), "wb") as bad:
        bad.write(b"Latin-1 named notes about the harbour.")
    (folder / "good.txt").write_text("Good notes about the harbour.", encoding="utf-8")
    code, out = _add(tmp_path, folder, capsys=capsys)
    assert code == 0 and "Traceback" not in out, out
    assert "added good.txt" in out
    assert "caf\ufffd.txt: the file name is not valid UTF-8" in out
    assert _texts(tmp_path, "harbour") == ["Good notes about the harbour."]


def test_an_index_path_that_is_a_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("Not an index.", encoding="utf-8")
    code = main(["add", str(target), "--index", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "is a file, not an index folder" in err and "Traceback" not in err
    assert target.read_text(encoding="utf-8") == "Not an index."


def test_html_with_control_characters_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """lxml refuses text with control characters when the page's headings are rewritten: such a
    page once aborted the whole add with a ValueError (found by fuzzing)."""
    path = tmp_path / "page.html"
    path.write_bytes(b"<html><body><h1>Tides\x04 and \x1bships</h1><p>Harbour\x0b master\x01 keeps them.</p></body></html>")
    code, out = _add(tmp_path, path, capsys=capsys)
    assert code == 0 and "added page.html" in out, out
    assert _texts(tmp_path, "harbour") == ["Harbour master keeps them."]


def test_a_word_inside_cjk_text_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Chinese, Japanese and Korean write words without spaces: a word inside a sentence is found,
    the passage holding it first, and Latin words are still matched by their stems."""
    texts = {"tokyo.txt": "東京は日本の首都です。大阪は大きな都市です。",
             "beijing.txt": "北京是中国的首都，也是政治中心。",
             "seoul.txt": "서울은 대한민국의 수도이며 가장 큰 도시입니다.",
             "coffee.txt": "コーヒーを飲みながら running notes を書く。",
             "mountain.txt": "富士山は高い。"}
    for name, text in texts.items():
        (tmp_path / "docs").mkdir(exist_ok=True)
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    assert _add(tmp_path, tmp_path / "docs", capsys=capsys)[0] == 0
    assert set(_texts(tmp_path, "首都")) == {texts["tokyo.txt"], texts["beijing.txt"]}
    assert _texts(tmp_path, "日本の首都")[0] == texts["tokyo.txt"]
    assert _texts(tmp_path, "政治")[0] == texts["beijing.txt"]
    assert _texts(tmp_path, "대한민국")[0] == texts["seoul.txt"]
    assert _texts(tmp_path, "コーヒー") == [texts["coffee.txt"]]
    assert _texts(tmp_path, "山") == [texts["mountain.txt"]]
    assert _texts(tmp_path, "runs") == [texts["coffee.txt"]]
