"""Secrets kept out of everything shown or written: secret values and a URL's credentials
replaced in text (an error page echoing a key, ``http://user:pw@host``), in log records, and
lone surrogates, which no output stream can encode. ``agent.config`` re-exports every name."""

from __future__ import annotations

import logging
import re
from typing import Iterable
from urllib.parse import unquote

REDACTED = "[redacted]"
# Shorter values would redact ordinary words (a URL's credentials go anyway, see ``redact``).
MIN_SECRET_CHARS = 6
# ``scheme://userinfo@``: credentials in a URL (greedy to the last "@" before the path, since
# a password may hold a raw "@"). They are secrets wherever the URL is shown.
_SURROGATE = re.compile("[\ud800-\udfff]")
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/?#\s]*)@")


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` made safe to show: every secret value replaced (an error page echoing a key),
    the credentials of every URL in it dropped (``http://user:pw@host`` -> ``http://host``),
    and lone surrogates replaced (a provider's or a file's ``"\\ud800"``), which no output
    stream can encode."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_CHARS:
            text = text.replace(secret, REDACTED)
    return encodable(display_url(text))


def encodable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, so it can be written as UTF-8."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


class RedactingFilter(logging.Filter):
    """Log records made safe like every other output: the HTTP client logs each request's
    URL at INFO, credentials included, and a server may echo a key into a logged error."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def install_log_redaction(secrets: Iterable[str | None]) -> None:
    """Put a ``RedactingFilter`` with ``secrets`` on every handler of the root logger (handler
    filters see the records of every logger that propagates there); replaces an earlier one."""
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(RedactingFilter(secrets))


def display_url(url: str) -> str:
    """``url`` (or any text) without the credentials of each URL in it: ``http://host/v1``."""
    return _URL_USERINFO.sub(lambda m: m.group(1), url)


def url_credentials(url: str) -> list[str]:
    """The secrets in a URL's userinfo: ``user:password``, the password, as written and decoded."""
    found: list[str] = []
    for m in _URL_USERINFO.finditer(url):
        userinfo = m.group(2)
        password = userinfo.split(":", 1)[1] if ":" in userinfo else ""
        for value in (userinfo, password):
            found += [value, unquote(value)]
    return [v for v in dict.fromkeys(found) if v]
