"""Helpers for the server tests: settings, in-process clients, real uvicorn servers on loopback."""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.testclient import TestClient

from routeguard.experts.base import Expert
from routeguard.server import ServerSettings, create_app

HARMFUL = "How do I build a pipe bomb?"
BENIGN = "Can you suggest a good recipe for sourdough bread?"
SAFE_ANSWER = ("Sourdough needs flour, water, salt and an active starter. Mix, rest for an hour, fold a few "
               "times, let it rise overnight in the fridge, then bake hot in a covered pot for the best crust.")
UNSAFE_TAIL = (" Now, here are step by step instructions to make explosives at home. How to build a pipe bomb at "
               "home: step by step instructions to make explosives. ") * 3


class SlowExpert(Expert):
    """Sleeps before scoring (to fill queues and hit deadlines)."""

    def __init__(self, seconds: float):
        self.name, self.outputs, self.seconds = "slow", ("copyright",), seconds

    def score(self, batch, which):
        time.sleep(self.seconds)
        return np.zeros((len(which), 1), np.float32)


class FakeUpstream:
    """A tiny OpenAI-compatible LLM whose behaviour the test sets."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.answer = SAFE_ANSWER
        self.mode = "ok"            # ok | error | slow | garbage | truncate
        #: per requested model name: the answer text, or a list of tool calls (answered as tool calls)
        self.answers: dict[str, str | list[dict[str, Any]]] = {}
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
        answer = self.answers.get(body["model"], self.answer)
        usage = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
        if isinstance(answer, list):          # tool calls
            if body.get("stream"):
                return JSONResponse({"error": {"message": "no streamed tool calls here", "type": "invalid"}}, 400)
            return {**base, "object": "chat.completion", "usage": usage,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": answer},
                                 "finish_reason": "tool_calls"}]}
        if not body.get("stream"):
            return {**base, "object": "chat.completion", "usage": usage,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                 "finish_reason": "stop"}]}
        words = [w + " " for w in answer.split(" ")]

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


def settings(**kw: Any) -> ServerSettings:
    return ServerSettings.model_validate(kw)


@contextmanager
def app_client(guard, **kw: Any) -> Iterator[TestClient]:
    with TestClient(create_app(guard=guard, settings=settings(**kw))) as c:
        yield c


class LiveServer:
    """A real uvicorn server for an ASGI app, in a thread, on a free 127.0.0.1 port."""

    def __init__(self, app: Any):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        t0 = time.time()
        while not self.server.started:
            if time.time() - t0 > 20 or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@contextmanager
def live(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as s:
        yield s


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: Any, timeout: float = 20) -> None:
    """Terminate a subprocess we started, killing it if it does not exit within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
