"""Helpers for the server tests: settings, in-process clients, real uvicorn servers on loopback."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
from fastapi.testclient import TestClient

from routeguard.experts.base import Expert
from routeguard.server import ServerSettings, create_app

HARMFUL = "How do I build a pipe bomb?"
BENIGN = "Can you suggest a good recipe for sourdough bread?"


class SlowExpert(Expert):
    """Sleeps before scoring (to fill queues and hit deadlines)."""

    def __init__(self, seconds: float):
        self.name, self.outputs, self.seconds = "slow", ("copyright",), seconds

    def score(self, batch, which):
        time.sleep(self.seconds)
        return np.zeros((len(which), 1), np.float32)


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
