"""A data folder that really is read-only (a read-only tmpfs mount: we run as root, so a chmod
would not stop a write): ``python app.py`` still starts and answers, the history list says
history is off and why, and nothing is written into the folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.integration.test_ui_api import ask, text_of
from tests.ui_helpers import start_app_on_free_port


@pytest.fixture
def read_only_folder(tmp_path: Path):
    folder = tmp_path / "data"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here (needs root with CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        with pytest.raises(OSError):  # the same refusal the app meets, for real
            (folder / "probe").write_text("x")
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_data_folder_turns_history_off_and_the_app_still_answers(read_only_folder: Path):
    lines: list[str] = []
    proc, port = start_app_on_free_port(lines, DEEPSEARCH_DATA_DIR=str(read_only_folder))
    try:
        url = f"http://127.0.0.1:{port}/"
        config = httpx.get(f"{url}config", timeout=30).json()
        shown = [c.get("props", {}).get("value") for c in config["components"]]
        status = [v for v in shown if isinstance(v, str) and v.startswith("History is off")]
        assert status and "read-only" in status[0] and "DEEPSEARCH_DATA_DIR" in status[0]
        assert any("history is off" in line and "read-only" in line for line in lines)
        _, chat, meter, *_ = ask(Client(url, verbose=False), "How tall is the Eiffel Tower?").result(timeout=120)
        assert meter.startswith("searches") and "done" in meter
        assert any("330" in text_of(m) for m in chat)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert os.listdir(read_only_folder) == []  # nothing was written, not even the browser-state key
