"""Issue 25.9: a small PDF whose pages share their kids or one compressed stream expands to far
more text than its size suggests; what one file gives is bounded, and the skip is said."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pytest

from agent.index import DocumentIndex
from agent.index import pdf as pdf_module
from agent.index.__main__ import main
from agent.index.readers import read_file


def shared_pdf(*, fan: int, depth: int, content: bytes, inherit_resources: bool = True) -> bytes:
    """A page tree of ``fan ** depth`` pages, every node listing one shared child ``fan`` times,
    every page drawing one shared FlateDecode stream (``content``)."""
    resources = b"/Resources << /Font << /F1 3 0 R >> >>"
    objs: dict[int, bytes] = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
                              3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    packed = zlib.compress(content, 9)
    objs[4] = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream"
    objs[5] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
               + (b"" if inherit_resources else resources) + b" /Contents 4 0 R >>")
    child, count = 5, 1
    for level in range(depth):
        count *= fan
        objs[10 + level] = f"<< /Type /Pages /Kids [{' '.join([f'{child} 0 R'] * fan)}] /Count {count} >>".encode()
        child = 10 + level
    objs[2] = (f"<< /Type /Pages /Kids [{child} 0 R] /Count {count} ".encode()
               + (resources if inherit_resources else b"") + b" >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objs):
        offsets[number] = out.tell()
        out.write(f"{number} 0 obj\n".encode() + objs[number] + b"\nendobj\n")
    xref, size = out.tell(), max(objs) + 1
    out.write(f"xref\n0 {size}\n0000000000 65535 f \n".encode())
    for number in range(1, size):
        out.write(f"{offsets[number]:010d} 00000 n \n".encode() if number in offsets else b"0000000000 65535 f \n")
    out.write(f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def text_stream(words: int) -> bytes:
    return ("BT /F1 10 Tf 20 700 Td (" + " ".join(f"zebra{i}." for i in range(words)) + ") Tj ET").encode()


def test_a_page_tree_bomb_reads_a_bounded_number_of_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module, "MAX_PAGES", 40)
    data = shared_pdf(fan=30, depth=4, content=text_stream(3))  # 810,000 pages in about 1 KB
    assert len(data) < 20_000
    read = read_file(Path("bomb.pdf"), data)
    assert len(read.passages) <= 40
    assert {p.page for p in read.passages} == set(range(1, 41))
    assert "zebra0." in read.passages[0].text  # /Resources inherited from the tree's root
    assert read.skipped is not None and "pages after 40 were skipped" in read.skipped


def test_pages_sharing_one_stream_give_at_most_the_text_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module, "MAX_TEXT_CHARS", 50_000)
    data = shared_pdf(fan=10, depth=3, content=text_stream(400) * 20)  # 1,000 pages of ~60 KB of text
    read = read_file(Path("shared.pdf"), data)
    assert sum(len(p.text) for p in read.passages) <= 50_000
    assert read.skipped is not None and "text after" in read.skipped and "skipped" in read.skipped


def test_drawing_instructions_are_bounded_even_without_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module, "MAX_CONTENT_BYTES", 300_000)
    lines = b"0 0 m 1 1 l S\n" * 10_000  # 140 KB of drawing per page, no text
    data = shared_pdf(fan=10, depth=3, content=text_stream(2) + lines)
    read = read_file(Path("drawing.pdf"), data)
    assert len(read.passages) <= 3
    assert read.skipped is not None and "pages 3 and after were skipped" in read.skipped


def test_the_real_bounds_hold_for_a_13_kb_bomb() -> None:
    """With the shipped limits: at most MAX_PAGES pages, at most a capped text file's text."""
    assert pdf_module.MAX_TEXT_CHARS <= 20_000_000  # the upload limit's worth of plain text
    data = shared_pdf(fan=30, depth=4, content=text_stream(1))
    read = read_file(Path("bomb.pdf"), data)
    assert len(read.passages) == pdf_module.MAX_PAGES
    assert read.skipped is not None


def test_add_says_what_was_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(pdf_module, "MAX_PAGES", 5)
    path = tmp_path / "bomb.pdf"
    path.write_bytes(shared_pdf(fan=4, depth=2, content=text_stream(3)))
    assert main(["add", str(path), "--index", str(tmp_path / "idx")]) == 0
    out = capsys.readouterr().out
    assert "added bomb.pdf (5 passages); pages after 5 were skipped" in out
    with DocumentIndex(tmp_path / "idx", read_only=True) as index:
        assert index.stats().passages == 5


def test_an_ordinary_pdf_is_read_whole() -> None:
    data = shared_pdf(fan=3, depth=1, content=text_stream(5), inherit_resources=False)
    read = read_file(Path("three.pdf"), data)
    assert [p.page for p in read.passages] == [1, 2, 3] and read.skipped is None
