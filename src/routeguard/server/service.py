"""The serving layer: turns protocol requests into library calls and verdicts into protocol responses.

The HTTP routes only parse and delegate here; everything below talks to the public library API
(:class:`routeguard.RouteGuard`, :class:`routeguard.Policy`, :func:`routeguard.to_conversation`).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Sequence

from pydantic import ValidationError

from ..errors import InputError, RouteGuardError
from ..guard import RouteGuard
from ..loading import load
from ..policy import Policy
from ..taxonomy import ALL_CATEGORIES, OPENAI_CATEGORIES, OURS_TO_OPENAI
from ..types import BatchItemError, Conversation, Message, Verdict, to_conversation
from .batching import Scorer, make_scorer
from .errors import APIError, validation_message
from .metrics import Metrics
from .protocol import (ExpertOut, GuardRequest, GuardResponse, ImagePart, LiteLLMGuardrailRequest,
                       LiteLLMGuardrailResponse, ModerationRequest, ModerationResponse, ModerationResult,
                       RouteGuardExtra, RouteOut, Target, TextPart, new_id)
from .settings import ServerSettings

log = logging.getLogger("routeguard.server")


def openai_scores(v: Verdict) -> tuple[dict[str, bool], dict[str, float]]:
    """OpenAI's 13 categories from ours: score = max over the mapped categories of ours; flagged if
    any mapped category of ours is flagged. OpenAI keys nothing of ours maps to score 0."""
    scores = {k: 0.0 for k in OPENAI_CATEGORIES}
    flags = {k: False for k in OPENAI_CATEGORIES}
    for ours, keys in OURS_TO_OPENAI.items():
        if ours not in v.category_scores:
            continue
        s, f = v.category_scores[ours], v.categories.get(ours, False)
        for k in keys:
            scores[k] = max(scores[k], s)
            flags[k] = flags[k] or f
    return flags, scores


def route_out(v: Verdict) -> RouteOut:
    return RouteOut(experts=list(v.route.experts), router_scores=dict(v.route.router_scores),
                    fallback=v.route.fallback)


def summary_reason(verdicts: Sequence[Verdict], what: str, indices: Sequence[int] | None = None) -> str:
    """A blocked reason naming categories and scores only (never the user's text)."""
    parts = []
    for i, v in zip(indices if indices is not None else range(len(verdicts)), verdicts):
        if not v.flagged:
            continue
        cats = ", ".join(f"{c} {v.category_scores.get(c, 0.0):.2f}" for c in v.flagged_categories)
        why = cats or f"P(unsafe)={v.unsafe_score:.2f}"
        if v.degraded:
            why += " (degraded: an expert failed, blocked fail-closed)"
        parts.append(f"{what}[{i}]: {why}" if len(verdicts) > 1 else why)
    return "flagged by RouteGuard: " + "; ".join(parts)


class GuardService:
    """Owns the guard and its scorer; one per app."""

    def __init__(self, settings: ServerSettings, metrics: Metrics):
        self.settings, self.metrics = settings, metrics
        self.guard: RouteGuard | None = None
        self.scorer: Scorer | None = None
        self.state: str = "loading"
        self.error: str | None = None
        self._load_task: asyncio.Task | None = None
        self._agent: Any = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, guard: RouteGuard | None = None) -> None:
        if guard is not None:
            await self._install(guard)
        else:
            self._load_task = asyncio.create_task(self._load(), name="routeguard-load")

    async def _load(self) -> None:
        try:
            guard = await asyncio.to_thread(self._load_guard)
        except Exception as e:  # noqa: BLE001 - reported by /readyz; every guard call answers 503
            self.state, self.error = "failed", f"{type(e).__name__}: {e}"
            log.error("model %r failed to load: %s", self.settings.model, self.error)
            return
        await self._install(guard)

    def _load_guard(self) -> RouteGuard:
        encoder = None
        s = self.settings
        if s.encoder_threads is not None or s.encoder_batch_size is not None or not s.encoder_spinning:
            from ..encoders import OnnxEncoder

            kw: dict[str, Any] = {k: v for k, v in (("threads", s.encoder_threads),
                                                     ("batch_size", s.encoder_batch_size)) if v}
            encoder = OnnxEncoder(spinning=s.encoder_spinning, **kw)
        return load(s.model, encoder=encoder)

    async def _install(self, guard: RouteGuard) -> None:
        scorer = make_scorer(guard, self.settings.batching, self.metrics)
        await scorer.start()
        self.guard, self.scorer, self.state = guard, scorer, "ready"
        self.metrics.ready.set(1)
        log.info("model %s ready (%d experts, batching %s)", guard.name, len(guard.experts),
                 "on" if self.settings.batching.enabled else "off")

    async def stop(self) -> None:
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        if self.scorer is not None:
            await self.scorer.stop()
        self.metrics.ready.set(0)

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def model_name(self) -> str:
        return self.guard.name if self.guard is not None else self.settings.model

    def _require(self) -> tuple[RouteGuard, Scorer]:
        if self.guard is None or self.scorer is None:
            if self.state == "failed":
                raise APIError(503, "the model failed to load; see the server log", "model_failed")
            raise APIError(503, "the model is still loading; retry shortly", "not_ready",
                           headers={"Retry-After": "2"})
        return self.guard, self.scorer

    # -- helpers ---------------------------------------------------------------------------------
    def policy_for(self, enforce: list[str] | None = None, thresholds: dict[str, float] | None = None,
                   unsafe_threshold: float | None = None) -> Policy:
        guard, _ = self._require()
        if enforce is None and thresholds is None and unsafe_threshold is None:
            return guard.policy
        lo, hi = self.settings.min_threshold, self.settings.max_threshold
        for name, t in list((thresholds or {}).items()) + ([("unsafe_threshold", unsafe_threshold)]
                                                          if unsafe_threshold is not None else []):
            if name != "unsafe_threshold" and name not in ALL_CATEGORIES:
                raise APIError(422, f"thresholds: unknown category {name!r}; known: {', '.join(ALL_CATEGORIES)}",
                               "unknown_category")
            if not lo <= t <= hi:
                where = name if name == "unsafe_threshold" else f"thresholds.{name}"
                raise APIError(422, f"{where}: {t} is outside the allowed range [{lo}, {hi}]",
                               "threshold_out_of_range")
        for c in enforce or []:
            if c not in ALL_CATEGORIES:
                raise APIError(422, f"enforce: unknown category {c!r}; known: {', '.join(ALL_CATEGORIES)}",
                               "unknown_category")
        merged_thresholds = {**guard.policy.thresholds, **(thresholds or {})} if thresholds else None
        try:
            return guard.policy.merged(enforce=enforce, thresholds=merged_thresholds,
                                       unsafe_threshold=unsafe_threshold)
        except ValidationError as e:
            raise APIError(422, validation_message(list(e.errors())), "invalid_policy") from None

    def conversation(self, x: Any, target: Target | None, where: str) -> Conversation:
        """Validate one input into a judged Conversation, or raise a 422 naming ``where``."""
        try:
            conv = to_conversation(x, target)
            conv.focus_and_context()
        except InputError as e:
            raise APIError(422, f"{where}: {e}", "invalid_input") from None
        if len(conv.messages) > self.settings.max_messages:
            raise APIError(413, f"{where}: {len(conv.messages)} messages; the limit is {self.settings.max_messages}",
                           "too_many_messages")
        return conv

    def _check_count(self, n: int, where: str) -> None:
        if n > self.settings.max_texts:
            raise APIError(413, f"{where}: {n} inputs; the limit is {self.settings.max_texts} per request",
                           "too_many_inputs")

    async def judge(self, convs: list[Conversation], policy: Policy | None = None) -> list[Verdict]:
        guard, scorer = self._require()
        results = await scorer.judge(convs, policy or guard.policy)
        self.metrics.observe_verdicts(results)
        out: list[Verdict] = []
        for i, r in enumerate(results):
            if isinstance(r, BatchItemError):        # pre-validated, so unexpected; still never "safe"
                raise APIError(422, f"input {i}: {r.error}", "invalid_input")
            out.append(r)
        return out

    # -- OpenAI moderation -----------------------------------------------------------------------
    async def moderate(self, req: ModerationRequest) -> ModerationResponse:
        self._require()
        inp = req.input
        if isinstance(inp, str):
            texts = [inp]
        elif inp and not isinstance(inp[0], str):
            parts = inp
            if any(isinstance(p, ImagePart) for p in parts):
                raise APIError(422, "input: image parts are not supported by this guard (text only); "
                               "send the text parts alone", "unsupported_input")
            texts = ["\n".join(p.text for p in parts if isinstance(p, TextPart))]
        else:
            texts = list(inp)  # type: ignore[arg-type]
        self._check_count(len(texts), "input")
        where = (lambda i: "input") if isinstance(inp, str) or len(texts) == 1 else (lambda i: f"input[{i}]")
        convs = [self.conversation(t, "prompt", where(i)) for i, t in enumerate(texts)]
        verdicts = await self.judge(convs)
        results = []
        for v in verdicts:
            flags, scores = openai_scores(v)
            results.append(ModerationResult(
                flagged=v.flagged, categories=flags, category_scores=scores,
                category_applied_input_types={k: ["text"] for k in OPENAI_CATEGORIES},
                routeguard=RouteGuardExtra(categories=v.categories, category_scores=v.category_scores,
                                           unsafe_score=v.unsafe_score, route=route_out(v),
                                           degraded=v.degraded, reason=v.reason)))
        return ModerationResponse(id=new_id("modr"), model=req.model or self.model_name, results=results)

    # -- rich guard call -------------------------------------------------------------------------
    async def guard_call(self, req: GuardRequest) -> GuardResponse:
        self._require()
        policy = self.policy_for(req.enforce, req.thresholds, req.unsafe_threshold)
        if req.messages is not None:
            if len(req.messages) > self.settings.max_messages:
                raise APIError(413, f"messages: {len(req.messages)} messages; the limit is "
                               f"{self.settings.max_messages}", "too_many_messages")
            x: Any = [m.model_dump(exclude_none=True) for m in req.messages]
            conv = self.conversation(x, req.target, "messages")
        else:
            conv = self.conversation(req.input, req.target, "input")
        if req.policies or conv.resolved_target == "trajectory":
            return await self._agent_call(req, conv, policy)
        v = (await self.judge([conv], policy))[0]
        experts = [ExpertOut(**e.model_dump()) for e in v.experts] if req.include_experts else []
        return GuardResponse(id=new_id("guard"), model=self.model_name, flagged=v.flagged,
                             unsafe_score=v.unsafe_score, categories=v.categories,
                             category_scores=v.category_scores, flagged_categories=v.flagged_categories,
                             target=v.target, route=route_out(v), experts=experts, degraded=v.degraded,
                             reason=v.reason, chunks=v.chunks, latency_ms=v.latency_ms)

    def agent_guard(self, policy: Policy) -> Any:
        """The AgentGuard over the loaded guard (one for the model's own Policy, kept; others per call)."""
        from ..agent import AgentGuard

        guard, _ = self._require()
        pols = self.settings.agent_policies
        if policy is guard.policy:
            if self._agent is None:
                self._agent = AgentGuard(guard, policies=pols)
            return self._agent
        return AgentGuard(guard.replace(policy=policy), policies=pols)

    async def _agent_call(self, req: GuardRequest, conv: Conversation, policy: Policy) -> GuardResponse:
        """Trajectories and policies: AgentGuard.check (trajectory head, policy rules + matcher, injection)."""
        ag = self.agent_guard(policy)
        timeout = self.settings.batching.request_timeout_s
        try:
            av = await asyncio.wait_for(asyncio.to_thread(ag.check, conv, list(req.policies or [])), timeout)
        except InputError as e:
            raise APIError(422, f"policies: {e}", "invalid_input") from None
        except asyncio.TimeoutError:
            raise APIError(503, f"no verdict within {timeout:g} s; retry later", "guard_timeout",
                           headers={"Retry-After": "1"}) from None
        v = av.verdict
        self.metrics.observe_verdicts([v])
        experts = [ExpertOut(**e.model_dump()) for e in v.experts] if req.include_experts else []
        return GuardResponse(id=new_id("guard"), model=self.model_name, flagged=av.flagged,
                             unsafe_score=av.trajectory.score if av.trajectory else v.unsafe_score,
                             categories=v.categories, category_scores=v.category_scores,
                             flagged_categories=v.flagged_categories, target=v.target, route=route_out(v),
                             experts=experts, degraded=av.degraded, reason=av.reason, chunks=v.chunks,
                             latency_ms=round(av.latency_ms, 3), policies=[p.model_dump() for p in av.policies],
                             injection=av.injection.model_dump() if av.injection else None,
                             trajectory=av.trajectory.model_dump() if av.trajectory else None)

    # -- LiteLLM generic guardrail ---------------------------------------------------------------
    async def litellm(self, req: LiteLLMGuardrailRequest) -> LiteLLMGuardrailResponse:
        self._require()
        if req.images:
            return LiteLLMGuardrailResponse(
                action="BLOCKED", blocked_reason=f"{len(req.images)} image(s) cannot be judged by this text "
                "guard; blocked fail-closed")
        texts = [t for t in (req.texts or []) if t.strip()]
        self._check_count(len(texts) + (1 if req.tool_calls else 0), "texts")
        convs: list[Conversation] = []
        if req.input_type == "request":
            convs = [self.conversation(t, "prompt", f"texts[{i}]") for i, t in enumerate(texts)]
        else:
            context = self._context(req.structured_messages)
            convs = [self.conversation(context + [{"role": "assistant", "content": t}], "response",
                                       f"texts[{i}]") for i, t in enumerate(texts)]
            if req.tool_calls:
                convs.append(self.conversation(context + [{"role": "assistant", "content": "",
                                                           "tool_calls": req.tool_calls}],
                                               "response", "tool_calls"))
        if not convs:
            return LiteLLMGuardrailResponse(action="NONE")
        verdicts = await self.judge(convs)
        if any(v.flagged for v in verdicts):
            return LiteLLMGuardrailResponse(action="BLOCKED", blocked_reason=summary_reason(verdicts, "texts"))
        return LiteLLMGuardrailResponse(action="NONE")

    def _context(self, messages: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        """Prior turns usable as context (text-only ones); anything unparseable is left out."""
        out: list[dict[str, Any]] = []
        for m in (messages or [])[-self.settings.max_messages + 1:]:
            try:
                msg = Message.model_validate(m)
            except (ValidationError, RouteGuardError):
                continue
            out.append(msg.model_dump())
        return out
