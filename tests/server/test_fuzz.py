"""Fuzzing: schemathesis against the app's own OpenAPI schema (bounded, derandomised), and hostile bodies
(invalid UTF-8, huge, deeply nested): never a 5xx, every error in the documented shape."""
from __future__ import annotations

import json

import httpx
import pytest
from srvutil import FakeUpstream, live, settings

from routeguard.server import create_app
from routeguard.server.testing import error_shape_problem, fuzz_openapi

pytest.importorskip("schemathesis", reason="the fuzz extra (schemathesis) is not installed")

KEY = {"Authorization": "Bearer fuzz-key"}
POSTS = ("/v1/moderations", "/v1/guard", "/beta/litellm_basic_guardrail_api", "/v1/chat/completions")


@pytest.fixture(scope="module")
def server(anchor_guard):
    up = FakeUpstream()
    with live(up.app) as u:
        app = create_app(guard=anchor_guard, settings=settings(api_keys=["fuzz-key"], max_body_bytes=65536,
                                                               upstream={"base_url": u.url + "/v1"}))
        with live(app) as s:
            yield s.url, app


def test_schemathesis_no_5xx_and_documented_errors(server):
    url, app = server
    report = fuzz_openapi(url, app.openapi(), max_examples=20, seed=13, headers=KEY)
    assert set(report["operations"]) >= {f"POST {p}" for p in POSTS}
    assert all(op["requests"] > 0 for op in report["operations"].values())
    assert report["requests"] >= 120
    print(json.dumps({k: v for k, v in report.items() if k != "operations"}))
    assert report["server_errors"] == 0 and report["bad_error_shape"] == 0, report["problems"]


def post(url: str, path: str, content: bytes, ctype: str = "application/json") -> httpx.Response:
    return httpx.post(url + path, content=content, headers={**KEY, "Content-Type": ctype}, timeout=30)


@pytest.mark.parametrize("path", POSTS)
def test_hostile_bodies(server, path):
    url, _ = server
    bodies = {
        "invalid utf-8": (b'{"input": "\xff\xfe bad", "input_type": "request", "texts": ["\xc3\x28"]}', 400),
        "lone surrogate": (b'{"input": "\\ud800", "texts": ["\\udfff"], "input_type": "request"}', 422),
        "huge": (b'{"input": "' + b"a" * 200_000 + b'"}', 413),
        "deep nesting": (b'{"input": ' + b"[" * 5000 + b"]" * 5000 + b"}", None),
        "deep objects": (b'{"messages": [{"role": "user", "content": "x", "name": ' + b'{"a":' * 3000
                         + b"1" + b"}" * 3000 + b"}]}", None),
        "not json": (b"\x00\x01garbage", 400),
        "json scalar": (b"42", None),
        "empty": (b"", 400),
    }
    for what, (body, status) in bodies.items():
        r = post(url, path, body)
        assert r.status_code < 500, (what, r.status_code, r.text[:300])
        assert 400 <= r.status_code < 500, (what, r.status_code)
        if status is not None and not (what == "lone surrogate" and path == "/v1/chat/completions"):
            assert r.status_code == status, (what, r.status_code, r.text[:300])
        assert error_shape_problem(r.status_code, r.content) is None, (what, r.text[:300])
    r = post(url, path, b'{"input": "hi"}', ctype="text/plain")
    assert 400 <= r.status_code < 500 and error_shape_problem(r.status_code, r.content) is None
