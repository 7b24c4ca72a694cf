"""Which hosts a page may be fetched from: the SSRF guard.

A page URL comes from a search result, the question or the model, so any of them can
point the fetcher at this machine or its network (a router's admin page, a cloud
metadata service at 169.254.169.254). Before connecting, the host is resolved and every
address it resolves to must be public; the fetcher then connects to the address that
was checked, so a second lookup (DNS rebinding) cannot swap it.

An address is written many ways: ``2130706433``, ``0x7f000001``, ``0177.0.0.1``,
``127.1`` and ``::ffff:127.0.0.1`` all mean 127.0.0.1. Literal forms are parsed here
the way ``inet_aton`` reads them, so they are refused without asking any resolver, and
IPv6 forms that carry an IPv4 address (mapped, compatible, 6to4, NAT64, Teredo) are
judged by that address.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Callable
from urllib.parse import unquote

from ..errors import SearchProblem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Cloud metadata services: refused even where private addresses are allowed (an intranet
# deployment needs its wiki, never the machine's credentials).
METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "100.100.100.200", "fd00:ec2::254"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# Special-purpose ranges that Python's ``is_global`` still calls global (IETF protocol
# assignments, the old 6to4 relay anycast, benchmarking).
_SPECIAL = tuple(ipaddress.ip_network(n) for n in ("192.0.0.0/24", "192.88.99.0/24", "198.18.0.0/15"))


class BlockedAddress(SearchProblem, ValueError):
    """The host is, or resolves to, an address pages are never fetched from."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver: /etc/hosts, then DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlockedAddress(f"the host {host!r} could not be resolved ({exc})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is written as one in any spelling, else None."""
    text = unquote(host).strip().strip("[]").rstrip(".")
    if "%" in text:  # an IPv6 zone (fe80::1%eth0): the address is what counts
        text = text.split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    return _inet_aton(text)


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """IPv4 as the C library reads it: 1-4 parts, each decimal, hex (0x) or octal (0);
    the last part fills the remaining bytes (``127.1`` = 127.0.0.1, ``2130706433``)."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    numbers: list[int] = []
    for part in parts:
        low = part.lower()
        try:
            if low.startswith("0x"):
                numbers.append(int(low[2:] or "0", 16))
            elif len(low) > 1 and low.startswith("0"):
                numbers.append(int(low[1:], 8))
            else:
                numbers.append(int(low, 10))
        except ValueError:
            return None
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    return ipaddress.IPv4Address(value * 256 ** (4 - len(head)) + last)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, NAT64, Teredo)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    value = int(ip)
    if value >> 32 == 0 and value > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(value)
    return None


def why_blocked(ip: IPAddress, *, allow_private: bool) -> str | None:
    """None when pages may be fetched from ``ip``, else what kind of address it is."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        reason = why_blocked(inner, allow_private=allow_private)
        return f"{reason}, written as {ip}" if reason else None
    if ip in METADATA:
        return f"cloud metadata address {ip}"
    if allow_private:
        return None
    for kind, flag in (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
                       ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                       ("reserved", ip.is_reserved), ("private", ip.is_private)):
        if flag:
            return f"{kind} address {ip}"
    # CGNAT 100.64/10 and the other special-purpose ranges
    if not ip.is_global or any(ip in net for net in _SPECIAL if net.version == ip.version):
        return f"non-public address {ip}"
    return None


def checked_address(host: str, port: int, *, allow_private: bool,
                    resolve: Resolver = system_resolver) -> IPAddress:
    """The address to connect to for ``host``; raises ``BlockedAddress`` when the host is, or
    resolves to, any address that is not allowed (one bad address of several is enough: a
    resolver may hand out either)."""
    literal = literal_address(host)
    addresses = [literal] if literal is not None else [ipaddress.ip_address(a.split("%", 1)[0])
                                                       for a in resolve(host, port)]
    if not addresses:
        raise BlockedAddress(f"the host {host!r} resolved to no address")
    for ip in addresses:
        reason = why_blocked(ip, allow_private=allow_private)
        if reason:
            return _refuse(host, ip, reason)
    return addresses[0]


def _refuse(host: str, ip: IPAddress, reason: str) -> IPAddress:
    shown = "" if str(ip) == host.strip("[]") else f" ({host!r})"
    raise BlockedAddress(f"blocked: {reason}{shown} is not on the public internet; "
                         "an intranet deployment allows it with --allow-private-fetch")
