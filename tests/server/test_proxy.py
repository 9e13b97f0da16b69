"""POST /v1/chat/completions: the guarded proxy, against a fake upstream LLM on another loopback port."""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Any, Iterator

import httpx
import pytest
from srvutil import BENIGN, HARMFUL, SAFE_ANSWER, UNSAFE_TAIL, FakeUpstream, free_port, live, settings

from routeguard.server import create_app



@contextmanager
def proxy_pair(guard, **upstream_kw: Any) -> Iterator[tuple[str, FakeUpstream]]:
    up = FakeUpstream()
    with live(up.app) as u:
        cfg = settings(upstream={"base_url": u.url + "/v1", "api_key": "sk-upstream", "timeout_s": 1.0,
                                 **upstream_kw},
                       stream={"check_every_chars": 80, "window_chars": 300}, api_keys=["client-key"])
        with live(create_app(guard=guard, settings=cfg)) as g:
            yield g.url, up


H = {"Authorization": "Bearer client-key"}


def chat(url: str, content: str, stream: bool = False, **kw: Any) -> httpx.Response:
    body = {"model": "up-model", "messages": [{"role": "user", "content": content}], "stream": stream, **kw}
    return httpx.post(url + "/v1/chat/completions", json=body, headers=H, timeout=20)


def sse_events(r: httpx.Response) -> list[Any]:
    out = []
    for line in r.text.splitlines():
        if line.startswith("data: "):
            p = line[6:]
            out.append(p if p == "[DONE]" else json.loads(p))
    return out


def streamed_text(events: list[Any]) -> str:
    return "".join((c.get("delta") or {}).get("content") or "" for e in events if isinstance(e, dict)
                   for c in e.get("choices", []))


@pytest.fixture(scope="module")
def pair(request):
    guard = request.getfixturevalue("anchor_guard")
    with proxy_pair(guard) as p:
        yield p


@pytest.fixture(autouse=True)
def _reset(request):
    if "pair" in request.fixturenames:
        up = request.getfixturevalue("pair")[1]
        up.answer, up.mode = SAFE_ANSWER, "ok"


def test_safe_passthrough(pair):
    url, up = pair
    n = len(up.calls)
    r = chat(url, BENIGN, temperature=0.2, max_tokens=50)
    assert r.status_code == 200
    body = r.json()
    assert body["choices"][0]["message"]["content"] == SAFE_ANSWER
    assert body["choices"][0]["finish_reason"] == "stop" and body["routeguard"]["blocked"] is None
    assert len(up.calls) == n + 1
    assert up.calls[-1]["temperature"] == 0.2 and up.calls[-1]["max_tokens"] == 50   # forwarded as is
    assert up.auth[-1] == "Bearer sk-upstream"                     # the client's key is not forwarded


def test_blocked_request_never_reaches_upstream(pair):
    url, up = pair
    n = len(up.calls)
    r = chat(url, HARMFUL)
    assert r.status_code == 200
    ch = r.json()["choices"][0]
    assert ch["finish_reason"] == "content_filter" and "safety guard" in ch["message"]["content"]
    assert r.json()["routeguard"]["blocked"] == "request"
    s = chat(url, HARMFUL, stream=True)
    ev = sse_events(s)
    assert s.headers["content-type"].startswith("text/event-stream")
    assert ev[-1] == "[DONE]" and ev[0]["choices"][0]["finish_reason"] == "content_filter"
    assert len(up.calls) == n


def test_unsafe_answer_replaced(pair):
    url, up = pair
    up.answer = "Sure." + UNSAFE_TAIL
    r = chat(url, "tell me a story")
    ch = r.json()["choices"][0]
    assert ch["finish_reason"] == "content_filter" and "explosives" not in ch["message"]["content"]
    assert r.json()["routeguard"]["blocked"] == "response"


def test_stream_safe_with_openai_client(pair):
    openai = pytest.importorskip("openai")
    url, _ = pair
    cl = openai.OpenAI(base_url=url + "/v1", api_key="client-key", max_retries=0)
    chunks = list(cl.chat.completions.create(model="up-model", stream=True,
                                             messages=[{"role": "user", "content": BENIGN}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() == SAFE_ANSWER
    assert chunks[-1].choices[0].finish_reason == "stop"
    plain = cl.chat.completions.create(model="up-model", messages=[{"role": "user", "content": BENIGN}])
    assert plain.choices[0].message.content == SAFE_ANSWER


def test_stream_cut_the_moment_it_turns_unsafe(pair):
    openai = pytest.importorskip("openai")
    url, up = pair
    up.answer = SAFE_ANSWER + UNSAFE_TAIL + " More benign closing words follow here." * 20
    r = chat(url, "tell me about bread", stream=True)
    ev = sse_events(r)
    assert ev[-1] == "[DONE]"
    last = ev[-2]
    assert last["choices"][0]["finish_reason"] == "content_filter"
    assert last["routeguard"]["blocked"] == "response"
    text = streamed_text(ev)
    assert "explosives" not in text and "pipe bomb" not in text
    assert text.startswith("Sourdough")                  # the safe part was released before the cut
    assert "closing words" not in text                   # nothing after the cut
    cl = openai.OpenAI(base_url=url + "/v1", api_key="client-key", max_retries=0)
    chunks = list(cl.chat.completions.create(model="up-model", stream=True,
                                             messages=[{"role": "user", "content": "bread?"}]))
    assert chunks[-1].choices[0].finish_reason == "content_filter"


def test_short_unsafe_stream_caught_by_final_check(pair):
    url, up = pair
    up.answer = "How to build a pipe bomb at home."          # shorter than check_every_chars
    ev = sse_events(chat(url, "hello", stream=True))
    assert ev[-2]["choices"][0]["finish_reason"] == "content_filter"
    assert "pipe bomb" not in streamed_text(ev)


def test_upstream_failures_never_fail_open(pair):
    url, up = pair
    up.mode = "error"
    r = chat(url, BENIGN)
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_error"
    assert "overloaded" in r.json()["error"]["message"]
    assert chat(url, BENIGN, stream=True).status_code == 502
    up.mode = "garbage"
    assert chat(url, BENIGN).json()["error"]["code"] == "upstream_invalid"
    up.mode = "slow"
    t0 = time.time()
    r = chat(url, BENIGN)
    assert r.status_code == 504 and r.json()["error"]["code"] == "upstream_timeout" and time.time() - t0 < 1.9
    up.mode = "truncate"
    ev = sse_events(chat(url, BENIGN, stream=True))
    assert ev[-1]["error"]["code"] == "upstream_incomplete" and "[DONE]" not in ev


def test_unreachable_upstream_and_unconfigured(anchor_guard):
    cfg = settings(upstream={"base_url": f"http://127.0.0.1:{free_port()}/v1", "connect_timeout_s": 1})
    with live(create_app(guard=anchor_guard, settings=cfg)) as g:
        r = httpx.post(g.url + "/v1/chat/completions", timeout=10,
                       json={"model": "m", "messages": [{"role": "user", "content": BENIGN}]})
        assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unreachable"
        bad = httpx.post(g.url + "/v1/chat/completions", json={"model": "m", "messages": []}, timeout=10)
        assert bad.status_code == 422
    with live(create_app(guard=anchor_guard, settings=settings())) as g:
        r = httpx.post(g.url + "/v1/chat/completions", timeout=10,
                       json={"model": "m", "messages": [{"role": "user", "content": BENIGN}]})
        assert r.status_code == 501


def test_system_prompt_context_and_tool_call_answers(pair):
    url, up = pair
    n = len(up.calls)
    sys_msg = {"role": "system", "content": "Refuse requests such as how to build a pipe bomb at home."}
    body = {"model": "up-model", "messages": [sys_msg, {"role": "user", "content": BENIGN}]}
    r = httpx.post(url + "/v1/chat/completions", json=body, headers=H, timeout=20)
    assert r.json()["choices"][0]["message"]["content"] == SAFE_ANSWER and len(up.calls) == n + 1
    # an answer that is only a tool call asking for bomb instructions is replaced by the refusal
    up.answers["tools"] = [{"id": "c1", "type": "function", "function": {
        "name": "web_search", "arguments": json.dumps({"query": "step by step instructions to make explosives"})}}]
    r = httpx.post(url + "/v1/chat/completions", json={**body, "model": "tools"}, headers=H, timeout=20).json()
    assert r["choices"][0]["finish_reason"] == "content_filter" and "tool_calls" not in r["choices"][0]["message"]
    up.answers["tools"] = [{"id": "c2", "type": "function", "function": {"name": "get_weather",
                                                                          "arguments": "{\"city\": \"Paris\"}"}}]
    r = httpx.post(url + "/v1/chat/completions", json={**body, "model": "tools"}, headers=H, timeout=20).json()
    assert r["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    up.answers.clear()
