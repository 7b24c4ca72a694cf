"""A browser session's document shelf: limits with clear messages, remove, deletion at the end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.index_helpers import make_pdf
from ui import documents
from ui.documents import DocumentShelf


@pytest.fixture
def shelf():
    shelf = DocumentShelf()
    yield shelf
    shelf.close()


def test_limits_and_bad_files_get_one_clear_line_each(tmp_path: Path, shelf: DocumentShelf,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_FILE_MB", 1)
    monkeypatch.setattr(documents, "MAX_DOCUMENTS", 2)
    files = {"a.txt": b"alpha text", "big.txt": b"x " * 600_000, "run.jsonl": b'{"id": 1}',
             "b.md": b"# B\n\nbeta", "c.html": b"<p>gamma</p>", "d.pdf": b"%PDF broken"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    messages = shelf.add([str(tmp_path / n) for n in files])
    assert messages == [
        "✓ added a.txt (1 passage)",
        "✗ big.txt is 1.2 MB; the limit is 1 MB per file.",
        "✗ run.jsonl: only PDF, text, Markdown and HTML files can be added (.pdf, .txt, .md, .html, .htm).",
        "✓ added b.md (1 passage)",
        "✗ c.html: at most 2 documents per session; remove one first.",
        "✗ d.pdf: at most 2 documents per session; remove one first.",
    ]
    assert [row[0] for row in shelf.rows()] == ["a.txt", "b.md"]
    assert shelf.add([str(tmp_path / "a.txt")]) == ["✓ unchanged a.txt (1 passage)"]
    assert shelf.remove("a.txt") == "Removed a.txt (1 passage)."
    assert shelf.remove("a.txt") == "a.txt is not in your documents."
    assert shelf.add([str(tmp_path / "d.pdf")])[0].startswith("✗ d.pdf: not a readable PDF")


def test_closing_deletes_the_folder_and_refuses_more(tmp_path: Path) -> None:
    shelf = DocumentShelf()
    (tmp_path / "r.pdf").write_bytes(make_pdf(["Some words."]))
    assert shelf.add([str(tmp_path / "r.pdf")]) == ["✓ added r.pdf (1 passage)"]
    folder = shelf.folder
    assert folder is not None and (folder / "index.sqlite3").exists()
    shelf.close()
    assert not folder.exists() and shelf.rows() == [] and shelf.indexes == []
    assert "session has ended" in shelf.add([str(tmp_path / "r.pdf")])[0]


def test_two_shelves_never_share_a_document(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("private words about otters", encoding="utf-8")
    (tmp_path / "theirs.txt").write_text("other words about beavers", encoding="utf-8")
    first, second = DocumentShelf(), DocumentShelf()
    try:
        first.add([str(tmp_path / "mine.txt")])
        second.add([str(tmp_path / "theirs.txt")])
        assert first.folder != second.folder
        assert first.indexes[0].search("otters") and not second.indexes[0].search("otters")
        assert [r[0] for r in second.rows()] == ["theirs.txt"]
    finally:
        first.close()
        second.close()
