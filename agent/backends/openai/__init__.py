"""An OpenAI-compatible model server as the backend: the scale-out path."""
