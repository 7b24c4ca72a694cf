"""The share player: one self-contained HTML file that replays a conversation (``build``)."""

from .build import player_html

__all__ = ["player_html"]
