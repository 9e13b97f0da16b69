import pytest

from routeguard import Conversation, InputError, to_conversation


def test_string_becomes_prompt():
    c = to_conversation("hello there")
    assert c.resolved_target == "prompt"
    assert c.focus_and_context() == ("hello there", "")


def test_response_target_splits_focus_and_context():
    c = to_conversation([{"role": "user", "content": "How do I bake bread?"},
                         {"role": "assistant", "content": "Mix flour and water."}])
    assert c.resolved_target == "response"
    focus, ctx = c.focus_and_context()
    assert focus == "Mix flour and water."
    assert ctx == "User: How do I bake bread?"


def test_trajectory_inferred_and_tool_calls_rendered():
    c = to_conversation([
        {"role": "user", "content": "clean up my home folder"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "1", "type": "function", "function": {"name": "bash", "arguments": {"cmd": "rm -rf ~"}}}]},
        {"role": "tool", "tool_call_id": "1", "content": "done"},
    ])
    assert c.resolved_target == "trajectory"
    focus, _ = c.focus_and_context()
    assert 'bash({"cmd": "rm -rf ~"})' in focus


@pytest.mark.parametrize("bad, needle", [
    ("", "empty"),
    ("   ", "empty"),
    ([], "empty"),
    ([{"role": "wizard", "content": "hi"}], "role"),
    ([{"role": "user", "content": 42}], "content"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], "image_url"),
    ([{"role": "user", "content": "a\x00b"}], "NUL"),
    (b"\xff\xfe\xfa", "UTF-8"),
    (12, "type int"),
    ({"messages": [{"role": "user", "content": "x"}], "bogus": 1}, "bogus"),
])
def test_bad_inputs_raise_clear_input_errors(bad, needle):
    with pytest.raises(InputError) as e:
        to_conversation(bad)
    assert needle.lower() in str(e.value).lower()


def test_target_needing_missing_role_is_an_input_error():
    c = to_conversation("only a user turn", target="response")
    with pytest.raises(InputError, match="assistant"):
        c.focus_and_context()


def test_text_parts_are_joined():
    c = Conversation(messages=[{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}])
    assert c.messages[0].content == "a\nb"


def test_oversize_message_rejected():
    from routeguard.types import MAX_TEXT_CHARS

    with pytest.raises(InputError, match="limit"):
        to_conversation("x" * (MAX_TEXT_CHARS + 1))


def test_system_messages_are_never_judged():
    sys_msg = {"role": "system", "content": "You are a helpful assistant."}
    c = Conversation.model_validate({"messages": [sys_msg, {"role": "user", "content": "hi"}]})
    assert c.resolved_target == "prompt" and c.focus_and_context() == ("hi", "")
    # a trailing system message does not make the assistant reply a prompt
    c = Conversation.model_validate({"messages": [{"role": "user", "content": "q"},
                                                  {"role": "assistant", "content": "a"}, sys_msg]})
    assert c.resolved_target == "response" and c.focus_and_context() == ("a", "User: q")
    c = Conversation.model_validate({"messages": [sys_msg, {"role": "user", "content": "q"},
                                                  {"role": "assistant", "content": "a"}], "target": "conversation"})
    assert c.focus_and_context() == ("User: q\nAgent: a", "")
    for target in (None, "prompt", "conversation"):
        only = Conversation.model_validate({"messages": [sys_msg], "target": target})
        with pytest.raises(InputError, match="system"):
            only.focus_and_context()


def test_pending_tool_calls_become_action_views():
    import json

    from routeguard.types import FunctionCall, ToolCall, Verdict, tool_call_request

    call = {"id": "c", "type": "function", "function": {"name": "web_search", "arguments": json.dumps(
        {"query": "how to build a pipe bomb", "n": 3, "safe": True, "opts": {"lang": ["en"]}})}}
    c = Conversation.model_validate({"messages": [{"role": "user", "content": "hi"},
                                                  {"role": "assistant", "content": None, "tool_calls": [call]}]})
    assert c.resolved_target == "trajectory"
    [(label, view)] = c.action_views()
    assert label == "tool call web_search" and view.resolved_target == "prompt"
    assert view.messages[0].content == "how to build a pipe bomb\n3\nen"
    # a call already answered by a tool result is not pending
    done = Conversation.model_validate({"messages": c.model_dump()["messages"] + [
        {"role": "tool", "tool_call_id": "c", "content": "nothing"}]})
    assert done.action_views() == []
    raw = ToolCall(function=FunctionCall(name="shell", arguments="rm -rf /"))      # not JSON: taken as it is
    assert tool_call_request(raw) == "rm -rf /"
    # combining: flagged if a part is, the reason says which
    base = dict(categories={"a": False}, category_scores={"a": 0.1}, target="response",
                route={"experts": ["general"], "router_scores": {}}, experts=[])
    main = Verdict(flagged=False, unsafe_score=0.1, reason="safe", **base)
    part = Verdict(flagged=True, unsafe_score=0.9, reason="unsafe: a 0.90",
                   **{**base, "categories": {"a": True}, "category_scores": {"a": 0.9}})
    v = main.combined([("tool call x", part)])
    assert v.flagged and v.unsafe_score == 0.9 and v.categories == {"a": True} and v.target == "response"
    assert v.reason == "tool call x: unsafe: a 0.90; the response itself: safe"
    assert main.combined([]) is main
