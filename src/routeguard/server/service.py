"""The serving layer: turns protocol requests into library calls and verdicts into protocol responses.

The HTTP routes only parse and delegate here; everything below talks to the public library API
(:class:`routeguard.RouteGuard`, :class:`routeguard.Policy`, :func:`routeguard.to_conversation`).
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any, Sequence

from pydantic import ValidationError

from ..errors import InputError, RouteGuardError
from ..guard import RouteGuard, combine_action_views, with_action_views
from ..loading import load
from ..policy import Policy
from ..taxonomy import ALL_CATEGORIES, OPENAI_CATEGORIES, OURS_TO_OPENAI
from ..types import BatchItemError, Conversation, FunctionCall, Message, ToolCall, Verdict, to_conversation
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


def summary_reason(verdicts: Sequence[Verdict], what: str, indices: Sequence[int] | None = None,
                   labels: Sequence[str] | None = None) -> str:
    """A blocked reason naming categories and scores only (never the user's text). Each verdict is
    named ``labels[k]``, else ``what[index]`` (nothing when there is only one)."""
    parts = []
    idx = list(indices) if indices is not None else list(range(len(verdicts)))
    for k, (i, v) in enumerate(zip(idx, verdicts)):
        if not v.flagged:
            continue
        cats = ", ".join(f"{c} {v.category_scores.get(c, 0.0):.2f}" for c in v.flagged_categories)
        why = cats or f"P(unsafe)={v.unsafe_score:.2f}"
        if v.degraded:
            why += " (degraded: an expert failed, blocked fail-closed)"
        name = labels[k] if labels is not None else (f"{what}[{i}]" if len(verdicts) > 1 else "")
        parts.append(f"{name}: {why}" if name else why)
    return "flagged by RouteGuard: " + "; ".join(parts)


class CallContexts:
    """The messages of recent LiteLLM requests by ``litellm_call_id`` (bounded, expiring), so that
    a post_call reply, which LiteLLM sends alone, is judged as the answer to its prompt."""

    def __init__(self, ttl_s: float, max_calls: int):
        self.ttl_s, self.max_calls = ttl_s, max_calls
        self._items: OrderedDict[str, tuple[float, list[Message]]] = OrderedDict()

    def put(self, call_id: str | None, messages: list[Message]) -> None:
        if not call_id or self.ttl_s <= 0 or not messages:
            return
        self._items.pop(call_id, None)
        self._items[call_id] = (time.monotonic() + self.ttl_s, messages)
        while len(self._items) > self.max_calls:
            self._items.popitem(last=False)

    def get(self, call_id: str | None) -> list[Message]:
        now_ = time.monotonic()
        while self._items:                     # drop the expired ones (oldest first)
            k, (exp, _) = next(iter(self._items.items()))
            if exp > now_:
                break
            self._items.popitem(last=False)
        hit = self._items.get(call_id) if call_id else None
        return list(hit[1]) if hit else []


def _wire_text(content: Any) -> tuple[str, int]:
    """Text and image count of an OpenAI-style ``content`` (a string, or a list of parts)."""
    if content is None:
        return "", 0
    if isinstance(content, str):
        return content, 0
    if isinstance(content, list):
        texts, images = [], 0
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif "image" in str(part.get("type", "")):
                    images += 1
        return "\n".join(texts), images
    raise ValueError(f"content of type {type(content).__name__}")


def wire_tool_call(tc: Any) -> ToolCall:
    """A ToolCall from LiteLLM's/OpenAI's shapes (message tool calls and stream chunks, ``index`` included)."""
    if not isinstance(tc, dict) or not isinstance(tc.get("function"), dict):
        raise ValueError("a tool call is an object with a 'function' object")
    fn = tc["function"]
    args = fn.get("arguments")
    return ToolCall(id=str(tc.get("id") or ""),
                    function=FunctionCall(name=str(fn.get("name") or ""), arguments="{}" if args is None else args))


def wire_message(m: Any) -> Message:
    """One message of LiteLLM's ``structured_messages`` (OpenAI shape, ``developer`` role, image parts,
    provider extras), as a Message; raises ValueError/ValidationError when it is not one."""
    if not isinstance(m, dict):
        raise ValueError("a message is an object")
    role = {"developer": "system", "function": "tool"}.get(str(m.get("role")), m.get("role"))
    text, _ = _wire_text(m.get("content"))
    calls = [wire_tool_call(tc) for tc in (m.get("tool_calls") or [])]
    return Message(role=role, content=text, tool_calls=calls, tool_call_id=m.get("tool_call_id"))


def tool_definition_text(tool: dict[str, Any]) -> str:
    """What a tool definition tells the model: its name, description and parameter descriptions."""
    fn = tool.get("function") if isinstance(tool.get("function"), dict) else tool
    out = [str(fn.get("name") or ""), str(fn.get("description") or "")]

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "description" and isinstance(x, str):
                    out.append(x)
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(fn.get("parameters"))
    return "\n".join(t for t in out if t.strip())


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
        self.contexts = CallContexts(settings.litellm.remember_prompts_s, settings.litellm.remember_max_calls)

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
        """The configured model, its own encoder reopened with the encoder settings that are set."""
        s = self.settings
        return load(s.model).with_encoder_options(threads=s.encoder_threads, batch_size=s.encoder_batch_size,
                                                  spinning=s.encoder_spinning or None)

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
        """Verdicts on ``convs``, each combined with the verdicts on its pending tool calls
        (:meth:`Conversation.action_views`), all in one scorer call."""
        guard, scorer = self._require()
        flat, views = with_action_views(convs)
        out = combine_action_views(views, await scorer.judge(flat, policy or guard.policy))
        for i, r in enumerate(out):
            if isinstance(r, BatchItemError):        # pre-validated, so unexpected; still never "safe"
                self.metrics.observe_verdicts([r])
                raise APIError(422, f"input {i}: {r.error}", "invalid_input")
        self.metrics.observe_verdicts(out)
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
        self.metrics.observe_verdicts([av.verdict])
        # the pending step's tool calls, judged as what they send out (the head judges the run)
        views = conv.action_views()
        parts = list(zip([label for label, _ in views], await self.judge([c for _, c in views], policy)))
        v = av.verdict.combined(parts)
        flagged_parts = [f"{label}: {pv.reason}" for label, pv in parts if pv.flagged]
        reason = "; ".join([av.reason] + flagged_parts)
        experts = [ExpertOut(**e.model_dump()) for e in v.experts] if req.include_experts else []
        score = av.trajectory.score if av.trajectory else av.verdict.unsafe_score
        return GuardResponse(id=new_id("guard"), model=self.model_name, flagged=av.flagged or bool(flagged_parts),
                             unsafe_score=max([score] + [pv.unsafe_score for _, pv in parts if pv.flagged]),
                             categories=v.categories, category_scores=v.category_scores,
                             flagged_categories=v.flagged_categories, target=v.target, route=route_out(v),
                             experts=experts, degraded=av.degraded or v.degraded, reason=reason, chunks=v.chunks,
                             latency_ms=round(av.latency_ms, 3), policies=[p.model_dump() for p in av.policies],
                             injection=av.injection.model_dump() if av.injection else None,
                             trajectory=av.trajectory.model_dump() if av.trajectory else None)

    # -- LiteLLM generic guardrail ---------------------------------------------------------------
    def _structured(self, messages: list[dict[str, Any]] | None) -> list[Message]:
        """LiteLLM's structured messages as Messages; one that cannot be read is left out (its text
        still arrives in ``texts`` and is judged from there)."""
        out: list[Message] = []
        for m in (messages or [])[-self.settings.max_messages:]:
            try:
                out.append(wire_message(m))
            except (ValueError, ValidationError, RouteGuardError):
                continue
        return out

    async def litellm(self, req: LiteLLMGuardrailRequest) -> LiteLLMGuardrailResponse:
        """Judge what LiteLLM sends.

        ``request`` (pre_call, during_call): each user turn of ``structured_messages`` as a prompt in
        its dialogue context, every text not found in those messages as a prompt, each tool
        definition, and each tool call (its arguments, as the action it is). System messages (and
        texts that are a system message's) are not judged. ``response`` (post_call): each text as the
        reply to the request's messages (sent along, or remembered from the pre_call with the same
        ``litellm_call_id``), and each tool call. Images: see ``litellm.images``."""
        self._require()
        if req.model_extra:
            self.metrics.litellm_ignored.inc(len(req.model_extra))
        images = [i for i in (req.images or []) if i]
        if images and self.settings.litellm.images == "block":
            return LiteLLMGuardrailResponse(
                action="BLOCKED", blocked_reason=f"RouteGuard does not support images yet (text only): "
                f"{len(images)} image(s) not judged, blocked fail-closed (litellm.images: block)")
        if images:
            self.metrics.unjudged_images.inc(len(images))
        try:
            calls = [wire_tool_call(tc) for tc in (req.tool_calls or [])]
        except (ValueError, ValidationError) as e:
            raise APIError(422, f"tool_calls: {validation_message(list(e.errors())) if isinstance(e, ValidationError) else e}",
                           "invalid_input") from None
        msgs = self._structured(req.structured_messages)
        if not calls:       # older LiteLLM versions: the calls only inside the structured messages
            calls = [tc for m in msgs if m.role == "assistant" for tc in m.tool_calls]
        texts = [(j, t) for j, t in enumerate(req.texts or []) if t.strip()]
        convs: list[Conversation] = []
        labels: list[str] = []

        def add(conv: Conversation, label: str) -> None:
            try:
                conv.focus_and_context()
            except InputError as e:
                raise APIError(422, f"{label}: {e}", "invalid_input") from None
            convs.append(conv)
            labels.append(label)

        if req.input_type == "request":
            self.contexts.put(req.litellm_call_id, msgs)
            seen = {m.content.strip() for m in msgs if m.content.strip()}
            for i, m in enumerate(msgs):
                if m.role == "user" and m.content.strip():
                    add(Conversation(messages=msgs[:i + 1], target="prompt"), f"messages[{i}]")
            for j, t in texts:
                if t.strip() not in seen:       # not a structured message's text: judged on its own
                    add(self.conversation(t, "prompt", f"texts[{j}]"), f"texts[{j}]")
            for j, tool in enumerate(req.tools or []):
                text = tool_definition_text(tool)
                if text:
                    add(self.conversation(text, "prompt", f"tools[{j}]"), f"tools[{j}]")
            context: list[Message] = msgs
        else:
            context = msgs or self.contexts.get(req.litellm_call_id)
            for j, t in texts:
                add(Conversation(messages=context + [Message(role="assistant", content=t)], target="response"),
                    f"texts[{j}]")
        before = [m for m in context if m.role != "assistant" or not m.tool_calls]
        unique = {(c.function.name, c.function.arguments): (j, c) for j, c in reversed(list(enumerate(calls)))}
        for j, c in sorted(unique.values(), key=lambda jc: jc[0]):
            add(Conversation(messages=before + [Message(role="assistant", tool_calls=[c])], target="response"),
                f"tool call {c.function.name[:64]} (tool_calls[{j}])")
        self._check_count(len(convs), "texts")
        if not convs:
            return LiteLLMGuardrailResponse(action="NONE")
        verdicts = await self.judge(convs)
        if any(v.flagged for v in verdicts):
            return LiteLLMGuardrailResponse(action="BLOCKED",
                                            blocked_reason=summary_reason(verdicts, "texts", labels=labels))
        return LiteLLMGuardrailResponse(action="NONE")
