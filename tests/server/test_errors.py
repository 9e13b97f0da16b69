"""Bad requests get the documented status and the one error body, and the server keeps serving."""
from __future__ import annotations

import pytest
from srvutil import BENIGN, HARMFUL, app_client


def assert_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "code"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def assert_still_serving(c) -> None:
    r = c.post("/v1/moderations", json={"input": HARMFUL})
    assert r.status_code == 200 and r.json()["results"][0]["flagged"] is True


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("path", ["/v1/moderations", "/v1/guard", "/beta/litellm_basic_guardrail_api",
                                  "/v1/chat/completions"])
def test_malformed_json(client, path):
    err = assert_error(client.post(path, content=b'{"input": "abc', headers=JSON), 400, "invalid_json")
    assert "JSON" in err["message"]
    assert_still_serving(client)


def test_invalid_utf8_body(client):
    assert_error(client.post("/v1/moderations", content=b'{"input": "\xff\xfe bad"}', headers=JSON), 400, "invalid_body")
    # a lone surrogate escaped in valid JSON is not valid UTF-8 text either
    err = assert_error(client.post("/v1/guard", content=b'{"input": "bad \\ud800 text"}', headers=JSON), 422)
    assert "surrogate" in err["message"]
    assert_still_serving(client)


def test_missing_body_and_wrong_content_type(client):
    assert_error(client.post("/v1/moderations", content=b"", headers=JSON), 400, "missing_body")
    assert_error(client.post("/v1/moderations", content=b'{"input": "x"}',
                             headers={"content-type": "text/plain"}), 415, "unsupported_media_type")


@pytest.mark.parametrize("body,where", [
    ({"input": 3}, "input"),
    ({"input": [1, 2]}, "input"),
    ({"input": "x", "model": 5}, "model"),
    ([], "body"),
])
def test_wrong_types(client, body, where):
    err = assert_error(client.post("/v1/moderations", json=body), 422, "invalid_request")
    assert where in err["message"]


def test_wrong_types_guard(client):
    err = assert_error(client.post("/v1/guard", json={"messages": [{"role": "robot", "content": "hi"}]}), 422)
    assert "messages.0.role" in err["message"]
    err = assert_error(client.post("/v1/guard", json={"input": "hi", "thresholds": {"self_harm": "high"}}), 422)
    assert "thresholds.self_harm" in err["message"]
    err = assert_error(client.post("/v1/guard", json={"input": "hi", "target": "everything"}), 422)
    assert "target" in err["message"]


@pytest.mark.parametrize("path,body,field", [
    ("/v1/moderations", {"input": "hi", "temperature": 1}, "temperature"),
    ("/v1/guard", {"input": "hi", "policy": {}}, "policy"),
    ("/v1/guard", {"messages": [{"role": "user", "content": "hi", "mood": "x"}]}, "mood"),
])
def test_unknown_fields(client, path, body, field):
    """Strict everywhere but the LiteLLM guardrail (which ignores and counts them: test_litellm_contract)."""
    err = assert_error(client.post(path, json=body), 422, "invalid_request")
    assert field in err["message"] and "Extra inputs" in err["message"]


@pytest.mark.parametrize("body", [{"input": ""}, {"input": "   "}, {"input": []}, {"input": ["ok", ""]}])
def test_empty_input_moderation(client, body):
    assert_error(client.post("/v1/moderations", json=body), 422)


def test_empty_input_guard(client):
    assert_error(client.post("/v1/guard", json={"input": ""}), 422, "invalid_input")
    assert_error(client.post("/v1/guard", json={"messages": []}), 422, "invalid_input")
    assert_error(client.post("/v1/guard", json={}), 422, "invalid_request")
    assert_error(client.post("/v1/guard", json={"input": "a", "messages": [{"role": "user", "content": "b"}]}), 422)
    # a response target without an assistant turn names the problem
    err = assert_error(client.post("/v1/guard", json={"input": "hello", "target": "response"}), 422, "invalid_input")
    assert "assistant" in err["message"]
    assert_still_serving(client)


def test_oversize_body(anchor_guard):
    with app_client(anchor_guard, max_body_bytes=4096) as c:
        big = {"input": "a" * 5000}
        err = assert_error(c.post("/v1/moderations", json=big), 413, "body_too_large")
        assert "4096" in err["message"]

        def chunks():                 # no Content-Length: the limit still holds while streaming
            yield b'{"input": "'
            for _ in range(10):
                yield b"a" * 1000
            yield b'"}'
        assert_error(c.post("/v1/moderations", content=chunks(), headers=JSON), 413, "body_too_large")
        assert_still_serving(c)


def test_too_many_texts_and_messages(anchor_guard):
    with app_client(anchor_guard, max_texts=3, max_messages=4) as c:
        assert_error(c.post("/v1/moderations", json={"input": ["a"] * 4}), 413, "too_many_inputs")
        msgs = [{"role": "user", "content": "hi"}] * 5
        assert_error(c.post("/v1/guard", json={"messages": msgs}), 413, "too_many_messages")
        assert_error(c.post("/beta/litellm_basic_guardrail_api", json={"input_type": "request", "texts": ["a"] * 4}),
                     413, "too_many_inputs")
        assert c.post("/v1/moderations", json={"input": ["a", "b", "c"]}).status_code == 200


def test_thresholds_bounded(client):
    for t in (0.0, 0.01, 0.96, 1.0):
        err = assert_error(client.post("/v1/guard", json={"input": BENIGN, "thresholds": {"self_harm": t}}),
                           422, "threshold_out_of_range")
        assert "[0.05, 0.95]" in err["message"]
    assert_error(client.post("/v1/guard", json={"input": BENIGN, "unsafe_threshold": 0.99}), 422,
                 "threshold_out_of_range")
    assert_error(client.post("/v1/guard", json={"input": BENIGN, "thresholds": {"nonsense": 0.5}}), 422,
                 "unknown_category")
    assert_error(client.post("/v1/guard", json={"input": BENIGN, "enforce": ["nonsense"]}), 422, "unknown_category")
    assert client.post("/v1/guard", json={"input": BENIGN, "thresholds": {"self_harm": 0.05}}).status_code == 200


def test_not_found_and_method(client):
    assert_error(client.get("/v2/nothing"), 404, "not_found")
    assert_error(client.get("/v1/moderations"), 405, "method_not_allowed")


def test_image_parts_rejected(client):
    body = {"input": [{"type": "text", "text": "look"},
                      {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}}]}
    assert_error(client.post("/v1/moderations", json=body), 422, "unsupported_input")


def test_failing_expert_degraded_and_flagged(failing_guard):
    """An expert that raises: the verdict is degraded and flagged (fail closed); the server keeps serving."""
    with app_client(failing_guard) as c:
        for _ in range(2):
            r = c.post("/v1/guard", json={"input": BENIGN})
            assert r.status_code == 200
            v = r.json()
            assert v["degraded"] is True and v["flagged"] is True
            assert "DEGRADED" in v["reason"]
            broken = [e for e in v["experts"] if e["expert"] == "broken"][0]
            assert broken["error"].startswith("RuntimeError")
        m = c.post("/v1/moderations", json={"input": BENIGN}).json()["results"][0]
        assert m["flagged"] is True and m["routeguard"]["degraded"] is True
        lit = c.post("/beta/litellm_basic_guardrail_api", json={"input_type": "request", "texts": [BENIGN]}).json()
        assert lit["action"] == "BLOCKED" and "degraded" in lit["blocked_reason"]
        assert "routeguard_degraded_verdicts_total 4.0" in c.get("/metrics").text
        assert c.get("/readyz").status_code == 200
