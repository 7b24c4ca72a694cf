"""A patient "is the local server up?" for Gradio's ``launch()``.

Before ``launch()`` returns, Gradio asks whether the page it just started answers
(``gradio.networking.url_ok``), and takes a server that does not as one behind a proxy: it
raises "When localhost is not accessible, a shareable link must be created". It gives the first
page a single 3-second try, and on a loaded machine (a busy 2-core box, a Space building beside
others) the server is up but that first page takes longer, so the app refused to start. The
same question here gets a minute; a server that really is unreachable still fails, later.
"""

from __future__ import annotations

import time

from gradio import networking

PATIENCE_S = 60.0
POLL_S = 0.5
_gradio_url_ok = networking.url_ok


def patient_url_ok(url: str) -> bool:
    """Gradio's own check, asked again until it says yes or ``PATIENCE_S`` have passed."""
    deadline = time.monotonic() + PATIENCE_S
    while not _gradio_url_ok(url):
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)  # polling a server that cannot tell us when it is ready
    return True


def install() -> None:
    """Make every later ``launch()`` in this process use ``patient_url_ok``."""
    networking.url_ok = patient_url_ok
