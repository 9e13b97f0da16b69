"""Judges against a local FAKE OpenAI-compatible server: every format, log-probs or not, and every
failure mode (5xx, 4xx, timeouts, malformed bodies, unparseable answers, servers without log-probs)."""
import time

import pytest

from routeguard.errors import ConfigError
from routeguard.judges import FORMATS, Judge, JudgeError, JudgeParseError, OpenAIChatClient
from routeguard.judges.fake_server import Scenario

UNSAFE = "How do I make meth at home?"
SAFE = "What's a good recipe for banana bread?"
RESPONSE = [{"role": "user", "content": "Tell me about chemistry"},
            {"role": "assistant", "content": "Sure: to build a bomb you mix..."}]


def judge(server, fmt, model="kw", **kw):
    kw.setdefault("retries", 0)
    kw.setdefault("backoff", 0.0)
    return Judge.openai(fmt, server.base_url, model, **kw)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_end_to_end_with_logprobs(server, fmt):
    j = judge(server, fmt)
    bad, good, resp = j.judge_many([UNSAFE, SAFE, RESPONSE])
    assert bad.unsafe and bad.score == pytest.approx(0.9) and bad.score_source == "logprobs"
    assert not good.unsafe and good.score == pytest.approx(0.1, abs=0.1) and good.score_source == "logprobs"
    assert resp.unsafe, resp.raw
    if j.categories and fmt != "policyguard":
        assert "weapons_drugs_physical_harm" in bad.categories
        assert bad.category_scores["weapons_drugs_physical_harm"] == pytest.approx(0.9)
    assert bad.format == fmt and bad.model == "kw" and bad.latency_ms > 0


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_without_logprobs_scores_from_the_label(server, fmt):
    server.scenarios["nolp"] = Scenario(logprobs=None)
    j = judge(server, fmt, model="nolp")
    bad, good = j.judge_many([UNSAFE, SAFE])
    assert (bad.unsafe, bad.score, bad.score_source) == (True, 1.0, "label")
    assert (good.unsafe, good.score, good.score_source) == (False, 0.0, "label")


def test_scripted_answer_and_explicit_logprobs(server):
    server.scenarios["lg"] = Scenario(text="unsafe\nS10", logprobs=[
        ("unsafe", -0.5, {"unsafe": -0.5, "safe": -1.2}), ("\n", 0.0, {}), ("S", 0.0, {}), ("10", 0.0, {})])
    r = judge(server, "llama-guard-3", model="lg").judge(UNSAFE)
    assert r.unsafe and r.native_categories == ["S10"] and r.categories == ["hate_harassment"]
    import math
    assert r.score == pytest.approx(math.exp(-0.5) / (math.exp(-0.5) + math.exp(-1.2)))


def test_request_shape_and_api_key(server, monkeypatch):
    monkeypatch.setenv("ROUTEGUARD_JUDGE_API_KEY", "sk-test")
    server.scenarios["m"] = Scenario()
    judge(server, "llama-guard-3", model="m").judge(UNSAFE)
    body, headers = server.scenarios["m"].seen[-1], server.scenarios["m"].headers[-1]
    assert body["model"] == "m" and body["temperature"] == 0 and body["logprobs"] is True
    assert body["top_logprobs"] == 5 and body["max_tokens"] == 20
    assert headers["authorization"] == "Bearer sk-test"


def test_5xx_is_retried_with_backoff_then_succeeds(server):
    server.scenarios["flaky"] = Scenario(status=503, fail_first=2)
    t0 = time.perf_counter()
    r = judge(server, "llama-guard-3", model="flaky", retries=2, backoff=0.05).judge(UNSAFE)
    assert r.unsafe and server.calls["flaky"] == 3
    assert time.perf_counter() - t0 >= 0.05 + 0.1            # waited 0.05 then 0.1 s


def test_429_is_retried(server):
    server.scenarios["busy"] = Scenario(status=429, fail_first=1)
    assert judge(server, "wildguard", model="busy", retries=1).judge(UNSAFE).unsafe
    assert server.calls["busy"] == 2


def test_persistent_5xx_fails_never_safe(server):
    server.scenarios["down"] = Scenario(status=500)
    with pytest.raises(JudgeError, match="failed after 3 attempt"):
        judge(server, "llama-guard-3", model="down", retries=2).judge(SAFE)
    assert server.calls["down"] == 3


def test_4xx_fails_at_once(server):
    server.scenarios["auth"] = Scenario(status=401)
    with pytest.raises(JudgeError, match="HTTP 401"):
        judge(server, "llama-guard-3", model="auth", retries=3).judge(SAFE)
    assert server.calls["auth"] == 1


def test_timeout_is_retried_then_fails(server):
    server.scenarios["slow"] = Scenario(delay=1.0)
    t0 = time.perf_counter()
    with pytest.raises(JudgeError, match="timeout"):
        judge(server, "llama-guard-3", model="slow", timeout=0.2, retries=1).judge(SAFE)
    assert server.calls["slow"] == 2          # one try + one retry, each cut at the timeout


@pytest.mark.parametrize("scenario,match", [
    (Scenario(body="this is not json"), "not JSON"),
    (Scenario(body='{"object": "chat.completion"}'), "missing"),
    (Scenario(body='{"choices": [{"message": {"role": "assistant", "content": null}}]}'), "no text"),
    (Scenario(text="I am not sure, it seems fine."), "first line"),
    (Scenario(text=""), "empty"),
])
def test_malformed_answers_are_parse_errors_not_safe(server, scenario, match):
    server.scenarios["bad"] = scenario
    with pytest.raises(JudgeParseError, match=match):
        judge(server, "llama-guard-3", model="bad").judge(SAFE)


def test_server_rejecting_logprobs_is_asked_again_without(server):
    server.scenarios["nolp"] = Scenario(reject_logprobs=True)
    j = judge(server, "llama-guard-3", model="nolp")
    r = j.judge(UNSAFE)
    assert r.unsafe and r.score_source == "label" and j.backend.logprobs_supported is False
    j.judge(SAFE)
    assert "logprobs" not in server.scenarios["nolp"].seen[-1]
    assert server.calls["nolp"] == 3                     # 400, retry without, then straight without


def test_judge_many_runs_concurrently_within_the_limit(server):
    server.scenarios["par"] = Scenario(delay=0.25)
    j = judge(server, "llama-guard-3", model="par", concurrency=4)
    res = j.judge_many([f"{UNSAFE} #{i}" for i in range(8)])
    assert all(r.unsafe for r in res)
    # concurrency is observed at the server (no wall-clock assertion: machines here are noisy)
    assert 2 <= server.load["max_in_flight"] <= 4


def test_judge_many_isolates_failures_per_item(server):
    server.scenarios["m"] = Scenario()
    j = judge(server, "llama-guard-3", model="m", max_input_chars=3000)
    ok, too_long, empty = j.judge_many([UNSAFE, "x " * 1500, "   "])
    assert ok.unsafe
    assert isinstance(too_long, JudgeError) and "max_input_chars" in str(too_long)
    assert isinstance(empty, JudgeError)


def test_per_policy_formats_make_one_call_per_policy(server):
    j = judge(server, "shieldgemma")
    r = j.judge(UNSAFE)
    assert r.calls == 4 and server.calls["kw"] == 4
    assert r.policy_scores["dangerous"] == pytest.approx(0.9) and r.policy_scores["hate"] == pytest.approx(0.1)


def test_judgements_are_cached(server):
    j = judge(server, "granite-guardian")
    a = j.judge(UNSAFE)
    b = j.judge(UNSAFE)
    assert a == b and server.calls["kw"] == 1 and "It mentions" in a.rationale


def test_reasoning_field_becomes_rationale(server):
    server.scenarios["think"] = Scenario(reasoning="The user wants drug synthesis steps.")
    r = judge(server, "llama-guard-3", model="think").judge(UNSAFE)
    assert r.rationale == "The user wants drug synthesis steps."


def test_client_config_errors():
    with pytest.raises(ConfigError):
        OpenAIChatClient("localhost:8000", "m")
    with pytest.raises(ConfigError):
        OpenAIChatClient("http://x", "m", concurrency=0)
    assert OpenAIChatClient("http://x:1", "m").url == "http://x:1/v1/chat/completions"
    assert OpenAIChatClient("http://x:1/v1/", "m").url == "http://x:1/v1/chat/completions"


def test_unreachable_server_is_a_judge_error():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(JudgeError):
        Judge.openai("llama-guard-3", f"http://127.0.0.1:{port}/v1", "m", retries=0, timeout=1).judge(SAFE)
