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
