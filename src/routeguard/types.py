"""Public typed inputs and results: a conversation in the OpenAI chat shape in, a verdict out."""
from __future__ import annotations

import json
from typing import Any, Literal, Sequence, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import InputError

Role = Literal["system", "user", "assistant", "tool"]
Target = Literal["prompt", "response", "conversation", "trajectory"]
MAX_TEXT_CHARS = 1_000_000      # per message; longer input is rejected, not truncated
MAX_MESSAGES = 1_000


class FunctionCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    arguments: str = "{}"

    @field_validator("arguments", mode="before")
    @classmethod
    def _args_to_json(cls, v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = ""
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(BaseModel):
    """One chat message. ``content`` is text; a list of text parts is joined; other parts are rejected."""

    model_config = ConfigDict(extra="ignore")
    role: Role
    content: str = ""
    name: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _content_to_text(cls, v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, bytes):
            try:
                v = v.decode("utf-8")
            except UnicodeDecodeError as e:
                raise ValueError(f"content is not valid UTF-8 ({e.reason} at byte {e.start})") from None
        if isinstance(v, list):
            texts = []
            for i, part in enumerate(v):
                if isinstance(part, str):
                    texts.append(part)
                elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                else:
                    kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                    raise ValueError(f"content part {i} has type {kind!r}; only text parts are supported")
            v = "\n".join(texts)
        if not isinstance(v, str):
            raise ValueError(f"content must be a string or a list of text parts, not {type(v).__name__}")
        if len(v) > MAX_TEXT_CHARS:
            raise ValueError(f"content has {len(v)} characters; the limit is {MAX_TEXT_CHARS}")
        if "\x00" in v:
            raise ValueError("content contains NUL bytes (binary data?)")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("content contains unpaired surrogates (invalid UTF-8)") from None
        return v

    def text(self) -> str:
        """Content plus tool calls rendered as text (what the encoder sees)."""
        parts = [self.content] if self.content else []
        for tc in self.tool_calls:
            parts.append(f"[call {tc.function.name}({tc.function.arguments})]")
        return "\n".join(parts)


class Conversation(BaseModel):
    """A chat or agent trajectory to judge, and which part of it is judged."""

    model_config = ConfigDict(extra="forbid")
    messages: list[Message]
    target: Target | None = None  # None: inferred (prompt if last turn is user, else response/trajectory)

    @model_validator(mode="after")
    def _check(self) -> "Conversation":
        if not self.messages:
            raise ValueError("conversation is empty")
        if len(self.messages) > MAX_MESSAGES:
            raise ValueError(f"conversation has {len(self.messages)} messages; the limit is {MAX_MESSAGES}")
        if not any(m.content.strip() or m.tool_calls for m in self.messages):
            raise ValueError("conversation has no text")
        return self

    def judged_messages(self) -> list[Message]:
        """The messages the guard reads: every one but the system messages.

        A system message is the operator's instruction to the model: it is never judged (not as a
        prompt, not as part of a conversation) and not given to the model as context either. The
        shipped model was trained on data where a system prompt mostly precedes an attack, and reads
        one in the context as a sign of attack ("What is the capital of France?" alone: P(unsafe)
        0.00; after "You are a helpful assistant.": 0.85). Text a user can write belongs in a user
        message, where it is judged."""
        return judged(self.messages)

    @property
    def resolved_target(self) -> Target:
        if self.target:
            return self.target
        msgs = self.judged_messages()
        if not msgs:
            raise InputError("nothing to judge: the conversation has only system messages (system messages "
                             "are the operator's instructions and are not judged); add the user or assistant turn")
        if any(m.role == "tool" or m.tool_calls for m in msgs):
            return "trajectory"
        return "prompt" if msgs[-1].role == "user" else "response"

    def focus_and_context(self) -> tuple[str, str]:
        """Split into the text being judged and the text around it (rendered transcript, no system turns)."""
        t = self.resolved_target
        msgs = self.judged_messages()
        if t in ("prompt", "response"):
            role = "user" if t == "prompt" else "assistant"
            idx = max((i for i, m in enumerate(msgs) if m.role == role), default=None)
            if idx is None:
                raise InputError(f"target {t!r} needs a {role} message; roles present: "
                                 f"{sorted({m.role for m in self.messages})}"
                                 + (" (system messages are not judged)" if any(m.role == "system" for m in self.messages)
                                    else ""))
            return msgs[idx].text(), render(msgs[:idx])
        if not any(m.text() for m in msgs):
            raise InputError(f"target {t!r}: nothing to judge besides system messages (which are not judged)")
        return render(msgs), ""

    def pending_tool_calls(self) -> list[ToolCall]:
        """The tool calls of the judged agent turn: the actions the agent is about to take.

        For ``response`` those of the judged assistant message; otherwise those of the last message
        when it is an assistant message (no tool result has come back yet)."""
        msgs = self.judged_messages()
        if not msgs:
            return []
        if self.resolved_target == "response":
            idx = max((i for i, m in enumerate(msgs) if m.role == "assistant"), default=None)
            return list(msgs[idx].tool_calls) if idx is not None else []
        return list(msgs[-1].tool_calls) if msgs[-1].role == "assistant" else []

    def action_views(self) -> list[tuple[str, "Conversation"]]:
        """One extra conversation per pending tool call, judging what the call sends out.

        A tool call's arguments are the agent's request to a tool (a search query, a message, code to
        run): they are judged as a prompt on their own, the way a moderation endpoint judges text it
        is sent. Judged as part of the reply they are not ("[call web_search(...)]" after a benign
        request scores as a harmless reply, whatever it asks for). Returns ``(label, conversation)``
        pairs; combine the verdicts with :meth:`Verdict.combined`."""
        out: list[tuple[str, Conversation]] = []
        for tc in self.pending_tool_calls():
            text = tool_call_request(tc)
            if text.strip():
                out.append((f"tool call {tc.function.name}", Conversation(
                    messages=[Message(role="user", content=text)], target="prompt")))
        return out


def tool_call_request(tc: ToolCall) -> str:
    """What a tool call sends out, as text: its argument values, one per line (keys and JSON syntax
    left out; an argument string that is not JSON is taken as it is)."""
    try:
        args: Any = json.loads(tc.function.arguments or "{}")
    except json.JSONDecodeError:
        return tc.function.arguments
    lines: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            if v.strip():
                lines.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif v is not None and not isinstance(v, bool):
            lines.append(str(v))

    walk(args)
    return "\n".join(lines)[:MAX_TEXT_CHARS]


def judged(messages: Sequence[Message]) -> list[Message]:
    """The messages the guard reads: all but the system messages (see :meth:`Conversation.judged_messages`)."""
    return [m for m in messages if m.role != "system"]


def render(messages: list[Message]) -> str:
    names = {"system": "System", "user": "User", "assistant": "Agent", "tool": "Tool"}
    return "\n".join(f"{names[m.role]}: {m.text()}" for m in messages if m.text())


GuardInput = Union[str, list, dict, Conversation]


def to_conversation(x: GuardInput, target: Target | None = None) -> Conversation:
    """Coerce a string, a list of messages, a dict or a Conversation; raise InputError otherwise."""
    from pydantic import ValidationError

    try:
        if isinstance(x, Conversation):
            conv = x
        elif isinstance(x, bytes):
            try:
                x = x.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"input is not valid UTF-8 ({e.reason} at byte {e.start})") from None
            conv = Conversation(messages=[Message(role="user", content=x)])
        elif isinstance(x, str):
            if not x.strip():
                raise InputError("input text is empty")
            conv = Conversation(messages=[Message(role="user", content=x)])
        elif isinstance(x, list):
            conv = Conversation(messages=x)  # type: ignore[arg-type]
        elif isinstance(x, dict):
            conv = Conversation.model_validate(x)
        else:
            raise InputError(f"cannot judge an input of type {type(x).__name__}; "
                             "pass a string, a list of messages, or a Conversation")
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise InputError(f"invalid conversation at {loc or 'root'}: {err['msg']}") from None
    if target is not None:
        if target not in ("prompt", "response", "conversation", "trajectory"):
            raise InputError(f"target must be prompt/response/conversation/trajectory, not {target!r}")
        conv = conv.model_copy(update={"target": target})
    return conv


# --- results ---------------------------------------------------------------------------------------

class ExpertResult(BaseModel):
    """What one expert said: calibrated probabilities for its categories, or an error."""

    expert: str
    scores: dict[str, float] = Field(default_factory=dict)
    unsafe_score: float | None = None
    latency_ms: float = 0.0
    error: str | None = None


class Route(BaseModel):
    experts: list[str]
    router_scores: dict[str, float]
    fallback: bool = False          # True: router unsure, every expert was consulted


class Verdict(BaseModel):
    """The guard's decision on one conversation."""

    flagged: bool
    unsafe_score: float                       # calibrated P(unsafe) in [0, 1]
    categories: dict[str, bool]               # per category: above its policy threshold
    category_scores: dict[str, float]         # per category: calibrated probability
    target: Target
    route: Route
    experts: list[ExpertResult]
    degraded: bool = False                    # an expert failed or timed out
    reason: str = ""
    chunks: int = 1                           # how many chunks the judged text was split into
    latency_ms: float = 0.0

    @property
    def flagged_categories(self) -> list[str]:
        return [c for c, v in self.categories.items() if v]

    def combined(self, parts: "list[tuple[str, Verdict]]") -> "Verdict":
        """This verdict together with verdicts on parts of the same input (e.g. the
        :meth:`Conversation.action_views`): flagged if any is, scores by max, degraded if any is; the
        route, experts and target stay this verdict's, the reason names each flagged part."""
        if not parts:
            return self
        vs = [self] + [v for _, v in parts]
        cats = sorted({c for v in vs for c in v.category_scores})
        flagged_parts = [(label, v) for label, v in parts if v.flagged]
        noted = [f"{label}: {v.reason}" for label, v in flagged_parts]
        if self.flagged or not noted:
            reason = "; ".join([self.reason] + noted)
        else:
            reason = "; ".join(noted + [f"the {self.target} itself: {self.reason}"])
        return self.model_copy(update={
            "flagged": any(v.flagged for v in vs),
            "unsafe_score": max(v.unsafe_score for v in vs),
            "categories": {c: any(v.categories.get(c, False) for v in vs) for c in cats},
            "category_scores": {c: max(v.category_scores.get(c, 0.0) for v in vs) for c in cats},
            "degraded": any(v.degraded for v in vs),
            "reason": reason,
            "chunks": sum(v.chunks for v in vs),
            "latency_ms": sum(v.latency_ms for v in vs),
        })


class BatchItemError(BaseModel):
    """Stands in a batch result for an input that could not be judged."""

    index: int
    error: str
    flagged: bool = True   # fail closed: callers that only read `flagged` block it
