"""Chat backends a judge talks to: an OpenAI-compatible HTTP client (vLLM, Ollama, llama.cpp server,
hosted APIs) and the shared :class:`Completion` result with per-token log-probabilities.

A backend is anything with ``complete(messages, *, max_tokens, logprobs, top_logprobs) -> Completion``,
a ``model`` string, a ``concurrency`` int and ``close()``; see :class:`ChatBackend`.
"""
from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .errors import JudgeError, JudgeParseError

__all__ = ["ChatBackend", "Completion", "OpenAIChatClient", "RETRY_STATUS", "TokenLogprob",
           "completion_from_openai"]

#: HTTP statuses worth retrying (with exponential backoff).
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Environment variables read (in order) for the API key when none is given.
KEY_ENVS = ("ROUTEGUARD_JUDGE_API_KEY", "OPENAI_API_KEY")


@dataclass
class TokenLogprob:
    """One generated token, its log-probability, and the alternatives the server returned."""

    token: str
    logprob: float
    top: dict[str, float] = field(default_factory=dict)


@dataclass
class Completion:
    """One chat completion: the text, and per-token log-probabilities when the backend returned them."""

    text: str
    tokens: list[TokenLogprob] | None = None
    reasoning: str | None = None          # a reasoning model's separate reasoning field, if any
    finish_reason: str | None = None
    model: str = ""
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    attempts: int = 1


@runtime_checkable
class ChatBackend(Protocol):
    model: str
    concurrency: int

    def complete(self, messages: list[dict[str, Any]], *, max_tokens: int, logprobs: bool = True,
                 top_logprobs: int = 5) -> Completion: ...

    def close(self) -> None: ...


def completion_from_openai(data: Any, fmt: str = "chat") -> Completion:
    """Read an OpenAI chat-completions response body (a dict). Raises JudgeParseError if malformed."""
    try:
        choice = data["choices"][0]
        msg = choice["message"]
        text = msg.get("content")
    except (KeyError, IndexError, TypeError) as e:
        raise JudgeParseError(fmt, f"not a chat-completions response (missing {e})", str(data)[:200]) from None
    if text is None or not isinstance(text, str):
        raise JudgeParseError(fmt, "the answer has no text content", str(msg)[:200])
    reasoning = msg.get("reasoning_content") or msg.get("reasoning")
    tokens = None
    lp = choice.get("logprobs")
    if isinstance(lp, dict) and isinstance(lp.get("content"), list):
        tokens = []
        for t in lp["content"]:
            try:
                top = {str(a["token"]): float(a["logprob"]) for a in (t.get("top_logprobs") or [])}
                tokens.append(TokenLogprob(str(t["token"]), float(t["logprob"]), top))
            except (KeyError, TypeError, ValueError):
                tokens = None      # malformed logprobs: fall back to the parsed label
                break
    usage = data.get("usage") or {}
    return Completion(text=text, tokens=tokens or None, reasoning=reasoning if isinstance(reasoning, str) else None,
                      finish_reason=choice.get("finish_reason"), model=str(data.get("model") or ""),
                      prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0))


class OpenAIChatClient:
    """``POST {base_url}/chat/completions`` with retries, backoff and a concurrency limit.

    - ``base_url``: the API root, e.g. ``http://localhost:8000/v1`` (a missing ``/v1`` is added).
    - ``timeout``: seconds per attempt; ``retries``: extra attempts after a timeout, a transport error
      or HTTP 408/425/429/5xx, waiting ``backoff * 2**attempt`` seconds (+ jitter; ``Retry-After`` is
      honoured up to ``max_backoff``). Other 4xx fail at once.
    - ``concurrency``: at most this many requests in flight through this client, across threads.
    - Log-probabilities are requested by default; a server that rejects the ``logprobs`` field with
      HTTP 400 is asked again without it, and is remembered as not supporting them.
    - ``extra_body``: merged into every request (e.g. ``{"chat_template_kwargs": {...}}`` for vLLM).
    """

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout: float = 30.0,
                 retries: int = 2, backoff: float = 0.5, max_backoff: float = 30.0, concurrency: int = 8,
                 temperature: float = 0.0, extra_body: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, transport: Any = None):
        from ..errors import ConfigError

        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"judge base_url must start with http:// or https://, got {base_url!r}")
        if not model:
            raise ConfigError("judge model name is empty")
        if timeout <= 0 or retries < 0 or concurrency < 1 or backoff < 0:
            raise ConfigError(f"judge client needs timeout > 0, retries >= 0, backoff >= 0 and concurrency >= 1 "
                              f"(got timeout={timeout}, retries={retries}, backoff={backoff}, concurrency={concurrency})")
        base = base_url.rstrip("/")
        if not base.endswith("/v1") and "/v1/" not in base + "/":
            base += "/v1"
        self.base_url, self.model = base, model
        self.url = base + "/chat/completions"
        self.timeout, self.retries, self.backoff, self.max_backoff = timeout, retries, backoff, max_backoff
        self.concurrency, self.temperature = concurrency, temperature
        self.extra_body = dict(extra_body or {})
        key = api_key if api_key is not None else next((os.environ[k] for k in KEY_ENVS if os.environ.get(k)), None)
        self._headers = {**(headers or {}), **({"Authorization": f"Bearer {key}"} if key else {})}
        self._transport = transport
        self._client: Any = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(concurrency)
        self.logprobs_supported: bool | None = None     # learnt from the server

    def __repr__(self) -> str:
        return f"OpenAIChatClient({self.base_url!r}, model={self.model!r})"

    def _http(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    import httpx
                except ImportError as e:  # pragma: no cover - httpx is a dependency of the judge extra
                    raise JudgeError(f"the HTTP judge needs httpx: pip install 'routeguard[judge]' ({e})") from e
                self._client = httpx.Client(timeout=self.timeout, headers=self._headers, transport=self._transport,
                                            limits=httpx.Limits(max_connections=self.concurrency))
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        wait = self.backoff * (2 ** attempt) * (1.0 + 0.1 * random.random())
        if retry_after:
            try:
                wait = max(wait, float(retry_after))
            except ValueError:
                pass
        time.sleep(min(wait, self.max_backoff))

    def complete(self, messages: list[dict[str, Any]], *, max_tokens: int, logprobs: bool = True,
                 top_logprobs: int = 5) -> Completion:
        import httpx

        body: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                                "temperature": self.temperature, **self.extra_body}
        want_lp = logprobs and self.logprobs_supported is not False
        if want_lp:
            body.update(logprobs=True, top_logprobs=top_logprobs)
        client = self._http()
        last = "no attempt"
        t0 = time.perf_counter()
        attempt = 0
        with self._slots:
            while True:
                retry_after = None
                try:
                    resp = client.post(self.url, json=body)
                except httpx.TimeoutException as e:
                    last = f"timeout after {self.timeout:g} s ({type(e).__name__})"
                except httpx.HTTPError as e:
                    last = f"{type(e).__name__}: {e}"
                else:
                    if resp.status_code == 200:
                        try:
                            data = resp.json()
                        except ValueError:
                            raise JudgeParseError(self.model, "the server answered 200 with a body that is not JSON",
                                                  resp.text) from None
                        out = completion_from_openai(data, self.model)
                        if want_lp:
                            self.logprobs_supported = out.tokens is not None or self.logprobs_supported
                        out.latency_ms = (time.perf_counter() - t0) * 1000
                        out.attempts = attempt + 1
                        return out
                    text = resp.text[:300]
                    if resp.status_code == 400 and "logprob" in text.lower() and "logprobs" in body:
                        self.logprobs_supported = False            # ask again, without log-probabilities
                        body.pop("logprobs", None)
                        body.pop("top_logprobs", None)
                        want_lp = False
                        continue
                    last = f"HTTP {resp.status_code}: {text}"
                    if resp.status_code not in RETRY_STATUS:
                        raise JudgeError(f"judge {self.model} at {self.url}: {last}")
                    retry_after = resp.headers.get("Retry-After")
                if attempt >= self.retries:
                    raise JudgeError(f"judge {self.model} at {self.url} failed after {attempt + 1} attempt(s): {last}")
                self._sleep(attempt, retry_after)
                attempt += 1
