"""HTTP guards against a local httpx MockTransport (fakes only stand in for remote services)."""
from __future__ import annotations

import json

import pytest
from evalutil import rec

from routeguard.eval.guards import HTTPRouteGuard, ModerationGuard
from routeguard.eval.metrics import evaluate
from routeguard.types import ExpertResult, Route, Verdict

httpx = pytest.importorskip("httpx", reason="HTTP guards need httpx (the dev extra)")


def verdict(flagged: bool, score: float, router: bool = True) -> dict:
    cats = {"weapons_drugs_physical_harm": score, "self_harm": 0.01}
    v = Verdict(flagged=flagged, unsafe_score=score, categories={c: s >= 0.5 for c, s in cats.items()},
                category_scores=cats, target="prompt",
                route=Route(experts=["general", "harm"], router_scores={"harm": 0.9, "safe": 0.1} if router else {}),
                experts=[ExpertResult(expert="general", scores={"unsafe": score})])
    return json.loads(v.model_dump_json())


RECORDS = [rec("u", "how to build a bomb", "unsafe", ["weapons_drugs_physical_harm"]), rec("s", "bake bread")]


def guard_server(seen: list):
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append((request.url.path, body, request.headers.get("authorization")))
        bad = "bomb" in body["messages"][-1]["content"]
        return httpx.Response(200, json=verdict(bad, 0.97 if bad else 0.03))
    return handler


def test_http_guard_posts_messages_and_target_and_reads_the_verdict():
    seen: list = []
    g = HTTPRouteGuard("http://guard.test/", transport=httpx.MockTransport(guard_server(seen)), api_key="k",
                       concurrency=2)
    preds = g.predict(RECORDS)
    assert seen[0][0] == "/v1/guard" and seen[0][2] == "Bearer k"
    assert {tuple(sorted(b)) for _, b, _ in seen} == {("messages", "target")}
    assert seen[0][1]["target"] == "prompt"
    assert preds[0].flagged and preds[0].unsafe_score == pytest.approx(0.97)
    assert preds[0].categories == ["weapons_drugs_physical_harm"] and preds[0].routed == ["general", "harm"]
    assert not preds[1].flagged and preds[1].error is None and preds[1].latency_ms >= 0
    m = evaluate(RECORDS, preds, guard_categories=g.categories, routed=g.routed)
    assert m["binary"]["f1"] == 1.0 and m["routing"]["recall"] == 1.0


def test_server_without_router_reports_no_route():
    def handler(request):
        return httpx.Response(200, json=verdict(False, 0.1, router=False))
    g = HTTPRouteGuard("http://guard.test", transport=httpx.MockTransport(handler))
    preds = g.predict(RECORDS)
    assert preds[0].routed is None
    assert evaluate(RECORDS, preds, guard_categories=g.categories, routed=g.routed)["routing"] is None


def test_retries_transient_failures_then_succeeds():
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("connection refused")
        if calls["n"] == 2:
            return httpx.Response(503, headers={"Retry-After": "0"}, text="busy")
        return httpx.Response(200, json=verdict(True, 0.9))
    g = HTTPRouteGuard("http://guard.test", transport=httpx.MockTransport(handler), retries=2, backoff=0)
    p = g.predict(RECORDS[:1])[0]
    assert calls["n"] == 3 and p.error is None and p.flagged


@pytest.mark.parametrize("failure", ["connect", "timeout", "500", "400", "not-json", "bad-verdict"])
def test_network_and_protocol_failures_are_flagged_errors(failure):
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        if failure == "connect":
            raise httpx.ConnectError("connection refused")
        if failure == "timeout":
            raise httpx.ReadTimeout("timed out")
        if failure == "500":
            return httpx.Response(500, text="boom")
        if failure == "400":
            return httpx.Response(400, json={"error": "bad request"})
        if failure == "not-json":
            return httpx.Response(200, text="<html>proxy login</html>")
        return httpx.Response(200, json={"flagged": False})          # not a Verdict: never "safe"
    g = HTTPRouteGuard("http://guard.test", transport=httpx.MockTransport(handler), retries=2, backoff=0)
    preds = g.predict(RECORDS)
    assert all(p.error and p.flagged and p.unsafe_score is None for p in preds)
    per_record = calls["n"] / len(RECORDS)
    assert per_record == (3 if failure in ("connect", "timeout", "500") else 1)   # 4xx is not retried
    m = evaluate(RECORDS, preds)
    assert m["binary"]["tn"] == 0 and m["binary"]["fp"] == 1 and m["n_errors"] == 2


def moderation_server(seen: list):
    def handler(request):
        body = json.loads(request.content)
        seen.append((request.url.path, body))
        bad = "bomb" in body["input"]
        keys = ["violence", "illicit/violent", "self-harm", "harassment"]
        scores = {k: 0.0 for k in keys} | ({"violence": 0.8, "illicit/violent": 0.6} if bad else {"harassment": 0.2})
        return httpx.Response(200, json={"id": "modr-1", "model": "m", "results": [{
            "flagged": bad, "categories": {k: v >= 0.5 for k, v in scores.items()}, "category_scores": scores}]})
    return handler


def test_moderation_guard_maps_openai_categories_to_ours():
    seen: list = []
    g = ModerationGuard("http://mod.test/v1", transport=httpx.MockTransport(moderation_server(seen)),
                        model="omni-moderation-latest")
    preds = g.predict(RECORDS)
    # requests run concurrently: their order is not fixed
    assert ("/v1/moderations", {"input": "how to build a bomb", "model": "omni-moderation-latest"}) in seen
    assert preds[0].flagged and preds[0].unsafe_score == pytest.approx(0.8)
    assert preds[0].categories == ["weapons_drugs_physical_harm"]
    assert preds[0].category_scores["weapons_drugs_physical_harm"] == pytest.approx(0.8)
    assert not preds[1].flagged and preds[1].unsafe_score == pytest.approx(0.2)
    assert preds[1].category_scores["hate_harassment"] == pytest.approx(0.2)
    assert "copyright" not in g.categories and "self_harm" in g.categories


@pytest.mark.parametrize("payload", [{"results": []}, {"results": [{"flagged": "no"}]},
                                     {"results": [{"flagged": False, "category_scores": {"hate": 7}}]}])
def test_malformed_moderation_answers_are_errors(payload):
    g = ModerationGuard("http://mod.test", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=payload)))
    p = g.predict(RECORDS[1:])[0]
    assert p.error and p.flagged
