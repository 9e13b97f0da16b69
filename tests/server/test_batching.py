"""Micro-batching, backpressure (429) and deadlines (503), on a real uvicorn server."""
from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from srvutil import BENIGN, HARMFUL, live, settings

from routeguard.server import create_app


async def _fire(url: str, n: int, path: str = "/v1/guard", body_fn=None) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as c:
        bodies = [body_fn(i) if body_fn else {"input": f"{BENIGN} ({i})"} for i in range(n)]
        return list(await asyncio.gather(*(c.post(path, json=b) for b in bodies)))


def _metric(text: str, name: str) -> float:
    m = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    assert m, name
    return float(m.group(1))


@pytest.mark.parametrize("enabled", [True, False])
def test_concurrent_requests_batched_and_correct(anchor_guard, enabled):
    app = create_app(guard=anchor_guard, settings=settings(batching={"enabled": enabled, "max_wait_ms": 20}))
    with live(app) as srv:
        def body(i: int) -> dict:
            return {"input": HARMFUL if i % 4 == 0 else f"{BENIGN} ({i})"}
        rs = asyncio.run(_fire(srv.url, 32, body_fn=body))
        assert [r.status_code for r in rs] == [200] * 32
        # every answer belongs to its own request, whatever batch it rode in
        assert [r.json()["flagged"] for r in rs] == [i % 4 == 0 for i in range(32)]
        text = httpx.get(srv.url + "/metrics").text
    calls, items = _metric(text, "routeguard_batch_size_count"), _metric(text, "routeguard_batch_size_sum")
    assert items == 32
    if enabled:
        assert calls < 32, "concurrent requests should share guard calls"
    else:
        assert calls == 32


@pytest.mark.parametrize("enabled", [True, False])
def test_full_queue_gives_429(slow_guard, enabled):
    cfg = {"enabled": enabled, "max_queue": 2, "max_batch_size": 1, "retry_after_s": 3}
    app = create_app(guard=slow_guard, settings=settings(batching=cfg))
    with live(app) as srv:
        rs = asyncio.run(_fire(srv.url, 8))
        codes = sorted(r.status_code for r in rs)
        assert codes.count(200) >= 2 and codes.count(429) >= 4 and set(codes) <= {200, 429}, codes
        for r in rs:
            if r.status_code == 429:
                assert r.headers["retry-after"] == "3"
                assert r.json()["error"]["code"] == "queue_full"
                assert r.json()["error"]["type"] == "rate_limit_error"
        # the server recovers once the queue drains
        assert httpx.post(srv.url + "/v1/guard", json={"input": HARMFUL}, timeout=10).json()["flagged"] is True
        text = httpx.get(srv.url + "/metrics").text
        assert _metric(text, 'routeguard_rejected_total{reason="queue_full"}') == codes.count(429)
        assert _metric(text, "routeguard_queue_depth") == 0


@pytest.mark.parametrize("enabled", [True, False])
def test_deadline_gives_503(slow_guard, enabled):
    cfg = {"enabled": enabled, "request_timeout_s": 0.1, "retry_after_s": 2}
    app = create_app(guard=slow_guard, settings=settings(batching=cfg))
    with live(app) as srv:
        r = httpx.post(srv.url + "/v1/moderations", json={"input": BENIGN}, timeout=10)
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert r.json()["error"]["code"] == "guard_timeout"
        assert httpx.get(srv.url + "/healthz").status_code == 200
