"""Fetching a page over HTTP(S): streamed, capped, pinned to the address that was checked.

Every hop (the first request and each redirect, at most ``max_redirects``) resolves its
host once, refuses it unless every address is allowed (addresses.py), and connects to
that address with the original host name in ``Host`` and in TLS's SNI, so certificate
checks still name the host and no second lookup can rebind it. The body is read raw and
decompressed here, ``max_bytes`` at most, so a gzip bomb stops at the cap. A request runs
in a helper thread watched by the caller: Stop or the total deadline shuts its socket,
which wakes a blocked read at once.
"""

from __future__ import annotations

import functools
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from .addresses import BlockedAddress, Resolver, checked_address, system_resolver
from .errors import ReadCancelled, ReadFailed

USER_AGENT = "DeepSearchChat/1.0 (research assistant reading pages its searches found; +https://github.com/)"
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain", "text/markdown", "text/x-markdown",
                        "application/pdf"})
_POLL_S = 0.05
_CHUNK = 64 * 1024
_CONNECTED = ("connection.connect_tcp.complete",)


@dataclass(frozen=True, kw_only=True)
class FetchLimits:
    total_s: float = 15.0
    connect_s: float = 5.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    parallel: int = 8
    per_host: int = 4


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """A page's bytes (decompressed) as the server labelled them."""

    url: str  # after redirects
    content_type: str  # the media type, lower case, no parameters ("" when none was sent)
    charset: str | None
    body: bytes


class _Hop:
    """The sockets of one fetch, so the watcher can shut them."""

    def __init__(self) -> None:
        self.stopped = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def trace(self, name: str, info: dict[str, Any]) -> None:
        if name not in _CONNECTED or info.get("return_value") is None:
            return
        sock = info["return_value"].get_extra_info("socket")
        with self._lock:
            if sock is not None:
                self._sockets.append(sock)
            late = self.stopped
        if late:
            self.stop()

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context (certifi's CA bundle, as httpx makes it) for every fetcher: making one reads
    the whole bundle (~25 ms of CPU), which each session's reader would otherwise pay again.
    Connections only read a context, so sharing it across threads is safe."""
    return httpx.create_ssl_context(trust_env=False)


class HttpFetcher:
    """Pages from the web. Thread-safe; bounded overall (``parallel``) and per host."""

    def __init__(self, *, limits: FetchLimits = FetchLimits(), allow_private: bool = False,
                 resolve: Resolver = system_resolver, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.allow_private = allow_private
        self._resolve = resolve
        self._clock = clock
        self._slots = threading.BoundedSemaphore(limits.parallel)
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._client = httpx.Client(
            verify=_tls(), follow_redirects=False,
            trust_env=False,  # a proxy from the environment would undo the pinning
            timeout=httpx.Timeout(limits.total_s, connect=limits.connect_s),
            limits=httpx.Limits(max_connections=limits.parallel * 2, max_keepalive_connections=0))

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, *, cancel: threading.Event) -> Fetched:
        """The page at ``url``; raises ``ReadFailed`` (a sentence) or ``ReadCancelled``."""
        deadline = self._clock() + self.limits.total_s
        hop, ready = _Hop(), threading.Event()
        fetched: list[Fetched] = []
        failed: list[BaseException] = []

        def work() -> None:
            try:
                fetched.append(self._follow(url, hop=hop, deadline=deadline))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                failed.append(exc)
            ready.set()

        threading.Thread(target=work, name="page-fetch", daemon=True).start()
        while not ready.wait(_POLL_S):
            if cancel.is_set():
                hop.stop()
                raise ReadCancelled(url)
            if self._clock() > deadline:
                hop.stop()
                raise ReadFailed(f"timed out (no complete page within {self.limits.total_s:g} s)")
        if failed:
            raise failed[0]
        return fetched[0]

    def _follow(self, url: str, *, hop: _Hop, deadline: float) -> Fetched:
        for _ in range(self.limits.max_redirects + 1):
            outcome = self._one(url, hop=hop, deadline=deadline)
            if isinstance(outcome, Fetched):
                return outcome
            url = outcome
        raise ReadFailed(f"too many redirects (more than {self.limits.max_redirects})")

    def _one(self, url: str, *, hop: _Hop, deadline: float) -> Fetched | str:
        """One request: the page, or the next URL of a redirect."""
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
        if scheme not in ("http", "https") or not host:
            raise ReadFailed(f"not a web address ({scheme or 'no scheme'}: only http and https pages are read)")
        port = parts.port or (443 if scheme == "https" else 80)
        try:
            address = checked_address(host, port, allow_private=self.allow_private, resolve=self._resolve)
        except BlockedAddress as exc:
            raise ReadFailed(str(exc)) from None
        literal = f"[{address}]" if address.version == 6 else str(address)
        pinned = urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        request = self._client.build_request(
            "GET", pinned, headers={"Host": host_header, "User-Agent": USER_AGENT,
                                    "Accept": "text/html,application/xhtml+xml,text/plain,text/markdown,"
                                              "application/pdf;q=0.9,*/*;q=0.1",
                                    "Accept-Encoding": "gzip, deflate"},
            extensions={"sni_hostname": host, "trace": hop.trace})
        with self._slot(host, hop=hop):
            try:
                response = self._client.send(request, stream=True)
            except httpx.TimeoutException:
                raise ReadFailed("timed out (the server did not answer)") from None
            except httpx.HTTPError as exc:
                if hop.stopped:
                    raise ReadFailed("stopped") from None
                raise ReadFailed(f"could not connect ({type(exc).__name__})") from None
            try:
                return self._response(url, response, hop=hop, deadline=deadline)
            finally:
                response.close()

    def _response(self, url: str, response: httpx.Response, *, hop: _Hop, deadline: float) -> Fetched | str:
        if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("location"):
            return urljoin(url, response.headers["location"])
        if response.status_code >= 400 or response.status_code < 200:
            raise ReadFailed(f"HTTP {response.status_code}")
        media, charset = _content_type(response.headers.get("content-type", ""))
        if media and media not in PAGE_TYPES and media != "application/octet-stream":
            raise ReadFailed(f"not a page ({media})")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_bytes * 4:
            raise ReadFailed(f"too large ({int(declared):,} bytes; the limit is {self.limits.max_bytes:,})")
        body = self._body(response, hop=hop, deadline=deadline)
        return Fetched(url=url, content_type=media, charset=charset, body=body)

    def _body(self, response: httpx.Response, *, hop: _Hop, deadline: float) -> bytes:
        decoder = _decoder(response.headers.get("content-encoding", ""))
        cap = self.limits.max_bytes
        out = bytearray()
        try:
            for raw in response.iter_raw(_CHUNK):
                out += decoder(raw, cap + 1 - len(out))
                if len(out) > cap:
                    raise ReadFailed(f"too large (over {cap:,} bytes)")
                if self._clock() > deadline:
                    raise ReadFailed(f"timed out (no complete page within {self.limits.total_s:g} s)")
        except httpx.TimeoutException:
            raise ReadFailed("timed out (the server stopped sending)") from None
        except httpx.HTTPError as exc:
            raise ReadFailed("stopped" if hop.stopped else f"the connection broke ({type(exc).__name__})") from None
        except zlib.error:
            raise ReadFailed("the page's compression is broken") from None
        return bytes(out)

    def _slot(self, host: str, *, hop: _Hop) -> "_Slots":
        with self._lock:
            per_host = self._hosts.setdefault(host, threading.BoundedSemaphore(self.limits.per_host))
        return _Slots((self._slots, per_host), hop)


class _Slots:
    """Holds the overall and per-host slots for one request; gives up when the fetch stops."""

    def __init__(self, semaphores: tuple[threading.BoundedSemaphore, ...], hop: _Hop) -> None:
        self._semaphores, self._hop = semaphores, hop
        self._held: list[threading.BoundedSemaphore] = []

    def __enter__(self) -> None:
        for sem in self._semaphores:
            while not sem.acquire(timeout=_POLL_S):
                if self._hop.stopped:
                    self.__exit__()
                    raise ReadFailed("stopped")
            self._held.append(sem)

    def __exit__(self, *_exc: object) -> None:
        while self._held:
            self._held.pop().release()


def _content_type(header: str) -> tuple[str, str | None]:
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'").lower()
    return media.strip().lower(), charset


def _decoder(encoding: str) -> Callable[[bytes, int], bytes]:
    """Decompress one raw chunk, at most ``room`` bytes of output (the rest is never inflated)."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return lambda raw, room: raw[:room]
    if name not in ("gzip", "x-gzip", "deflate"):
        raise ReadFailed(f"not a page (content encoding {name!r})")
    inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected

    def decode(raw: bytes, room: int) -> bytes:
        return inflate.decompress(raw, max(room, 1))

    return decode
