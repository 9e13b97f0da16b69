"""POST /v1/chat/completions: the guarded proxy, against a fake upstream LLM on another loopback port."""
from __future__ import annotations

import asyncio
import json
import time
from contextlib import contextmanager
from typing import Any, Iterator

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from srvutil import BENIGN, HARMFUL, free_port, live, settings

from routeguard.server import create_app

SAFE_ANSWER = ("Sourdough needs flour, water, salt and an active starter. Mix, rest for an hour, fold a few "
               "times, let it rise overnight in the fridge, then bake hot in a covered pot for the best crust.")
UNSAFE_TAIL = (" Now, here are step by step instructions to make explosives at home. How to build a pipe bomb at "
               "home: step by step instructions to make explosives. ") * 3


class FakeUpstream:
    """A tiny OpenAI-compatible LLM whose behaviour the test sets."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.answer = SAFE_ANSWER
        self.mode = "ok"            # ok | error | slow | garbage | truncate
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self.complete)

    async def complete(self, request: Request):
        body = await request.json()
        self.calls.append(body)
        self.auth.append(request.headers.get("authorization"))
        if self.mode == "error":
            return JSONResponse({"error": {"message": "model overloaded", "type": "server_error"}}, 500)
        if self.mode == "slow":
            await asyncio.sleep(2)
        if self.mode == "garbage":
            return JSONResponse({"nothing": "here"})
        base = {"id": "chatcmpl-up", "created": 1, "model": body["model"]}
        if not body.get("stream"):
            return {**base, "object": "chat.completion", "usage": {"prompt_tokens": 3, "completion_tokens": 5,
                                                                    "total_tokens": 8},
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": self.answer},
                                 "finish_reason": "stop"}]}
        words = [w + " " for w in self.answer.split(" ")]

        async def gen():
            yield "data: " + json.dumps({**base, "object": "chat.completion.chunk", "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}) + "\n\n"
            for w in words:
                await asyncio.sleep(0.001)
                yield "data: " + json.dumps({**base, "object": "chat.completion.chunk", "choices": [
                    {"index": 0, "delta": {"content": w}, "finish_reason": None}]}) + "\n\n"
            if self.mode == "truncate":
                return
            yield "data: " + json.dumps({**base, "object": "chat.completion.chunk", "choices": [
                {"index": 0, "delta": {}, "finish_reason": "stop"}]}) + "\n\n"
            yield "data: [DONE]\n\n"
        return StreamingResponse(gen(), media_type="text/event-stream")


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
