"""Pages that are hard to read: wide charsets and huge element trees (agent/read/extract.py)."""

from __future__ import annotations

import pytest

from agent.read import ReadFailed, extract
from agent.read.extract import MAX_ELEMENTS
from agent.read.fetch import Fetched

ARTICLE = ("<html><head><title>Häfen</title></head><body><nav>Home | Ports</nav><article><p>"
           + "Ein Text über Brücken und Häfen an der Küste. " * 30 + "</p></article></body></html>")


def read(body: bytes, charset: str | None, content_type: str = "text/html"):
    return extract(Fetched(url="https://example.org/p", content_type=content_type, charset=charset, body=body))


@pytest.mark.parametrize("body,charset", [
    (ARTICLE.encode("utf-16"), None),  # a byte order mark, no label
    (ARTICLE.encode("utf-16"), "iso-8859-1"),  # a byte order mark and a wrong label
    (ARTICLE.encode("utf-16-le"), "utf-16le"),  # labelled, no byte order mark
    (ARTICLE.encode("utf-16-be"), "UTF-16BE"),
    (ARTICLE.encode("utf-32"), None),
    (ARTICLE.encode("utf-8"), "utf-16"),  # UTF-8 mislabelled as UTF-16
])
def test_utf16_and_utf32_pages_read_and_their_zero_bytes_are_no_binary(body, charset):
    page = read(body, charset)
    assert page.title == "Häfen" and "Ein Text über Brücken und Häfen an der Küste." in page.text
    assert "Home | Ports" not in page.text


def test_binary_data_labelled_utf16_is_still_not_a_page():
    with pytest.raises(ReadFailed, match="not a page"):
        read(bytes(range(256)) * 40, "utf-16")


def test_a_page_with_more_elements_than_any_article_is_read_in_linear_time(monkeypatch):
    """trafilatura takes minutes on a 5 MB table; such a page is read by the index's linear rules."""
    import trafilatura

    def refuse(*_args, **_kwargs):
        raise AssertionError("trafilatura was given a page of more elements than MAX_ELEMENTS")

    rows = MAX_ELEMENTS // 50 + 1
    table = ("<html><head><title>Timetable</title></head><body><nav>Menu</nav><table>"
             + "<tr>" + "<td>ferry 12:00</td>" * 50 + "</tr>" * 1
             + ("<tr>" + "<td>x</td>" * 50 + "</tr>") * rows + "</table><footer>Imprint</footer></body></html>")
    monkeypatch.setattr(trafilatura, "extract", refuse)
    page = read(table.encode(), "utf-8")
    assert page.title == "Timetable" and "ferry 12:00" in page.text
    assert "Menu" not in page.text and "Imprint" not in page.text
    monkeypatch.undo()
    article = read(ARTICLE.encode(), "utf-8")  # an article still goes through trafilatura
    assert "Home | Ports" not in article.text
