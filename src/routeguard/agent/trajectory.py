"""Trajectories in the OpenAI chat shape, and the pieces of them the agent guard reads.

A *step* is one message of the trajectory, named by its index in ``messages``. Actions are assistant
messages (their tool calls, or a text answer to the user); observations are ``tool`` messages.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError
from ..types import Conversation, Message, ToolCall, to_conversation

#: Longest observation snippet (characters) put in front of an action for the learned matcher.
OBS_CHARS = 300
#: Tool names that mean "the agent talks to the user" (asking, confirming, reporting).
_ASK_TOOLS = re.compile(r"(ask|send_msg_to_user|message_user|notify_user|request_confirmation|confirm|"
                        r"human|user_input|ask_user|clarif)", re.I)


def load_trajectory(x: Any) -> Conversation:
    """A trajectory from a list of messages, ``{"messages": [...]}``, a Conversation, or a JSON file path.

    Raises :class:`InputError` naming the problem."""
    if isinstance(x, Path):
        try:
            x = json.loads(x.read_text(encoding="utf-8"))
        except OSError as e:
            raise InputError(f"cannot read trajectory file {x}: {e}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"trajectory file is not valid JSON: {e}") from None
    if isinstance(x, dict) and "messages" in x:        # other keys (target, metadata) are ignored
        x = {"messages": x["messages"]}
    if isinstance(x, str):
        raise InputError("a trajectory is a list of messages (or {'messages': [...]}), not a string")
    conv = to_conversation(x, target="trajectory")
    return conv


def as_message(step: Any) -> Message:
    """A proposed step: an assistant Message/dict, one tool call ``{"function": {...}}``, or a list of them."""
    from pydantic import ValidationError

    try:
        if isinstance(step, Message):
            return step
        if isinstance(step, dict) and "role" in step:
            m = Message.model_validate(step)
        elif isinstance(step, dict) and ("function" in step or "name" in step):
            fn = step.get("function") or {"name": step["name"], "arguments": step.get("arguments", "{}")}
            m = Message(role="assistant", tool_calls=[ToolCall.model_validate({**step, "function": fn}
                                                                             if "function" in step else {"function": fn})])
        elif isinstance(step, list):
            m = Message(role="assistant", tool_calls=[ToolCall.model_validate(t) for t in step])
        else:
            raise InputError(f"a proposed step is an assistant message or a tool call, not {type(step).__name__}")
    except ValidationError as e:
        err = e.errors()[0]
        raise InputError(f"invalid proposed step at {'.'.join(map(str, err['loc'])) or 'root'}: {err['msg']}") from None
    if m.role != "assistant":
        raise InputError(f"a proposed step must be an assistant message, not role {m.role!r}")
    if not (m.content.strip() or m.tool_calls):
        raise InputError("the proposed step is empty (no content, no tool calls)")
    return m


def is_action(m: Message) -> bool:
    return m.role == "assistant" and bool(m.content.strip() or m.tool_calls)


def action_indices(msgs: list[Message]) -> list[int]:
    return [i for i, m in enumerate(msgs) if is_action(m)]


def tool_call_indices(msgs: list[Message]) -> list[int]:
    return [i for i, m in enumerate(msgs) if m.role == "assistant" and m.tool_calls]


def last_observation(msgs: list[Message], before: int) -> str:
    """The last tool result before index ``before`` (clipped to its last OBS_CHARS characters), or ''."""
    for j in range(before - 1, -1, -1):
        if msgs[j].role == "tool":
            return msgs[j].content[-OBS_CHARS:]
        if msgs[j].role == "user":
            return ""
    return ""


def step_text(m: Message) -> str:
    """What the matcher reads of an action: its text and calls (the guard's own rendering)."""
    return m.text()


def is_user_message_to(m: Message) -> bool:
    """Does this assistant message talk to the user (a text answer, or an ask/notify tool)?"""
    if m.role != "assistant":
        return False
    if m.content.strip() and not m.tool_calls:
        return True
    return any(_ASK_TOOLS.search(tc.function.name) for tc in m.tool_calls)


def call_arguments(tc: ToolCall) -> dict[str, Any]:
    try:
        v = json.loads(tc.function.arguments or "{}")
    except json.JSONDecodeError:
        return {"input": tc.function.arguments}
    return v if isinstance(v, dict) else {"input": v}


def iter_strings(v: Any, key: str = "") -> Iterable[tuple[str, str]]:
    """(key, string value) pairs of a nested argument object."""
    if isinstance(v, str):
        yield key, v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield from iter_strings(x, str(k))
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from iter_strings(x, key)
    elif v is not None:
        yield key, str(v)
