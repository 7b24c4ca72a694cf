"""The Gradio UI: maps engine events to chat messages, plus a thin controller.

Nothing here decides what the engine should; ``agent/`` never imports this.
"""
