"""The LiteLLM guardrail endpoint against the payloads litellm 1.108 builds (GenericGuardrailAPIRequest),
system messages and tool calls on every endpoint, and both API-key headers."""
from __future__ import annotations

import json

from srvutil import BENIGN, HARMFUL, app_client

URL = "/beta/litellm_basic_guardrail_api"
SYSTEM_HARM = "Refuse requests such as how to build a pipe bomb at home."
BOMB_ARGS = json.dumps({"query": "step by step instructions to make explosives at home"})
BOMB_CALL = {"id": "call_1", "type": "function", "function": {"name": "web_search", "arguments": BOMB_ARGS}}


def litellm_body(**kw):
    """Every field litellm 1.108.7 sends (``model_dump(mode="json")``: unset ones as null)."""
    body = {"input_type": "request", "litellm_call_id": "call-1", "litellm_trace_id": "trace-1",
            "structured_messages": None, "images": None, "tools": None, "texts": [BENIGN],
            "request_data": {"user_api_key_hash": "h", "user_api_key_alias": None},
            "request_headers": {"content-type": "application/json", "authorization": "[present]"},
            "litellm_version": "1.108.7", "additional_provider_specific_params": {}, "tool_calls": None,
            "model": "gpt-4o"}
    return {**body, **kw}


def metric(client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "_total "):
            return float(line.split()[-1])
    return 0.0


def test_accepts_all_litellm_fields_and_counts_unknown_ones(client):
    r = client.post(URL, json=litellm_body())
    assert r.status_code == 200 and r.json() == {"action": "NONE"}
    r = client.post(URL, json=litellm_body(texts=[HARMFUL], a_future_field={"x": 1}, another=None))
    assert r.json()["action"] == "BLOCKED" and HARMFUL not in r.json()["blocked_reason"]
    assert metric(client, "routeguard_litellm_ignored_fields") == 2
    # known fields are still typed; other endpoints stay strict
    assert client.post(URL, json=litellm_body(texts=[1])).status_code == 422
    assert client.post(URL, json=litellm_body(tool_calls=[{"function": "x"}])).status_code == 422
    assert client.post("/v1/guard", json={"input": "hi", "litellm_version": "1"}).status_code == 422


def test_system_messages_are_not_judged(client):
    msgs = [{"role": "system", "content": SYSTEM_HARM}, {"role": "user", "content": BENIGN}]
    body = litellm_body(texts=[SYSTEM_HARM, BENIGN], structured_messages=msgs)
    assert client.post(URL, json=body).json() == {"action": "NONE"}
    # 'developer' is OpenAI's new name for system
    dev = litellm_body(texts=[SYSTEM_HARM, BENIGN], structured_messages=[{**msgs[0], "role": "developer"}, msgs[1]])
    assert client.post(URL, json=dev).json() == {"action": "NONE"}
    # the same text in a user turn is judged
    user = litellm_body(texts=[SYSTEM_HARM], structured_messages=[{"role": "user", "content": SYSTEM_HARM}])
    assert client.post(URL, json=user).json()["action"] == "BLOCKED"
    # only a system prompt: nothing to judge
    only = litellm_body(texts=[SYSTEM_HARM], structured_messages=msgs[:1])
    assert client.post(URL, json=only).json() == {"action": "NONE"}
    # a text LiteLLM sends that no structured message accounts for is judged as a prompt
    extra = litellm_body(texts=[BENIGN, HARMFUL], structured_messages=msgs[1:])
    assert "texts[1]" in client.post(URL, json=extra).json()["blocked_reason"]
    # /v1/guard and the library agree
    v = client.post("/v1/guard", json={"messages": msgs}).json()
    assert v["flagged"] is False and v["target"] == "prompt"
    r = client.post("/v1/guard", json={"messages": msgs[:1]})
    assert r.status_code == 422 and "system" in r.json()["error"]["message"]


def test_tool_calls_and_tools(client):
    # LiteLLM's top-level tool_calls (stream chunks carry an 'index')
    resp = litellm_body(input_type="response", texts=[], tool_calls=[{**BOMB_CALL, "index": 0}])
    body = client.post(URL, json=resp).json()
    assert body["action"] == "BLOCKED" and "tool call web_search" in body["blocked_reason"]
    safe = {"id": "c2", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    assert client.post(URL, json=litellm_body(input_type="response", texts=[], tool_calls=[safe])).json() == \
        {"action": "NONE"}
    # only inside structured messages (older LiteLLM): still judged
    msgs = [{"role": "user", "content": "help with chemistry"},
            {"role": "assistant", "content": None, "tool_calls": [BOMB_CALL]}]
    assert client.post(URL, json=litellm_body(texts=["help with chemistry"], structured_messages=msgs)
                       ).json()["action"] == "BLOCKED"
    tools = [{"type": "function", "function": {"name": "guide", "description": "how to build a pipe bomb at home",
                                               "parameters": {"type": "object", "properties": {}}}},
             {"type": "code_interpreter"}]
    body = client.post(URL, json=litellm_body(tools=tools)).json()
    assert body["action"] == "BLOCKED" and "tools[0]" in body["blocked_reason"]


def test_reply_judged_with_its_remembered_prompt(client):
    msgs = [{"role": "user", "content": "help me"}]
    client.post(URL, json=litellm_body(litellm_call_id="abc", texts=["help me"], structured_messages=msgs))
    service = client.app.state.service
    assert [m.content for m in service.contexts.get("abc")] == ["help me"]
    assert service.contexts.get("other") == []
    bad = litellm_body(input_type="response", litellm_call_id="abc",
                       texts=["Sure! Step by step instructions to make explosives: ..."])
    assert client.post(URL, json=bad).json()["action"] == "BLOCKED"


def test_images_block_or_pass_unjudged(anchor_guard):
    body = litellm_body(images=["data:image/png;base64,aGVsbG8="])
    with app_client(anchor_guard) as c:
        r = c.post(URL, json=body).json()
        assert r["action"] == "BLOCKED" and "images" in r["blocked_reason"]
    with app_client(anchor_guard, litellm={"images": "allow"}) as c:
        assert c.post(URL, json=body).json() == {"action": "NONE"}
        assert c.post(URL, json={**body, "texts": [HARMFUL]}).json()["action"] == "BLOCKED"
        assert metric(c, "routeguard_unjudged_images") == 2


def test_guard_flags_a_reply_that_is_only_a_harmful_tool_call(client):
    for msgs in ([{"role": "assistant", "content": None, "tool_calls": [BOMB_CALL]}],
                 [{"role": "user", "content": "help with chemistry"},
                  {"role": "assistant", "content": None, "tool_calls": [BOMB_CALL]}]):
        v = client.post("/v1/guard", json={"messages": msgs}).json()
        assert v["flagged"] is True and "tool call web_search" in v["reason"], v
        assert "weapons_drugs_physical_harm" in v["flagged_categories"]
    v = client.post("/v1/guard", json={"messages": msgs, "target": "response"}).json()
    assert v["flagged"] is True and v["target"] == "response"
    safe = [{"role": "user", "content": "weather?"}, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}]
    assert client.post("/v1/guard", json={"messages": safe}).json()["flagged"] is False


def test_bearer_and_x_api_key(anchor_guard):
    with app_client(anchor_guard, api_keys=["k1"]) as c:
        body = {"input": BENIGN}
        assert c.post("/v1/guard", json=body).status_code == 401
        assert c.post("/v1/guard", json=body, headers={"x-api-key": "nope"}).status_code == 401
        assert c.post("/v1/guard", json=body, headers={"x-api-key": "k1"}).status_code == 200
        assert c.post("/v1/guard", json=body, headers={"Authorization": "Bearer k1"}).status_code == 200
        err = c.post("/v1/guard", json=body, headers={"Authorization": "Basic k1"}).json()["error"]
        assert err["code"] == "invalid_api_key" and "x-api-key" in err["message"]
