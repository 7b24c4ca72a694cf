"""Source numbering, URL normalisation, result cleaning, the fixture provider."""

import json

import pytest

from agent.search.base import SearchResult, clean_text
from agent.search.fixture import FixtureError, FixtureProvider
from agent.text.safe_url import is_http_url
from agent.search.sources import SourceRegistry, normalise_url


def r(url, title="t"):
    return SearchResult(title=title, url=url, content="c")


def test_registry_numbers_from_one_and_dedupes_normalised_urls():
    reg = SourceRegistry()
    a = reg.register(r("https://www.Example.com/page/?utm_source=x#top"))
    b = reg.register(r("https://other.org/"))
    c = reg.register(r("http://example.com/page"))
    assert (a.id, b.id, c.id) == (1, 2, 1)
    assert [s.id for s in reg.all()] == [1, 2]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "", "https://"])
def test_non_http_urls_get_no_number(url):
    assert SourceRegistry().register(r(url)) is None and not is_http_url(url)


def test_normalise_keeps_meaningful_query():
    assert normalise_url("https://a.com/x?b=2&a=1&utm_medium=m") == "https://a.com/x?a=1&b=2"


def test_clean_text_handles_binary_junk_and_trims():
    junk = b"ok \xff\xfe\x00\x01 bytes" + b"word " * 400
    text = clean_text(junk, limit=100)
    assert text.startswith("ok") and "\x00" not in text and len(text) <= 102 and text.endswith("…")


def test_fixture_provider_errors_and_unknown_queries(tmp_path):
    f = tmp_path / "f.json"
    f.write_text(json.dumps({"Known Query": [{"title": "T", "url": "https://a.com", "content": "c" * 50}],
                             "down": {"error": "outage"}}))
    p = FixtureProvider.from_file(f, content_chars=10)
    assert p.search("known   query", max_results=5)[0].content.startswith("cccccccccc")
    assert p.search("unknown", max_results=5) == []
    with pytest.raises(Exception, match="outage"):
        p.search("down", max_results=5)


def test_fixture_file_problems_name_the_file(tmp_path):
    with pytest.raises(FixtureError, match="does not exist"):
        FixtureProvider.from_file(tmp_path / "nope.json", content_chars=10)
    bad = tmp_path / "bad.json"
    bad.write_text("[1,2]")
    with pytest.raises(FixtureError, match="must be a JSON object"):
        FixtureProvider.from_file(bad, content_chars=10)
