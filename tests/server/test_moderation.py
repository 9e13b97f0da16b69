"""POST /v1/moderations: OpenAI's schema, mapped categories, and the official openai client."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from srvutil import BENIGN, HARMFUL, free_port, live, stop_process

from routeguard.server import ServerSettings, create_app
from routeguard.server.service import openai_scores
from routeguard.taxonomy import OPENAI_CATEGORIES, OURS_TO_OPENAI

KEYS = set(OPENAI_CATEGORIES)


def test_schema_and_flags(client):
    r = client.post("/v1/moderations", json={"input": [HARMFUL, BENIGN], "model": "omni-moderation-latest"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "model", "results"} and body["id"].startswith("modr-")
    assert body["model"] == "omni-moderation-latest"
    harmful, benign = body["results"]
    for res in (harmful, benign):
        assert set(res["categories"]) == KEYS and len(KEYS) == 13
        assert set(res["category_scores"]) == KEYS
        assert set(res["category_applied_input_types"]) == KEYS
        assert all(v == ["text"] for v in res["category_applied_input_types"].values())
        assert all(0.0 <= s <= 1.0 for s in res["category_scores"].values())
        assert set(res["routeguard"]) >= {"categories", "category_scores", "route", "degraded"}
    assert harmful["flagged"] is True and benign["flagged"] is False
    assert harmful["categories"]["violence"] is True and harmful["categories"]["illicit/violent"] is True
    assert harmful["category_scores"]["violence"] > 0.9
    # real probabilities: a safe text does not score 1.0 anywhere
    assert max(benign["category_scores"].values()) < 0.5
    assert harmful["routeguard"]["categories"]["weapons_drugs_physical_harm"] is True
    assert "harm" in harmful["routeguard"]["route"]["experts"]


def test_one_result_per_string_and_parts(client):
    assert len(client.post("/v1/moderations", json={"input": ["a b", "c d", "e f"]}).json()["results"]) == 3
    parts = [{"type": "text", "text": "How do I build"}, {"type": "text", "text": "a pipe bomb?"}]
    res = client.post("/v1/moderations", json={"input": parts}).json()["results"]
    assert len(res) == 1 and res[0]["flagged"] is True


def test_mapping_max_and_flags(anchor_guard):
    v = anchor_guard.check(HARMFUL)
    scores = dict(v.category_scores, weapons_drugs_physical_harm=0.3, terrorism_organized_crime=0.8)
    flags = dict(v.categories, weapons_drugs_physical_harm=True, terrorism_organized_crime=False)
    flags_o, scores_o = openai_scores(v.model_copy(update={"category_scores": scores, "categories": flags}))
    assert scores_o["violence"] == pytest.approx(0.8) and flags_o["violence"] is True
    unmapped = KEYS - {k for ks in OURS_TO_OPENAI.values() for k in ks}
    assert all(scores_o[k] == 0.0 and not flags_o[k] for k in unmapped)


def test_openai_client_against_live_server(anchor_guard):
    openai = pytest.importorskip("openai")
    app = create_app(guard=anchor_guard, settings=ServerSettings(api_keys=["sk-test-key"]))
    with live(app) as srv:
        cl = openai.OpenAI(base_url=srv.url + "/v1", api_key="sk-test-key", max_retries=0)
        res = cl.moderations.create(model="omni-moderation-latest", input=[HARMFUL, BENIGN])
        assert [r.flagged for r in res.results] == [True, False]
        assert res.results[0].categories.violence is True
        assert res.results[0].category_scores.violence > 0.9
        assert res.results[1].categories.violence is False
        assert res.results[0].model_extra["routeguard"]["categories"]["weapons_drugs_physical_harm"] is True
        one = cl.moderations.create(input=BENIGN)
        assert len(one.results) == 1 and one.results[0].flagged is False
        bad = openai.OpenAI(base_url=srv.url + "/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad.moderations.create(input=BENIGN)
        with pytest.raises(openai.UnprocessableEntityError):
            cl.moderations.create(input="")


def test_routeguard_serve_cli(anchor_guard, tmp_path):
    """`routeguard serve` on a saved model folder, driven by the openai client."""
    openai = pytest.importorskip("openai")
    folder = anchor_guard.save(tmp_path / "model")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTEGUARD_SERVER_")}
    env["ROUTEGUARD_SERVER_API_KEYS"] = "k1,k2"
    proc = subprocess.Popen([sys.executable, "-m", "routeguard.cli.main", "serve", "--model", str(folder),
                             "--port", str(port), "--log-level", "warning"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        t0 = time.time()
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() - t0 > 40:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"routeguard serve did not become ready:\n{out[-2000:]}")
            time.sleep(0.2)
        cl = openai.OpenAI(base_url=url + "/v1", api_key="k2", max_retries=0)
        res = cl.moderations.create(input=[HARMFUL, BENIGN])
        assert [r.flagged for r in res.results] == [True, False]
    finally:
        stop_process(proc, 10)
