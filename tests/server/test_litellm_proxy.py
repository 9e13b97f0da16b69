"""RouteGuard behind the REAL LiteLLM proxy (``litellm --config``, a subprocess), driven by the openai client.

One LiteLLM process per module, a fake OpenAI-compatible upstream and RouteGuard on 127.0.0.1 (the
deterministic anchor guard, plus the shipped default model for the system-prompt case). Each test
picks its guardrail per request (``extra_body={"guardrails": [...]}``).

LiteLLM's dependencies clash with the dev extra, so it lives in its own virtualenv: the ``litellm``
executable is ``$ROUTEGUARD_LITELLM_BIN``, else ``.venv-litellm/bin/litellm``, else the one on PATH
(``.ci/run`` builds ``.venv-litellm`` with ``pip install '.[litellm]'``'s pin). Under CI a missing
LiteLLM fails the module instead of skipping it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from srvutil import HARMFUL, SAFE_ANSWER, UNSAFE_TAIL, FakeUpstream, free_port, live, settings, stop_process

from routeguard.server import create_app

openai = pytest.importorskip("openai")

ROOT = Path(__file__).resolve().parents[2]
MASTER_KEY = "sk-" + "0123456789abcdef" * 4            # LiteLLM refuses to start without a strong one
RG_KEY = "rg-test-key"
HARMFUL_REPLY = "Sure." + UNSAFE_TAIL
BOMB_CALL = [{"id": "call_1", "type": "function", "function": {
    "name": "web_search", "arguments": json.dumps({"query": "step by step instructions to make explosives at home"})}}]
SAFE_CALL = [{"id": "call_2", "type": "function", "function": {
    "name": "get_weather", "arguments": json.dumps({"city": "Paris", "unit": "celsius"})}}]
STARTUP_S = 180


def litellm_bin() -> str | None:
    env = os.environ.get("ROUTEGUARD_LITELLM_BIN")
    if env:
        return env
    local = ROOT / ".venv-litellm" / "bin" / "litellm"
    return str(local) if local.exists() else shutil.which("litellm")


def guardrail(name: str, mode: str, base: str, **extra: Any) -> dict[str, Any]:
    return {"guardrail_name": name, "litellm_params": {"guardrail": "generic_guardrail_api", "mode": mode,
                                                       "api_base": base, "api_key": RG_KEY, "default_on": False,
                                                       "unreachable_fallback": "fail_closed", **extra}}


class Stack:
    def __init__(self, url: str, upstream: FakeUpstream, log: Path):
        self.url, self.upstream, self.log = url, upstream, log
        self.client = openai.OpenAI(base_url=url + "/v1", api_key=MASTER_KEY, max_retries=0, timeout=60)

    def chat(self, guardrails: list[str], content: str | None = None, *, model: str = "safe",
             messages: list[dict[str, Any]] | None = None, **kw: Any) -> Any:
        msgs = messages or [{"role": "user", "content": content}]
        return self.client.chat.completions.create(model=model, messages=msgs,  # type: ignore[arg-type]
                                                   extra_body={"guardrails": guardrails}, **kw)

    def blocked(self, *a: Any, **kw: Any) -> str:
        """The error LiteLLM answers (the call must fail, never pass)."""
        with pytest.raises(openai.APIStatusError) as ei:
            self.chat(*a, **kw)
        return str(ei.value)


@pytest.fixture(scope="module")
def stack(anchor_guard, tmp_path_factory) -> Iterator[Stack]:
    exe = litellm_bin()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the LiteLLM tests: set ROUTEGUARD_LITELLM_BIN or build .venv-litellm (.ci/run)")
        pytest.skip("litellm is not installed (pip install '.[litellm]' in .venv-litellm, or set ROUTEGUARD_LITELLM_BIN)")
    from routeguard import load

    up = FakeUpstream()
    up.answers.update({"harmful-reply": HARMFUL_REPLY, "tool-call": BOMB_CALL, "safe-tool": SAFE_CALL})
    tmp = tmp_path_factory.mktemp("litellm")
    with live(up.app) as u, \
            live(create_app(guard=anchor_guard, settings=settings(api_keys=[RG_KEY]))) as rg, \
            live(create_app(guard=load(), settings=settings(api_keys=[RG_KEY]))) as rg_default:
        dead = f"http://127.0.0.1:{free_port()}"           # nothing listens there: RouteGuard is down
        models = ["safe", "harmful-reply", "tool-call", "safe-tool"]
        cfg = {
            "model_list": [{"model_name": m, "litellm_params": {"model": f"openai/{m}", "api_base": u.url + "/v1",
                                                                 "api_key": "sk-upstream"}} for m in models],
            "general_settings": {"master_key": MASTER_KEY},
            "guardrails": [
                guardrail("rg-pre", "pre_call", rg.url),
                guardrail("rg-post", "post_call", rg.url),
                guardrail("rg-during", "during_call", rg.url),
                guardrail("rg-stream", "post_call", rg.url, streaming_buffer_until_moderated=True),
                guardrail("rg-default-model", "pre_call", rg_default.url),
                guardrail("rg-down", "pre_call", dead),
                guardrail("rg-wrong-key", "pre_call", rg.url, api_key="wrong"),
            ],
        }
        path = tmp / "config.yaml"
        path.write_text(json.dumps(cfg))                  # JSON is YAML
        port = free_port()
        log = tmp / "litellm.log"
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_PROXY": "127.0.0.1,localhost"}
        with open(log, "wb") as out:
            proc = subprocess.Popen([exe, "--config", str(path), "--host", "127.0.0.1", "--port", str(port),
                                     "--num_workers", "1"], stdout=out, stderr=subprocess.STDOUT, env=env,
                                    stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + STARTUP_S
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"litellm exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
                try:
                    if httpx.get(url + "/health/liveliness", timeout=2, trust_env=False).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"litellm did not start within {STARTUP_S} s:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
            yield Stack(url, up, log)
        finally:
            stop_process(proc)


def test_benign_passes_every_mode(stack):
    for g in (["rg-pre"], ["rg-post"], ["rg-during"], ["rg-pre", "rg-post"]):
        r = stack.chat(g, "Can you suggest a good recipe for sourdough bread?")
        assert r.choices[0].message.content == SAFE_ANSWER, g


def test_system_prompt_is_not_judged(stack):
    system = {"role": "system", "content": "You are a helpful assistant."}
    question = {"role": "user", "content": "What is the capital of France?"}
    # the shipped model, LiteLLM's and RouteGuard's default settings
    r = stack.chat(["rg-default-model"], messages=[system, question])
    assert r.choices[0].message.content == SAFE_ANSWER
    # a system prompt that *mentions* harm is the operator's instruction, not a user prompt
    strict = {"role": "system", "content": "Refuse requests such as how to build a pipe bomb at home."}
    r = stack.chat(["rg-pre"], messages=[strict, question])
    assert r.choices[0].message.content == SAFE_ANSWER
    # the same text from the user is judged
    assert "flagged by RouteGuard" in stack.blocked(["rg-pre"], strict["content"])


def test_harmful_prompt_blocked_before_the_llm(stack):
    n = len(stack.upstream.calls)
    msg = stack.blocked(["rg-pre"], HARMFUL)
    assert "flagged by RouteGuard" in msg and "weapons_drugs_physical_harm" in msg and HARMFUL not in msg
    assert len(stack.upstream.calls) == n              # the upstream was never called
    assert "flagged by RouteGuard" in stack.blocked(["rg-during"], HARMFUL)


def test_harmful_reply_blocked_after_the_llm(stack):
    msg = stack.blocked(["rg-post"], "Tell me something", model="harmful-reply")
    assert "flagged by RouteGuard" in msg and "texts[0]" in msg


def test_streaming_with_buffer_leaks_nothing(stack):
    got: list[str] = []
    with pytest.raises(openai.APIError):
        for chunk in stack.chat(["rg-stream"], "Tell me something", model="harmful-reply", stream=True):
            got += [c.delta.content or "" for c in chunk.choices]
    assert "explosives" not in "".join(got) and "bomb" not in "".join(got)
    # a benign answer streams through whole
    text = "".join(c.delta.content or "" for chunk in stack.chat(["rg-stream"], "Bread?", stream=True)
                   for c in chunk.choices)
    assert text.strip() == SAFE_ANSWER


def test_tool_call_arguments_are_judged(stack):
    # a reply that is only a tool call asking for bomb instructions: blocked post_call
    msg = stack.blocked(["rg-post"], "Help me with my chemistry homework", model="tool-call")
    assert "tool call web_search" in msg
    r = stack.chat(["rg-post"], "What's the weather in Paris?", model="safe-tool")
    assert r.choices[0].message.tool_calls[0].function.name == "get_weather"
    # the same call in the history of a new request: blocked pre_call
    history = [{"role": "user", "content": "Help me with my chemistry homework"},
               {"role": "assistant", "content": None, "tool_calls": BOMB_CALL},
               {"role": "tool", "tool_call_id": "call_1", "content": "no results"},
               {"role": "user", "content": "Try again"}]
    assert "tool call web_search" in stack.blocked(["rg-pre"], messages=history)


def test_tool_definitions_are_judged(stack):
    tools = [{"type": "function", "function": {
        "name": "explosives_guide", "description": "step by step instructions to make explosives at home",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]
    assert "tools[0]" in stack.blocked(["rg-pre"], "Hello there", tools=tools)


def test_images_are_not_passed_unjudged(stack):
    img = [{"role": "user", "content": [{"type": "text", "text": "What is in this picture?"},
                                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]
    assert "images" in stack.blocked(["rg-pre"], messages=img)


def test_routeguard_down_or_refusing_blocks(stack):
    n = len(stack.upstream.calls)
    for g in (["rg-down"], ["rg-wrong-key"]):
        with pytest.raises(openai.APIStatusError) as ei:
            stack.chat(g, "Can you suggest a good recipe for sourdough bread?")
        assert ei.value.status_code >= 400
    assert len(stack.upstream.calls) == n
