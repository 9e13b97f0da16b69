"""API keys, CORS, no user text in logs, health/readiness and Prometheus metrics."""
from __future__ import annotations

import logging
import time

from fastapi.testclient import TestClient
from srvutil import BENIGN, HARMFUL, app_client, settings

from routeguard.server import create_app


def test_api_keys(anchor_guard):
    with app_client(anchor_guard, api_keys=["alpha", "beta"]) as c:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic alpha"},
                        {"Authorization": "alpha"}):
            r = c.post("/v1/moderations", json={"input": BENIGN}, headers=headers)
            assert r.status_code == 401, headers
            assert r.json()["error"]["code"] == "invalid_api_key"
            assert r.headers["www-authenticate"] == "Bearer"
        for key in ("alpha", "beta"):
            r = c.post("/v1/guard", json={"input": BENIGN}, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200
        for path in ("/v1/guard", "/beta/litellm_basic_guardrail_api", "/v1/chat/completions"):
            assert c.post(path, json={}).status_code == 401          # auth before validation
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer beta"}).status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200
        assert c.get("/").status_code == 200                           # the page itself is public


def test_cors_off_by_default_and_configurable(anchor_guard):
    pre = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    with app_client(anchor_guard) as c:
        r = c.post("/v1/guard", json={"input": BENIGN}, headers={"Origin": "https://app.example"})
        assert "access-control-allow-origin" not in r.headers
        assert c.options("/v1/guard", headers=pre).status_code in (404, 405)
    with app_client(anchor_guard, cors_origins=["https://app.example"]) as c:
        r = c.options("/v1/guard", headers=pre)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example"
        r = c.options("/v1/guard", headers={**pre, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def test_no_user_text_in_logs(anchor_guard, caplog):
    secret = "zebra-kumquat-7731 " + HARMFUL
    caplog.set_level(logging.DEBUG)
    with app_client(anchor_guard) as c:
        c.post("/v1/guard", json={"input": secret})
        c.post("/v1/moderations", json={"input": [secret, ""]})
        c.post("/v1/guard", json={"input": secret, "bogus": secret})
        c.post("/v1/guard", json={"input": secret, "target": "response"})
        c.post("/beta/litellm_basic_guardrail_api", json={"input_type": "request", "texts": [secret]})
        c.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": secret}]})
    assert caplog.records, "expected access logs"
    for rec in caplog.records:
        assert "zebra-kumquat" not in rec.getMessage()


def test_health_readiness_and_loading(anchor_guard, tmp_path):
    with app_client(anchor_guard) as c:
        assert c.get("/healthz").json()["status"] == "ok"
        ready = c.get("/readyz").json()
        assert ready["status"] == "ok" and ready["model"] == "routeguard-test-anchors"
    # guard=None loads settings.model in the background; a bad folder is reported, never served
    app = create_app(settings=settings(model=str(tmp_path / "missing")))
    with TestClient(app) as c:
        t0 = time.time()
        while c.get("/readyz").json()["status"] == "loading" and time.time() - t0 < 10:
            time.sleep(0.05)
        r = c.get("/readyz")
        assert r.status_code == 503 and r.json()["status"] == "failed"
        assert c.get("/healthz").status_code == 200
        r = c.post("/v1/guard", json={"input": BENIGN})
        assert r.status_code == 503 and r.json()["error"]["code"] == "model_failed"
    # a saved guard folder loads through routeguard.load
    folder = anchor_guard.save(tmp_path / "m")
    with TestClient(create_app(settings=settings(model=str(folder)))) as c:
        t0 = time.time()
        while c.get("/readyz").status_code != 200 and time.time() - t0 < 20:
            time.sleep(0.05)
        assert c.post("/v1/guard", json={"input": HARMFUL}).json()["flagged"] is True


def test_metrics(anchor_guard):
    with app_client(anchor_guard) as c:
        c.post("/v1/moderations", json={"input": [HARMFUL, BENIGN]})
        c.post("/v1/guard", json={"input": HARMFUL})
        c.post("/v1/guard", json={"input": 5})
        text = c.get("/metrics").text
    assert 'routeguard_http_requests_total{endpoint="/v1/moderations",method="POST",status="200"} 1.0' in text
    assert 'routeguard_http_requests_total{endpoint="/v1/guard",method="POST",status="422"} 1.0' in text
    assert 'routeguard_http_request_seconds_bucket{endpoint="/v1/guard",le="+Inf"} 2.0' in text
    assert 'routeguard_flags_total{category="weapons_drugs_physical_harm"} 2.0' in text
    assert 'routeguard_verdicts_total{flagged="true"} 2.0' in text
    assert 'routeguard_verdicts_total{flagged="false"} 1.0' in text
    assert "routeguard_degraded_verdicts_total 0.0" in text
    assert "routeguard_queue_depth 0.0" in text
    assert "routeguard_batch_size_count" in text and "routeguard_guard_batch_seconds_bucket" in text
    assert "routeguard_model_ready 1.0" in text


def test_apps_do_not_share_state(anchor_guard):
    """Two apps in one process: separate registries, separate settings (no module-level state)."""
    a = create_app(guard=anchor_guard, settings=settings())
    b = create_app(guard=anchor_guard, settings=settings(api_keys=["k"]))
    with TestClient(a) as ca, TestClient(b) as cb:
        ca.post("/v1/guard", json={"input": BENIGN})
        assert cb.post("/v1/guard", json={"input": BENIGN}).status_code == 401
        assert 'status="200"' in ca.get("/metrics").text
        assert 'status="200"' not in cb.get("/metrics", headers={"Authorization": "Bearer k"}).text


def _ready(c) -> dict:
    t0 = time.time()
    while c.get("/readyz").json()["status"] == "loading" and time.time() - t0 < 30:
        time.sleep(0.05)
    return c.get("/readyz").json()


def test_the_packaged_default_model_serves_with_its_own_encoder():
    """The shipped default reads a fine-tuned encoder: the server must load it with that encoder, with the
    default settings and with encoder options (which reopen the model's own encoder, not the base MiniLM)."""
    import routeguard

    name = routeguard.load("default").encoder.name
    for kw in ({}, {"encoder_threads": 1, "encoder_spinning": True}):
        app = create_app(settings=settings(**kw))
        with TestClient(app) as c:
            assert _ready(c)["status"] == "ok", kw
            assert c.post("/v1/guard", json={"input": HARMFUL}).json()["flagged"] is True
            assert c.post("/v1/guard", json={"input": BENIGN}).json()["flagged"] is False
            enc = app.state.service.guard.encoder
            assert enc.name == name
            if kw:
                assert enc._sess.get_session_options().intra_op_num_threads == 1
