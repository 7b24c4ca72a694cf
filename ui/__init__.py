"""The Gradio UI: maps engine events to chat messages, plus a thin controller.

Nothing here decides what the engine should; ``agent/`` never imports this.
"""

from ui.gradio_stubs import skip_stub_rewrite

skip_stub_rewrite()  # before any module here imports gradio: see ui/gradio_stubs.py
