"""Wire schemas of the HTTP APIs, kept apart from the engine's types (:mod:`routeguard.types`).

Our own APIs validate strictly (``extra="forbid"``). Two exceptions: the chat-completions proxy
forwards OpenAI's many sampling parameters to the upstream untouched, so only the fields the guard
reads are typed there; the LiteLLM guardrail accepts (and counts) fields newer LiteLLM versions add.
"""
from __future__ import annotations

import time
import uuid
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

Target = Literal["prompt", "response", "conversation", "trajectory"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def now() -> int:
    return int(time.time())


# --- errors -----------------------------------------------------------------------------------------

class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None


class ErrorResponse(BaseModel):
    """The one error body every endpoint returns: ``{"error": {"message", "type", "code"}}``."""

    error: ErrorDetail


# --- shared pieces ----------------------------------------------------------------------------------

class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImageURL(_Strict):
    url: str
    detail: str | None = None


class ImagePart(_Strict):
    type: Literal["image_url"]
    image_url: ImageURL


ContentPart = Annotated[Union[TextPart, ImagePart], Field(discriminator="type")]


class FunctionCallIn(_Strict):
    name: str
    arguments: Union[str, dict[str, Any]] = "{}"


class ToolCallIn(_Strict):
    id: str = ""
    type: Literal["function"] = "function"
    function: FunctionCallIn


class MessageIn(_Strict):
    """A chat message in OpenAI's shape (text only)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: Union[str, list[TextPart], None] = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None


class RouteOut(BaseModel):
    experts: list[str]
    router_scores: dict[str, float]
    fallback: bool


class ExpertOut(BaseModel):
    expert: str
    scores: dict[str, float]
    unsafe_score: float | None
    latency_ms: float
    error: str | None


# --- OpenAI moderation --------------------------------------------------------------------------------

class ModerationRequest(_Strict):
    input: Union[str, Annotated[list[str], Field(min_length=1)], Annotated[list[ContentPart], Field(min_length=1)]]
    model: str | None = None


class RouteGuardExtra(BaseModel):
    """Our own categories, carried in an extra field the OpenAI client passes through."""

    categories: dict[str, bool]
    category_scores: dict[str, float]
    unsafe_score: float
    route: RouteOut
    degraded: bool
    reason: str


class ModerationResult(BaseModel):
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]]
    routeguard: RouteGuardExtra


class ModerationResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


# --- RouteGuard rich call -----------------------------------------------------------------------------

class GuardRequest(_Strict):
    """One conversation (``messages``) or one user prompt (``input``), plus per-request options."""

    input: str | None = None
    messages: list[MessageIn] | None = None
    target: Target | None = None
    enforce: list[str] | None = Field(None, description="categories that may flag (others only scored)")
    thresholds: dict[str, float] | None = Field(None, description="per-category thresholds, within bounds")
    unsafe_threshold: float | None = None
    include_experts: bool = True
    policies: Annotated[list[Annotated[str, Field(min_length=1, max_length=2000)]], Field(max_length=32)] | None = Field(
        None, description="operator policies (natural language) to check an agent trajectory against")

    @model_validator(mode="after")
    def _one_input(self) -> "GuardRequest":
        if (self.input is None) == (self.messages is None):
            raise ValueError("give exactly one of 'input' (a string) or 'messages' (a conversation)")
        return self


class GuardResponse(BaseModel):
    id: str
    model: str
    flagged: bool
    unsafe_score: float
    categories: dict[str, bool]
    category_scores: dict[str, float]
    flagged_categories: list[str]
    target: Target
    route: RouteOut
    experts: list[ExpertOut]
    degraded: bool
    reason: str
    chunks: int
    latency_ms: float
    # agent trajectories (target "trajectory", or any request with policies): AgentGuard's findings
    policies: list[dict[str, Any]] | None = None        # one PolicyResult per policy: violated, step, checker, reason
    injection: dict[str, Any] | None = None             # tool results scored for prompt injection
    trajectory: dict[str, Any] | None = None            # the trajectory head's score, threshold and drivers


# --- LiteLLM generic guardrail ------------------------------------------------------------------------

class LiteLLMGuardrailRequest(BaseModel):
    """What LiteLLM's ``generic_guardrail_api`` sends (its ``GenericGuardrailAPIRequest``, litellm 1.108).

    The one request model of ours that is not strict: LiteLLM adds fields from version to version,
    and a guardrail that rejects one turns every guarded call into an error. Unknown fields are
    accepted, ignored and counted (``routeguard_litellm_ignored_fields``); the fields below are
    typed and validated."""

    model_config = ConfigDict(extra="allow")
    input_type: Literal["request", "response"]
    texts: list[str] | None = None
    images: list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    structured_messages: list[dict[str, Any]] | None = None
    model: str | None = None
    litellm_call_id: str | None = None
    litellm_trace_id: str | None = None
    litellm_version: str | None = None
    request_data: dict[str, Any] | None = None
    request_headers: dict[str, str] | None = None
    additional_provider_specific_params: dict[str, Any] | None = None


class LiteLLMGuardrailResponse(BaseModel):
    action: Literal["BLOCKED", "NONE", "GUARDRAIL_INTERVENED"]
    blocked_reason: str | None = None
    texts: list[str] | None = None
    images: list[str] | None = None


# --- chat completions proxy ---------------------------------------------------------------------------

class ChatCompletionRequest(BaseModel):
    """Only what the guard reads is typed; every other OpenAI parameter is forwarded as is."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: Annotated[list[dict[str, Any]], Field(min_length=1)]
    stream: bool = False


# --- health -------------------------------------------------------------------------------------------

class Health(BaseModel):
    status: Literal["ok", "loading", "failed"]
    model: str | None = None
    batching: bool | None = None
    detail: str | None = None
