"""Credentials in the server URL are secrets everywhere (issue 11.6), and every numeric
setting is a finite number (issue 11.16)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from agent.backends.base import BackendError
from agent.backends.openai.backend import OpenAIBackend
from agent.config import Settings, SettingsError, display_url, redact, settings_from_env
from tests.ui_helpers import serve
from ui.app_ui import settings_info

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cr3t-Passw0rd"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEEPSEARCH_", "OPENAI_", "TAVILY_"))}
    env |= {"PYTHON_DOTENV_DISABLED": "1", "PYTHONPATH": str(ROOT), **extra}
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=ROOT)


# ---------------------------------------------------------------- credentials in URLs

@pytest.mark.parametrize("url,shown", [
    ("http://alice:pw@host:8000/v1", "http://host:8000/v1"),
    ("https://tok@host/v1", "https://host/v1"),
    ("http://u:p@ss@host/v1", "http://host/v1"),  # a raw "@" in the password
    ("http://host:8000/v1", "http://host:8000/v1"),
    ("see http://a:b@x/ and HTTPS://c:d@y/z", "see http://x/ and HTTPS://y/z"),
])
def test_display_url_hides_credentials(url: str, shown: str) -> None:
    assert display_url(url) == shown
    assert redact(url, ()) == shown


def test_url_credentials_are_secrets_even_when_decoded() -> None:
    s = Settings(backend="openai", base_url=f"http://alice:{PASSWORD.replace('P', '%50')}@h/v1")
    assert PASSWORD in s.secrets
    assert redact(f"server said: bad password {PASSWORD}", s.secrets) == "server said: bad password [redacted]"
    assert PASSWORD not in json.dumps(s.public()) and "%50" not in json.dumps(s.public())


def test_backend_errors_never_show_the_urls_credentials() -> None:
    url = f"http://alice:{PASSWORD}@127.0.0.1:{closed_port()}/v1"
    backend = OpenAIBackend(settings=Settings(backend="openai", base_url=url, openai_max_retries=0))
    with pytest.raises(BackendError) as info:
        list(backend.start([{"role": "user", "content": "q"}], []).generate(cancel=__import__("threading").Event()))
    assert "cannot reach the model server at http://127.0.0.1:" in str(info.value)
    assert PASSWORD not in str(info.value) and "alice" not in str(info.value)
    with pytest.raises(ValueError) as bad:
        OpenAIBackend(settings=Settings(backend="openai", base_url=f"ftp://alice:{PASSWORD}@h/v1"))
    assert PASSWORD not in str(bad.value)


@pytest.mark.parametrize("password", [PASSWORD, "pw"], ids=["long", "short"])
def test_cli_error_trace_and_reports_never_hold_the_password(tmp_path: Path, password: str) -> None:
    url = f"http://alice:{password}@127.0.0.1:{closed_port()}/v1"
    trace = tmp_path / "run.jsonl"
    p = cli("q", "--json", "--backend", "openai", "--base-url", url, "--trace", str(trace),
            DEEPSEARCH_OPENAI_RETRIES="0")
    assert p.returncode == 1
    error = json.loads(p.stdout.splitlines()[-1])
    assert error["type"] == "error" and "http://127.0.0.1:" in error["message"]
    for fmt in ("html", "md"):
        out = tmp_path / f"report.{fmt}"
        assert cli("--export", str(trace), "--format", fmt, "-o", str(out)).returncode == 0
        texts = [p.stdout, p.stderr, trace.read_text(), out.read_text()]
        assert not [t for t in texts if f"alice:{password}" in t or (len(password) > 2 and password in t)]


def test_ui_settings_panel_and_config_never_show_the_password() -> None:
    settings = Settings(backend="openai", base_url=f"http://alice:{PASSWORD}@127.0.0.1:9/v1",
                        model="m", provider="duckduckgo")
    demo, url = serve(settings)
    try:
        info = settings_info(demo.runtime)
        assert "http://127\\.0\\.0\\.1:9/v1" in info and PASSWORD not in info
        config = requests.get(url + "config", timeout=30).text
        page = requests.get(url, timeout=30).text
        assert "127\\\\.0\\\\.0\\\\.1:9/v1" in config and PASSWORD not in config and PASSWORD not in page
        assert "alice" not in config
    finally:
        demo.close()


# ---------------------------------------------------------------- non-finite numbers

@pytest.mark.parametrize("var", ["DEEPSEARCH_OPENAI_TIMEOUT", "DEEPSEARCH_SEARCH_TIMEOUT", "DEEPSEARCH_TEMPERATURE",
                                 "DEEPSEARCH_TOP_P", "DEEPSEARCH_SCRIPT_DELAY"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "1e999"])
def test_non_finite_env_numbers_are_refused_naming_the_variable(var: str, value: str) -> None:
    with pytest.raises(SettingsError, match=var):
        settings_from_env({var: value})


@pytest.mark.parametrize("name,value", [("openai_timeout_s", float("inf")), ("search_timeout_s", float("nan")),
                                        ("script_delay_s", -1.0), ("search_retry_backoff_s", float("inf")),
                                        ("ddg_min_interval_s", float("nan")), ("openai_timeout_s", 1e12),
                                        ("max_new_tokens", 2.5), ("temperature", float("nan"))])
def test_non_finite_or_odd_fields_are_refused(name: str, value: float) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings(**{name: value})


def test_cli_refuses_a_nan_timeout_at_start_with_exit_2() -> None:
    p = cli("q", "--model-script", "tests/data/eiffel.script.json", DEEPSEARCH_SEARCH_TIMEOUT="nan")
    assert p.returncode == 2 and "DEEPSEARCH_SEARCH_TIMEOUT" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.parametrize("speed", ["nan", "inf"])
def test_replay_speed_must_be_finite(speed: str, tmp_path: Path, capsys) -> None:
    trace = tmp_path / "t.jsonl"
    assert cli("How tall is the Eiffel Tower?", "--model-script", "tests/data/eiffel.script.json",
               "--search-fixture", "tests/data/eiffel.search.json", "--trace", str(trace)).returncode == 0
    p = cli("--replay", str(trace), "--speed", speed)
    assert p.returncode == 2 and "--speed" in p.stderr
    import app
    assert app.main(["--replay", str(trace), "--replay-speed", speed]) == 2
    assert "--replay-speed" in capsys.readouterr().err


def test_the_http_clients_request_log_never_holds_the_password() -> None:
    import logging
    import threading

    from agent.config import install_log_redaction
    from tests.integration.test_openai_backend import FakeServer

    server = FakeServer()
    root = logging.getLogger()
    handler = logging.StreamHandler(__import__("io").StringIO())
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)  # as app.py runs: the HTTP client logs each request at INFO
    try:
        install_log_redaction(())
        url = server.url.replace("http://", f"http://alice:{PASSWORD}@")
        backend = OpenAIBackend(settings=Settings(backend="openai", base_url=url, model="Qwen/QwQ-32B-AWQ"))
        list(backend.start([{"role": "user", "content": "q"}], []).generate(cancel=threading.Event()))
        logged = handler.stream.getvalue()
        assert "POST http://127.0.0.1:" in logged and PASSWORD not in logged and "alice" not in logged
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        server.close()


def test_the_app_installs_the_log_redaction() -> None:
    import logging

    from agent.config import RedactingFilter

    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        built, url = serve(Settings(backend="openai", base_url=f"http://alice:{PASSWORD}@127.0.0.1:9/v1",
                                    model="m", provider="duckduckgo"))
        built.close()
        filters = [f for f in handler.filters if isinstance(f, RedactingFilter)]
        assert len(filters) == 1 and PASSWORD in filters[0].secrets
    finally:
        logging.getLogger().removeHandler(handler)
