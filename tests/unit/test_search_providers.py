"""Tavily and DuckDuckGo providers against mocked HTTP; nothing here reaches the network.

Tavily is mocked at the ``requests`` transport with ``responses`` (the client
really builds and sends its request). ``ddgs`` talks through its own Rust
``primp`` client, so its tests replace ``DDGS.text`` or, one layer lower,
``ddgs.http_client.HttpClient.request``.
"""

from __future__ import annotations

import json
import traceback

import pytest
import requests
import responses
from ddgs.ddgs import DDGS  # the real class: `ddgs.DDGS` is a lazy-loading proxy
from ddgs import http_client as ddgs_http
from ddgs.exceptions import DDGSException, RatelimitException, TimeoutException

from agent.search import duckduckgo
from agent.search.base import SearchError
from agent.search.duckduckgo import DuckDuckGoProvider
from agent.search.tavily import TavilyProvider

TAVILY_URL = "https://api.tavily.com/search"
CANARY_KEY = "tvly-CANARY-0123456789abcdef"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch):
    """Every test runs with requests mocked and ddgs' HTTP client disarmed."""
    monkeypatch.delenv("TAVILY_API_KEY", raising=False)
    monkeypatch.delenv("TAVILY_HTTP_PROXY", raising=False)
    monkeypatch.delenv("TAVILY_HTTPS_PROXY", raising=False)

    def refuse(self, *args, **kwargs):
        raise AssertionError("ddgs tried to reach the network")

    monkeypatch.setattr(ddgs_http.HttpClient, "request", refuse)
    # A fresh pacer per test, so one test's last call never delays another.
    monkeypatch.setattr(duckduckgo, "_PACER", duckduckgo._Pacer())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def tavily(key: str | None = CANARY_KEY, content_chars: int = 50) -> TavilyProvider:
    return TavilyProvider(api_key=key, timeout_s=7, content_chars=content_chars)


def search_error(provider, query: str = "what is rust") -> SearchError:
    with pytest.raises(SearchError) as info:
        provider.search(query, max_results=5)
    return info.value


# --- Tavily -----------------------------------------------------------------

def test_tavily_success_is_normalised(no_network: responses.RequestsMock) -> None:
    no_network.post(TAVILY_URL, json={"results": [
        {"title": "  Rust \x00 language\x07 ", "url": "https://www.rust-lang.org/",
         "content": "Rust is a language " + "empowering everyone " * 20, "score": 0.9},
        {"title": "evil", "url": "javascript:alert(1)", "content": "x", "score": 0.8},
        {"title": "file", "url": "file:///etc/passwd", "content": "x", "score": 0.7},
        {"title": None, "url": "http://example.org/a", "content": "bin\x01\x02\ufffejunk\r\n\r\n\r\n\r\nend"},
    ]})

    results = tavily(content_chars=50).search("what is rust", max_results=3)

    assert [r.url for r in results] == ["https://www.rust-lang.org/", "http://example.org/a"]
    first, second = results
    assert first.title == "Rust language"
    assert len(first.content) <= 52 and first.content.endswith(" …")
    assert first.content.startswith("Rust is a language empowering")
    assert second.title == "(untitled)"
    assert second.content == "bin junk\n\nend"

    (call,) = no_network.calls
    assert call.request.headers["Authorization"] == f"Bearer {CANARY_KEY}"
    sent = json.loads(call.request.body)
    assert sent["query"] == "what is rust"
    assert sent["search_depth"] == "basic"
    assert sent["max_results"] == 3
    assert sent["include_answer"] is False


def test_tavily_empty_results(no_network: responses.RequestsMock) -> None:
    no_network.post(TAVILY_URL, json={"results": []})
    assert tavily().search("nothing", max_results=5) == []


def test_tavily_missing_results_key_is_empty(no_network: responses.RequestsMock) -> None:
    no_network.post(TAVILY_URL, json={"query": "q"})
    assert tavily().search("q", max_results=5) == []


@pytest.mark.parametrize("key", [None, "", "   "])
def test_tavily_missing_key_fails_without_network(
    no_network: responses.RequestsMock, key: str | None
) -> None:
    error = search_error(tavily(key=key))
    assert error.retryable is False
    assert error.provider == "tavily"
    assert "TAVILY_API_KEY" in str(error)
    assert "--provider duckduckgo" in str(error)
    assert len(no_network.calls) == 0


@pytest.mark.parametrize("status", [401, 403])
def test_tavily_bad_key_is_final_and_never_shows_the_key(
    no_network: responses.RequestsMock, status: int
) -> None:
    # The server echoing the key back is the worst case for leaking it.
    no_network.post(TAVILY_URL, status=status,
                    json={"detail": {"error": f"Unauthorized: invalid API key {CANARY_KEY}"}})

    error = search_error(tavily())

    assert error.retryable is False
    assert "rejected the API key" in str(error)
    shown = "".join(traceback.format_exception(error)) + repr(error) + repr(tavily())
    assert CANARY_KEY not in shown
    assert "CANARY" not in shown


def test_tavily_429_is_retryable(no_network: responses.RequestsMock) -> None:
    no_network.post(TAVILY_URL, status=429, json={"detail": {"error": "Too many requests"}})
    error = search_error(tavily())
    assert error.retryable is True
    assert "rate limited" in str(error)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_tavily_5xx_is_retryable(no_network: responses.RequestsMock, status: int) -> None:
    no_network.post(TAVILY_URL, status=status, body="<html>upstream broke</html>")
    error = search_error(tavily())
    assert error.retryable is True
    assert f"HTTP {status}" in str(error)


def test_tavily_other_4xx_is_final(no_network: responses.RequestsMock) -> None:
    no_network.post(TAVILY_URL, status=404, body="nope")
    error = search_error(tavily())
    assert error.retryable is False
    assert "HTTP 404" in str(error)


def test_tavily_bad_request_is_final_and_keeps_the_reason(no_network: responses.RequestsMock) -> None:
    no_network.post(TAVILY_URL, status=400, json={"detail": {"error": "Query is too long."}})
    error = search_error(tavily())
    assert error.retryable is False
    assert "Query is too long." in str(error)


@pytest.mark.parametrize("failure", [
    requests.exceptions.ReadTimeout("read timed out"),
    requests.exceptions.ConnectTimeout("connect timed out"),
])
def test_tavily_timeout_is_retryable(no_network: responses.RequestsMock, failure: Exception) -> None:
    no_network.post(TAVILY_URL, body=failure)
    error = search_error(tavily())
    assert error.retryable is True
    assert "did not answer within 7 s" in str(error)


def test_tavily_connection_error_is_retryable(no_network: responses.RequestsMock) -> None:
    no_network.post(TAVILY_URL, body=requests.exceptions.ConnectionError("refused"))
    error = search_error(tavily())
    assert error.retryable is True
    assert "Could not reach Tavily" in str(error)


def test_tavily_unreadable_body_is_a_search_error(no_network: responses.RequestsMock) -> None:
    no_network.post(TAVILY_URL, status=200, body=b"\x00\xff not json")
    assert isinstance(search_error(tavily()), SearchError)


def test_tavily_timeout_is_capped_at_the_api_maximum(no_network: responses.RequestsMock) -> None:
    no_network.post(TAVILY_URL, json={"results": []})
    TavilyProvider(api_key=CANARY_KEY, timeout_s=500, content_chars=10).search("q", max_results=5)
    assert no_network.calls[0].request.req_kwargs["timeout"] == 120


# --- DuckDuckGo -------------------------------------------------------------

def ddg(**overrides) -> DuckDuckGoProvider:
    options = dict(timeout_s=4, content_chars=40, min_interval_s=0.0)
    options.update(overrides)
    return DuckDuckGoProvider(**options)


def fake_text(monkeypatch: pytest.MonkeyPatch, outcome, seen: list | None = None) -> None:
    def text(self, query, **kwargs):
        if seen is not None:
            seen.append((self._timeout, query, kwargs))
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    monkeypatch.setattr(DDGS, "text", text)


def test_ddg_success_maps_href_and_body(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list = []
    fake_text(monkeypatch, [
        {"title": "Rust\x1b[31m", "href": "https://www.rust-lang.org/", "body": "A language " * 10},
        {"title": "bad", "href": "javascript:void(0)", "body": "x"},
        {"title": "Docs", "href": "https://doc.rust-lang.org/", "body": "The book"},
    ], seen)

    results = ddg().search("rust", max_results=5)

    assert [(r.title, r.url) for r in results] == [
        ("Rust [31m", "https://www.rust-lang.org/"), ("Docs", "https://doc.rust-lang.org/"),
    ]
    assert len(results[0].content) <= 42 and results[0].content.endswith(" …")
    assert results[1].content == "The book"
    assert seen == [(4.0, "rust", {"max_results": 5, "backend": "auto"})]


def test_ddg_ratelimit_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_text(monkeypatch, RatelimitException("202 Ratelimit"))
    error = search_error(ddg())
    assert error.retryable is True
    assert error.provider == "duckduckgo"
    assert "rate limited" in str(error)


def test_ddg_timeout_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_text(monkeypatch, TimeoutException("timed out"))
    assert search_error(ddg()).retryable is True


def test_ddg_timeout_through_the_real_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every engine's HTTP call times out; ddgs itself must surface TimeoutException."""
    def timed_out(self, *args, **kwargs):
        raise TimeoutException("Request timed out")

    monkeypatch.setattr(ddgs_http.HttpClient, "request", timed_out)
    error = search_error(ddg(timeout_s=1))
    assert error.retryable is True
    assert "did not answer" in str(error)


def test_ddg_no_results_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_text(monkeypatch, DDGSException("No results found."))
    assert ddg().search("zzqxv nothing", max_results=5) == []


def test_ddg_empty_list_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_text(monkeypatch, [])
    assert ddg().search("q", max_results=5) == []


def test_ddg_other_failures_are_clean_search_errors(monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    fake_text(monkeypatch, DDGSException("ConnectError: secret-ish /internal/path"))
    error = search_error(ddg())
    assert error.retryable is False
    assert "/internal/path" not in str(error)

    fake_text(monkeypatch, ValueError("Traceback: something odd"))
    error = search_error(ddg())
    assert "Traceback" not in str(error)
    assert "unexpectedly" in str(error)
    # A bug of ours (or the library's) is never silent: the server log has the traceback.
    [record] = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
    assert record.levelname == "WARNING" and record.exc_info is not None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self.call_times: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_ddg_calls_are_spaced_by_min_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()

    def text(self, query, **kwargs):
        clock.call_times.append(clock.now)
        clock.now += 0.25  # the request itself takes a while
        return [{"title": "t", "href": "https://example.com/", "body": "b"}]

    monkeypatch.setattr(DDGS, "text", text)
    provider = ddg(min_interval_s=1.5, clock=clock, sleep=clock.sleep)

    provider.search("one", max_results=1)
    provider.search("two", max_results=1)

    assert clock.sleeps == [pytest.approx(1.25)]
    assert clock.call_times[1] - clock.call_times[0] >= 1.5

    # Pacing is process-wide: a second provider object waits its turn too.
    other = ddg(min_interval_s=1.5, clock=clock, sleep=clock.sleep)
    clock.now += 2.0  # already long enough since the last call: no sleep
    other.search("three", max_results=1)
    other.search("four", max_results=1)
    assert clock.sleeps == [pytest.approx(1.25), pytest.approx(1.25)]
    gaps = [b - a for a, b in zip(clock.call_times, clock.call_times[1:])]
    assert all(gap >= 1.5 for gap in gaps)


def test_ddg_empty_query_is_refused_without_a_call(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list = []
    fake_text(monkeypatch, [], seen)
    assert search_error(ddg(), query="   ").retryable is False
    assert seen == []
