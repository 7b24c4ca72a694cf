"""The judge's one connection: a prompt to an OpenAI-compatible chat server, its reply's text.

Both judges use it: the eval's answer grader (``agent/eval/judge.py``) and the claims judge
(``agent/claims/judge.py``), so ``--judge-base-url``, ``--judge-model`` and
``$DEEPSEARCH_JUDGE_API_KEY`` mean the same server for both. A reasoning judge may think
first: only the text after its last ``</think>`` is returned. Any failure (connection,
timeout, HTTP error, an empty reply) is a ``JudgeError`` whose message carries no secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import redact
from .errors import DeepSearchError

if TYPE_CHECKING:
    import openai


class JudgeError(DeepSearchError, RuntimeError):
    """The judge could not answer; the message says why."""


class OpenAIJudge:
    def __init__(self, *, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 60.0,
                 client: openai.OpenAI | None = None) -> None:
        # openai is imported when a judge is made, not with this module: every CLI run and eval
        # imports this module (agent.session -> claims), and openai's import was ~0.4 s of CPU
        # at each start, judge or not.
        import openai

        self.model = model
        self._secrets = (api_key,)
        self.schemas = True  # False once the server refused a JSON schema: plain requests from then on
        self._client = client or openai.OpenAI(base_url=base_url, api_key=api_key or "EMPTY",
                                               timeout=timeout_s, max_retries=2)

    def complete(self, prompt: str, *, schema: dict[str, Any] | None = None) -> str:
        """The judge's reply to one user message (temperature 0), after any thinking.

        ``schema``: the JSON schema the reply must follow, asked as ``response_format``
        ``json_schema`` (OpenAI, vLLM, llama.cpp's servers constrain their decoding to it, so even
        a small model's reply parses). A server that refuses the field (HTTP 400 or 422) is asked
        again without it, and never again with one; one that ignores it just replies."""
        import openai  # already imported by __init__: only the name

        messages: Any = [{"role": "user", "content": prompt}]
        try:
            if schema is not None and self.schemas:
                try:
                    strict: Any = {"name": "verdicts", "strict": True, "schema": schema}
                    reply = self._client.chat.completions.create(
                        model=self.model, messages=messages, temperature=0.0,
                        response_format={"type": "json_schema", "json_schema": strict})
                    return self._reply_text(reply).rsplit("</think>", 1)[-1]
                except (openai.BadRequestError, openai.UnprocessableEntityError):
                    self.schemas = False
            reply = self._client.chat.completions.create(model=self.model, messages=messages, temperature=0.0)
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a body that is not JSON
            raise JudgeError(redact(f"the judge at {str(self._client.base_url)!r} failed: {exc}",
                                    self._secrets)) from None
        return self._reply_text(reply).rsplit("</think>", 1)[-1]

    def _reply_text(self, reply: object) -> str:
        """The reply's message text; a reply of any other shape (``message: null``, ``choices``
        as a string) is a judge error, never a crash of the run or the eval."""
        try:
            choices = getattr(reply, "choices", None)
            content = choices[0].message.content if isinstance(choices, list) and choices else None
        except (AttributeError, TypeError, IndexError, KeyError) as exc:
            content, problem = None, f"{type(exc).__name__}: {exc}"
        else:
            problem = "no message text"
        if not isinstance(content, str):
            raise JudgeError(redact(f"the judge at {str(self._client.base_url)!r} sent a reply this client "
                                    f"cannot read ({problem}): {str(reply)[:200]!r}", self._secrets))
        return content
