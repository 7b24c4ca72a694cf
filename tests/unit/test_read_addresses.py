"""The SSRF guard: every spelling of a private address is refused before any connection."""

from __future__ import annotations

import ipaddress
import threading

import httpx
import pytest
import respx

from agent.read import BlockedAddress, HttpFetcher, ReadFailed, checked_address, literal_address

PRIVATE_SPELLINGS = [
    "127.0.0.1", "2130706433", "0x7f000001", "0x7F.0.0.1", "0177.0.0.1", "017700000001", "127.1", "0x7f.1",
    "127.000.000.001", "127.0.0.1.", "%31%32%37.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
    "[::127.0.0.1]", "[64:ff9b::127.0.0.1]", "[2002:7f00:1::]", "0", "0.0.0.0", "[::]", "10.0.0.1",
    "0xa000001", "172.16.5.4", "192.168.1.1", "3232235777", "169.254.169.254", "0xa9fea9fe", "2852039166",
    "[::ffff:169.254.169.254]", "100.64.0.1", "100.127.255.254", "224.0.0.1", "239.255.255.250",
    "[ff02::1]", "240.0.0.1", "255.255.255.255", "[fe80::1]", "[fc00::1]", "[fd12:3456::1]", "198.18.0.1",
    "192.0.0.8", "[::ffff:10.0.0.1]", "[::ffff:a00:1]",
]


@pytest.mark.parametrize("host", PRIVATE_SPELLINGS)
def test_every_spelling_of_a_private_address_is_refused_without_a_lookup(host):
    def resolver(name, port):
        raise AssertionError(f"a literal address {name!r} was sent to the resolver")

    with pytest.raises(BlockedAddress, match="blocked"):
        checked_address(host, 80, allow_private=False, resolve=resolver)


@pytest.mark.parametrize("host,expected", [("2130706433", "127.0.0.1"), ("0x7f.1", "127.0.0.1"),
                                           ("0177.0.0.01", "127.0.0.1"), ("10.1", "10.0.0.1"),
                                           ("[::ffff:7f00:1]", "::ffff:7f00:1"), ("example.org", None),
                                           ("1.2.3.4.5", None), ("0x1g", None), ("256.1.1.1", None)])
def test_literal_forms_parse_as_the_c_library_reads_them(host, expected):
    found = literal_address(host)
    assert (str(found) if found else None) == expected


def test_a_name_is_refused_when_any_address_it_resolves_to_is_private():
    calls = []

    def resolver(name, port):
        calls.append(name)
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(BlockedAddress, match="private address 10.0.0.7"):
        checked_address("rebind.example", 443, allow_private=False, resolve=resolver)
    assert calls == ["rebind.example"]


def test_localhost_resolves_and_is_refused():
    with pytest.raises(BlockedAddress, match="loopback"):
        checked_address("localhost", 80, allow_private=False)


def test_public_addresses_pass_and_the_setting_allows_an_intranet_but_never_metadata():
    assert checked_address("93.184.216.34", 80, allow_private=False) == ipaddress.ip_address("93.184.216.34")
    assert str(checked_address("10.0.0.1", 80, allow_private=True)) == "10.0.0.1"
    assert str(checked_address("wiki.corp", 80, allow_private=True, resolve=lambda h, p: ["192.168.3.4"])) \
        == "192.168.3.4"
    for metadata in ("169.254.169.254", "2852039166", "[::ffff:169.254.169.254]", "100.100.100.200"):
        with pytest.raises(BlockedAddress, match="metadata"):
            checked_address(metadata, 80, allow_private=True)


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.1:8080/admin", "http://[::ffff:127.0.0.1]/",
                                 "https://169.254.169.254/latest/meta-data/", "http://localhost/",
                                 "http://10.0.0.1/x", "ftp://example.org/file", "file:///etc/passwd",
                                 "gopher://example.org/"])
def test_the_fetcher_refuses_before_any_connection(url):
    with respx.mock(assert_all_called=False) as mock:
        route = mock.route().respond(200, text="secret")
        with pytest.raises(ReadFailed) as raised:
            HttpFetcher().fetch(url, cancel=threading.Event())
    assert not route.called
    assert "blocked" in str(raised.value) or "only http and https" in str(raised.value)


def _public(name, port):
    return {"news.example": ["93.184.216.34"], "evil.example": ["93.184.216.35"],
            "inside.example": ["192.168.0.10"]}[name]


@pytest.mark.parametrize("target", ["http://127.0.0.1/admin", "http://169.254.169.254/latest/meta-data/",
                                    "http://2130706433/", "http://inside.example/", "http://[::1]:8000/"])
def test_a_redirect_to_a_private_address_is_refused_at_that_hop(target):
    with respx.mock(assert_all_called=False) as mock:
        first = mock.get("http://93.184.216.34:80/story").respond(302, headers={"Location": target})
        private = mock.route(host__regex=r"^(?!93\.184).*").respond(200, text="secret")
        with pytest.raises(ReadFailed, match="blocked"):
            HttpFetcher(resolve=_public).fetch("http://news.example/story", cancel=threading.Event())
    assert first.called and not private.called


def test_connects_to_the_checked_address_with_the_host_name_and_an_honest_user_agent():
    looked_up = []

    def resolver(name, port):
        looked_up.append(name)
        return ["93.184.216.34"]

    with respx.mock() as mock:
        route = mock.get("http://93.184.216.34:80/a").respond(
            200, headers={"Content-Type": "text/html; charset=utf-8"}, text="<p>hi</p>")
        page = HttpFetcher(resolve=resolver).fetch("http://news.example/a", cancel=threading.Event())
    request = route.calls.last.request
    assert request.headers["host"] == "news.example"
    assert "DeepSearchChat" in request.headers["user-agent"]
    assert looked_up == ["news.example"]  # one lookup: nothing can rebind between check and connect
    assert page.body == b"<p>hi</p>" and page.content_type == "text/html" and page.charset == "utf-8"


def test_more_than_five_redirects_stop():
    with respx.mock(assert_all_called=False) as mock:
        hops = [mock.get(f"http://93.184.216.34:80/{i}").respond(301, headers={"Location": f"/{i + 1}"})
                for i in range(7)]
        with pytest.raises(ReadFailed, match="too many redirects"):
            HttpFetcher(resolve=_public).fetch("http://news.example/0", cancel=threading.Event())
    assert [h.called for h in hops] == [True] * 6 + [False]  # the first request and five redirects


@pytest.mark.parametrize("status,content_type,expected", [
    (403, "text/html", "HTTP 403"), (404, "text/html", "HTTP 404"), (500, "text/html", "HTTP 500"),
    (200, "application/zip", r"not a page \(application/zip\)"), (200, "image/png", "not a page"),
])
def test_http_errors_and_non_pages_say_why(status, content_type, expected):
    with respx.mock() as mock:
        mock.get("http://93.184.216.34:80/p").respond(status, headers={"Content-Type": content_type},
                                                      content=b"PK\x03\x04")
        with pytest.raises(ReadFailed, match=expected):
            HttpFetcher(resolve=_public).fetch("http://news.example/p", cancel=threading.Event())


def test_a_connection_failure_is_a_sentence():
    with respx.mock() as mock:
        mock.get("http://93.184.216.34:80/p").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(ReadFailed, match="could not connect"):
            HttpFetcher(resolve=_public).fetch("http://news.example/p", cancel=threading.Event())
