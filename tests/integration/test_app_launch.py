"""``python app.py`` as people start it: what the terminal says at launch."""

from __future__ import annotations

from tests.ui_helpers import read_until, start_app_on_free_port


def test_launch_offers_the_apps_own_share_flag() -> None:
    """Gradio's hint names its Python API (``share=True`` in ``launch()``); people run a CLI."""
    lines: list[str] = []
    proc, port = start_app_on_free_port(lines)
    try:
        read_until(proc, "share", lines)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    out = "".join(lines)
    assert f"Running on local URL:  http://127.0.0.1:{port}" in out, out
    assert "start it with --share" in out and "share=True" not in out, out
