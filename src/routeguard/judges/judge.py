"""A :class:`Judge`: one chat backend + one guard output format -> typed :class:`Judgement`\\ s."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, Sequence

from pydantic import BaseModel, Field

from ..taxonomy import CATEGORIES
from ..types import Conversation, GuardInput, to_conversation
from .client import ChatBackend, Completion, OpenAIChatClient
from .errors import JudgeError
from .formats import JudgeFormat, Parsed, Request, check_length, get_format, judged_parts, label_probability

__all__ = ["Judge", "Judgement"]


class Judgement(BaseModel):
    """What a judge said about one conversation.

    ``score`` is P(unsafe): from the log-probability of the decisive label token when the backend
    returned it (``score_source="logprobs"``), else 1.0/0.0 from the parsed label (``"label"``).
    ``categories`` are our taxonomy ids (mapped from the judge's own, ``native_categories``);
    ``category_scores`` gives each of them the judge's P(unsafe) (for per-policy formats: the score
    of the policy that named it). ``rationale`` is the model's own reasoning, where it gives one.
    """

    judge: str
    format: str
    model: str
    unsafe: bool
    score: float = Field(ge=0.0, le=1.0)
    score_source: Literal["logprobs", "label"]
    categories: list[str] = Field(default_factory=list)
    category_scores: dict[str, float] = Field(default_factory=dict)
    native_label: str = ""
    native_categories: list[str] = Field(default_factory=list)
    policy_scores: dict[str, float] = Field(default_factory=dict)
    rationale: str | None = None
    evidence: str | None = None
    refusal: bool | None = None
    latency_ms: float = 0.0
    calls: int = 1
    prompt_tokens: int = 0
    completion_tokens: int = 0
    raw: list[str] = Field(default_factory=list)


class Judge:
    """An LLM judge: a chat backend (HTTP or local GGUF) speaking one guard format.

    - ``judge(x)``: one conversation -> :class:`Judgement`; raises :class:`JudgeError` (transport,
      timeout, HTTP) or :class:`JudgeParseError` (unparseable answer). Never returns "safe" on failure.
    - ``judge_many(xs)``: many, ``backend.concurrency`` requests in flight; a failure is returned in
      its slot as the exception.
    - ``max_input_chars``: a longer prompt is an error (JudgeInputError), not silently truncated.
    - Judgements are cached (LRU, ``cache_size``) by conversation, so a critique can show the
      rationale of the judgement the verdict used without asking again.
    """

    def __init__(self, backend: ChatBackend, fmt: str | JudgeFormat, *, name: str | None = None,
                 logprobs: bool = True, top_logprobs: int = 5, max_tokens: int | None = None,
                 max_input_chars: int = 32_000, cache_size: int = 256, **format_options: Any):
        self.backend = backend
        self.format = get_format(fmt, **format_options)
        self.name = name or f"{self.format.name}:{getattr(backend, 'model', 'model')}"
        self.logprobs, self.top_logprobs = logprobs, top_logprobs
        self.max_tokens = max_tokens or self.format.max_tokens
        self.max_input_chars = max_input_chars
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Judgement] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def openai(cls, fmt: str | JudgeFormat, base_url: str, model: str, *, api_key: str | None = None,
               timeout: float = 30.0, retries: int = 2, backoff: float = 0.5, concurrency: int = 8,
               extra_body: dict[str, Any] | None = None, name: str | None = None, **kw: Any) -> "Judge":
        """A judge behind an OpenAI-compatible chat-completions server."""
        client = OpenAIChatClient(base_url, model, api_key=api_key, timeout=timeout, retries=retries,
                                  backoff=backoff, concurrency=concurrency, extra_body=extra_body)
        return cls(client, fmt, name=name, **kw)

    def __repr__(self) -> str:
        return f"Judge({self.name!r}, format={self.format.name!r}, backend={self.backend!r})"

    @property
    def categories(self) -> tuple[str, ...]:
        """Our categories this judge can report (empty: binary only)."""
        return tuple(self.format.mappable)

    def info(self) -> dict[str, Any]:
        return {"judge": self.name, "model": getattr(self.backend, "model", ""),
                "backend": type(self.backend).__name__, "url": getattr(self.backend, "base_url", None),
                **self.format.info(), "logprobs": self.logprobs, "max_tokens": self.max_tokens}

    def close(self) -> None:
        self.backend.close()

    # -- judging ---------------------------------------------------------------------------------
    def judge(self, x: GuardInput | Conversation, *, target: str | None = None) -> Judgement:
        out = self.judge_many([x], target=target)[0]
        if isinstance(out, Exception):
            raise out
        return out

    def judge_many(self, xs: Sequence[GuardInput | Conversation], *,
                   target: str | None = None) -> list[Judgement | JudgeError]:
        convs: list[Conversation | JudgeError] = []
        for x in xs:
            try:
                c = to_conversation(x, target)  # type: ignore[arg-type]
                c.focus_and_context()
                convs.append(c)
            except Exception as e:  # noqa: BLE001 - a bad input is this slot's error
                convs.append(JudgeError(f"{type(e).__name__}: {e}"))
        out: list[Judgement | JudgeError | None] = [None] * len(convs)
        jobs: list[tuple[int, Request]] = []
        per_conv: dict[int, list[Request]] = {}
        for i, c in enumerate(convs):
            if isinstance(c, JudgeError):
                out[i] = c
                continue
            hit = self.cached(c)
            if hit is not None:
                out[i] = hit
                continue
            try:
                reqs = self.format.requests(c)
                check_length(self.format, reqs, self.max_input_chars)
            except JudgeError as e:
                out[i] = e
                continue
            per_conv[i] = reqs
            jobs.extend((i, r) for r in reqs)
        if jobs:
            results = self._run(jobs)
            by_conv: dict[int, list[tuple[Request, Completion | JudgeError]]] = {}
            for (i, r), res in zip(jobs, results):
                by_conv.setdefault(i, []).append((r, res))
            for i, pairs in by_conv.items():
                try:
                    j = self._combine(convs[i], pairs)  # type: ignore[arg-type]
                    self._remember(convs[i], j)  # type: ignore[arg-type]
                    out[i] = j
                except JudgeError as e:
                    out[i] = e
        return out  # type: ignore[return-value]

    def _run(self, jobs: list[tuple[int, Request]]) -> list[Completion | JudgeError]:
        def one(job: tuple[int, Request]) -> Completion | JudgeError:
            try:
                return self.backend.complete(job[1].messages, max_tokens=self.max_tokens, logprobs=self.logprobs,
                                             top_logprobs=self.top_logprobs)
            except JudgeError as e:
                return e
            except Exception as e:  # noqa: BLE001 - any backend failure is a judge error, never "safe"
                return JudgeError(f"{self.name}: {type(e).__name__}: {e}")

        workers = max(1, min(int(getattr(self.backend, "concurrency", 1)), len(jobs)))
        if workers == 1:
            return [one(j) for j in jobs]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, jobs))

    def _combine(self, conv: Conversation, pairs: list[tuple[Request, Completion | JudgeError]]) -> Judgement:
        parts = judged_parts(conv)
        errors = [r for _, r in pairs if isinstance(r, JudgeError)]
        if errors:
            raise errors[0]
        unsafe = False
        sources = set()
        score = 0.0
        cats: dict[str, float] = {}
        native: list[str] = []
        policy_scores: dict[str, float] = {}
        rationale, evidence, refusal, label = [], None, None, ""
        raw: list[str] = []
        ms = 0.0
        ptok = ctok = 0
        for req, comp in pairs:
            assert isinstance(comp, Completion)
            raw.append(comp.text)
            ms = max(ms, comp.latency_ms)          # requests of one conversation run concurrently
            ptok += comp.prompt_tokens
            ctok += comp.completion_tokens
            p: Parsed = self.format.parse(comp.text, req.key, parts)
            lp = label_probability(comp.tokens, comp.text, p.label_offset, p.positive, p.negative)
            s = lp if lp is not None else (p.fixed_score if p.fixed_score is not None else float(p.unsafe))
            sources.add("logprobs" if lp is not None else "label")
            if req.key is not None:
                policy_scores[req.key] = s
            if s >= score:
                score, label = s, p.label
            unsafe = unsafe or p.unsafe
            native.extend(p.native_categories)
            if p.unsafe:
                for c in self.format.categories_for(p, req.key):
                    cats[c] = max(cats.get(c, 0.0), s)
            if p.rationale:
                rationale.append(f"[{req.key}] {p.rationale}" if req.key and len(pairs) > 1 else p.rationale)
            if comp.reasoning:
                rationale.append(comp.reasoning)
            evidence = evidence or p.evidence
            refusal = refusal if p.refusal is None else p.refusal
        return Judgement(judge=self.name, format=self.format.name, model=getattr(self.backend, "model", ""),
                         unsafe=unsafe, score=min(1.0, max(0.0, score)),
                         score_source="logprobs" if sources == {"logprobs"} else "label",
                         categories=sorted(c for c in cats if c in CATEGORIES),
                         category_scores={c: s for c, s in sorted(cats.items()) if c in CATEGORIES},
                         native_label=label, native_categories=native, policy_scores=policy_scores,
                         rationale="\n\n".join(rationale) or None, evidence=evidence, refusal=refusal,
                         latency_ms=ms, calls=len(pairs), prompt_tokens=ptok, completion_tokens=ctok, raw=raw)

    # -- cache -----------------------------------------------------------------------------------
    def _key(self, conv: Conversation) -> str:
        h = hashlib.sha1(conv.model_dump_json().encode("utf-8", "surrogatepass"))
        h.update(self.format.template_id.encode())
        return h.hexdigest()

    def cached(self, conv: Conversation) -> Judgement | None:
        if self.cache_size <= 0:
            return None
        k = self._key(conv)
        with self._lock:
            j = self._cache.get(k)
            if j is not None:
                self._cache.move_to_end(k)
            return j

    def _remember(self, conv: Conversation, j: Judgement) -> None:
        if self.cache_size <= 0:
            return
        with self._lock:
            self._cache[self._key(conv)] = j
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
