"""A FAKE OpenAI-compatible chat-completions server, for tests and demos of the judge plumbing.

It is not a model. By default it reads the judge prompt, recognises which guard format it is
(Llama Guard, WildGuard, Qwen3Guard, ShieldGemma, Granite Guardian, GuardReasoner, PolicyGuard,
RouteGuard critique), decides "unsafe" by *keyword matching* on the judged text, and answers in that
format, with log-probabilities when asked. Per-model :class:`Scenario`\\ s script exact answers,
HTTP errors, slow answers, malformed bodies and servers that reject ``logprobs``.

    with FakeJudgeServer() as srv:                 # 127.0.0.1, a free port, in a thread
        srv.scenarios["m"] = Scenario(text="unsafe\\nS1")
        judge = Judge.openai("llama-guard-3", srv.base_url, "m")

``python -m routeguard.judges.fake_server --port 8101`` serves the keyword fake (needs fastapi + uvicorn).
"""
import math
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["FakeJudgeServer", "Scenario", "create_app", "keyword_verdict", "tokenize"]

#: keyword -> our category (the fake's whole "model")
KEYWORDS: dict[str, str] = {
    "bomb": "weapons_drugs_physical_harm", "explosive": "weapons_drugs_physical_harm",
    "meth": "weapons_drugs_physical_harm", "gun": "weapons_drugs_physical_harm",
    "poison": "weapons_drugs_physical_harm", "kill": "weapons_drugs_physical_harm",
    "weapon": "weapons_drugs_physical_harm", "cocaine": "weapons_drugs_physical_harm",
    "hack": "cyberattack", "malware": "cyberattack", "ransomware": "cyberattack", "exploit": "cyberattack",
    "keylogger": "cyberattack", "phishing": "unethical_nonviolent", "steal": "unethical_nonviolent",
    "fraud": "unethical_nonviolent", "scam": "unethical_nonviolent", "launder": "unethical_nonviolent",
    "suicide": "self_harm", "hurt myself": "self_harm", "self-harm": "self_harm",
    "racist": "hate_harassment", "slur": "hate_harassment", "inferior": "hate_harassment",
    "porn": "sexual_content", "nude": "sexual_content", "terror": "terrorism_organized_crime",
}

LG_OF = {"weapons_drugs_physical_harm": "S1", "unethical_nonviolent": "S2", "sexual_content": "S12",
         "child_abuse": "S4", "misinformation": "S5", "sensitive_information": "S7", "copyright": "S8",
         "hate_harassment": "S10", "self_harm": "S11", "cyberattack": "S14", "terrorism_organized_crime": "S1"}
QWEN_OF = {"weapons_drugs_physical_harm": "Violent", "unethical_nonviolent": "Non-violent Illegal Acts",
           "sexual_content": "Sexual Content or Sexual Acts", "sensitive_information": "PII",
           "self_harm": "Suicide & Self-Harm", "cyberattack": "Non-violent Illegal Acts",
           "hate_harassment": "Unethical Acts", "terrorism_organized_crime": "Violent",
           "copyright": "Copyright Violation", "controversial_politics": "Politically Sensitive Topics"}
#: label word -> the alternative the fake offers in top_logprobs
COUNTER = {"safe": "unsafe", "unsafe": "safe", "yes": "no", "no": "yes", "harmful": "unharmful",
           "unharmful": "harmful", "true": "false", "false": "true", "violation": "no", "controversial": "safe"}

_BLOCKS = [("<BEGIN CONVERSATION>", "<END CONVERSATION>"), ("<start_of_conversation>", "<end_of_conversation>"),
           ("<TRAJECTORY>", "</TRAJECTORY>"), ("<conversation>", "</conversation>"),
           ("<start_of_turn>", "Our safety principle"), ("Human user:", "\n---\n"), ("Human user:", None)]


@dataclass
class Scenario:
    """A scripted answer for one model name.

    ``text``: the answer (None: the keyword fake). ``logprobs``: ``"auto"`` (derived tokens, the label
    token at probability ``p_label``), None (never return them), or explicit
    ``[(token, logprob, {alt: logprob})]``. ``status``/``fail_first``: answer HTTP ``status`` to the
    first ``fail_first`` calls (all calls when ``fail_first`` is None). ``delay``: seconds before
    answering. ``body``: a raw response body (str) returned with status 200, e.g. not JSON.
    ``reject_logprobs``: answer 400 to requests that ask for log-probabilities.
    """

    text: str | None = None
    logprobs: Any = "auto"
    p_label: float = 0.9
    status: int = 200
    fail_first: int | None = None
    delay: float = 0.0
    body: str | None = None
    reject_logprobs: bool = False
    reasoning: str | None = None
    answer: Callable[[str], str] | None = None      # prompt -> answer text
    seen: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def judged_block(prompt: str) -> str:
    for a, b in _BLOCKS:
        i = prompt.find(a)
        if i >= 0:
            j = prompt.find(b, i + len(a)) if b else -1
            return prompt[i + len(a): j if j >= 0 else len(prompt)]
    return prompt


def keyword_verdict(text: str) -> list[str]:
    low = text.lower()
    return sorted({c for k, c in KEYWORDS.items() if re.search(r"\b" + re.escape(k), low)})


def detect_format(prompt: str) -> str:
    if "<BEGIN UNSAFE CONTENT CATEGORIES>" in prompt and "S1:" in prompt:
        return "llama-guard"
    if "Safety: Controversial" in prompt:
        return "qwen3guard-gen"
    if "finish three tasks" in prompt:
        return "guardreasoner"
    if "Answers: [/INST]" in prompt:
        return "wildguard"
    if "Our safety principle is defined" in prompt:
        return "shieldgemma"
    if "<start_of_risk_definition>" in prompt:
        return "granite-guardian"
    if "<POLICY>" in prompt:
        return "policyguard"
    if '"unsafe": true or false' in prompt:
        return "routeguard-critique"
    return "unknown"


def keyword_answer(prompt: str) -> str:
    """What the keyword fake answers to a judge prompt, in the prompt's format."""
    import json

    fmt = detect_format(prompt)
    cats = keyword_verdict(judged_block(prompt))
    bad = bool(cats)
    response = "Chatbot Response:" in prompt or "ASSISTANT's response" in prompt
    if fmt == "llama-guard":
        return "unsafe\n" + ",".join(sorted({LG_OF.get(c, "S2") for c in cats})) if bad else "safe"
    if fmt == "qwen3guard-gen":
        s = "Safety: Unsafe\nCategories: " + ", ".join(sorted({QWEN_OF.get(c, "Unethical Acts") for c in cats})) \
            if bad else "Safety: Safe\nCategories: None"
        return s + ("\nRefusal: No" if response else "")
    if fmt in ("wildguard", "guardreasoner"):
        m = re.search(r"Human user:\n(.*)\n\nAI assistant:\n(.*?)(?:\n\n---|\s*$)", prompt, re.DOTALL)
        req, resp = (m.group(1), m.group(2).strip()) if m else (prompt, "")
        has_resp = bool(resp) and resp != "None"
        req_bad, resp_bad = bool(keyword_verdict(req)), bool(keyword_verdict(resp)) if has_resp else False
        if fmt == "wildguard":
            yn = {True: "yes", False: "no"}
            return (f"Harmful request: {yn[req_bad]}\nResponse refusal: {'no' if has_resp else 'n/a'}\n"
                    f"Harmful response: {yn[resp_bad] if has_resp else 'n/a'}")
        h = {True: "harmful", False: "unharmful"}
        return (f"# Task 1\n\n## Reasoning Step 1: The request {'mentions ' + ', '.join(cats) if bad else 'is benign'}.\n"
                f"---\n\nAnswers: \nRequest: {h[req_bad]}\nCompletion: {'compliance' if has_resp else 'None'}\n"
                f"Response: {h[resp_bad] if has_resp else 'None'}")
    if fmt == "shieldgemma":
        from .formats import SHIELDGEMMA_POLICIES

        pol = next((k for k, (t, _) in SHIELDGEMMA_POLICIES.items() if t in prompt), None)
        hit = bool(pol and set(cats) & set(SHIELDGEMMA_POLICIES[pol][1]))
        return "Yes" if hit else "No"
    if fmt == "granite-guardian":
        return f"<think>{'It mentions ' + ', '.join(cats) if bad else 'Nothing harmful.'}</think>\n" \
               f"<score> {'yes' if bad else 'no'} </score>"
    if fmt == "policyguard":
        return "violation" if bad else "no violation"
    if fmt == "routeguard-critique":
        return json.dumps({"unsafe": bad, "categories": cats, "evidence": "", "rationale":
                           f"keyword match: {', '.join(cats)}" if bad else "no harmful keyword"})
    return "I cannot tell."


_TOK = re.compile(r"\s*[A-Za-z0-9_]+|\s*[^\sA-Za-z0-9_]|\s+")


def tokenize(text: str) -> list[str]:
    toks = _TOK.findall(text)
    assert "".join(toks) == text
    return toks


def auto_logprobs(text: str, p_label: float) -> list[dict[str, Any]]:
    out = []
    for t in tokenize(text):
        w = t.strip().lower()
        if w in COUNTER:
            alt = COUNTER[w]
            lead = t[:len(t) - len(t.lstrip())]
            top = [{"token": t, "logprob": math.log(p_label)},
                   {"token": lead + alt, "logprob": math.log(max(1e-9, 1 - p_label))}]
            out.append({"token": t, "logprob": math.log(p_label), "bytes": list(t.encode()), "top_logprobs": top})
        else:
            out.append({"token": t, "logprob": 0.0, "bytes": list(t.encode()),
                        "top_logprobs": [{"token": t, "logprob": 0.0}]})
    return out


def create_app(scenarios: dict[str, Scenario] | None = None, calls: Counter | None = None,
               load: dict[str, int] | None = None) -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, PlainTextResponse

    scenarios = scenarios if scenarios is not None else {}
    calls = calls if calls is not None else Counter()
    load = load if load is not None else {}
    load.setdefault("in_flight", 0)
    load.setdefault("max_in_flight", 0)
    app = FastAPI(title="fake OpenAI-compatible judge (keyword matching; NOT a model)")

    @app.get("/v1/models")
    def models():  # noqa: ANN201
        return {"object": "list", "data": [{"id": m, "object": "model"} for m in scenarios] or
                [{"id": "fake-judge", "object": "model"}]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):  # noqa: ANN201 - FastAPI reads the annotation at run time
        load["in_flight"] += 1
        load["max_in_flight"] = max(load["max_in_flight"], load["in_flight"])
        try:
            return await answer(request)
        finally:
            load["in_flight"] -= 1

    async def answer(request: Request):  # noqa: ANN202
        import asyncio

        body = await request.json()
        model = str(body.get("model", ""))
        sc = scenarios.get(model) or Scenario()
        calls[model] += 1
        n = calls[model]
        sc.seen.append(body)
        sc.headers.append(dict(request.headers))
        if sc.delay:
            await asyncio.sleep(sc.delay)
        if sc.status != 200 and (sc.fail_first is None or n <= sc.fail_first):
            return JSONResponse({"error": {"message": f"scripted HTTP {sc.status}", "type": "server_error"}},
                                status_code=sc.status)
        if sc.reject_logprobs and body.get("logprobs"):
            return JSONResponse({"error": {"message": "logprobs is not supported by this model"}}, status_code=400)
        if sc.body is not None:
            return PlainTextResponse(sc.body, status_code=200, media_type="application/json")
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        text = sc.text if sc.text is not None else (sc.answer or keyword_answer)(prompt)
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": text}}
        if sc.reasoning:
            choice["message"]["reasoning_content"] = sc.reasoning
        if body.get("logprobs") and sc.logprobs is not None:
            content = auto_logprobs(text, sc.p_label) if sc.logprobs == "auto" else [
                {"token": t, "logprob": lp, "top_logprobs": [{"token": a, "logprob": b} for a, b in top.items()]}
                for t, lp, top in sc.logprobs]
            choice["logprobs"] = {"content": content}
        return {"id": f"chatcmpl-fake-{n}", "object": "chat.completion", "created": int(time.time()),
                "model": model, "choices": [choice],
                "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(tokenize(text)),
                          "total_tokens": len(prompt) // 4 + len(tokenize(text))}}

    app.state.scenarios, app.state.calls, app.state.load = scenarios, calls, load
    return app


class FakeJudgeServer:
    """Runs :func:`create_app` with uvicorn on 127.0.0.1 (a free port unless given) in a thread."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1"):
        self.scenarios: dict[str, Scenario] = {}
        self.calls: Counter = Counter()
        self.load: dict[str, int] = {}
        self.host, self.port = host, port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> "FakeJudgeServer":
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        cfg = uvicorn.Config(create_app(self.scenarios, self.calls, self.load), log_level="warning", access_log=False,
                             lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(cfg)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started:
            if time.time() > deadline:
                raise RuntimeError("fake judge server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> "FakeJudgeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _main() -> None:  # pragma: no cover - demo entry point
    import argparse

    ap = argparse.ArgumentParser(description="Serve the FAKE keyword judge (OpenAI-compatible; not a model).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8101)
    a = ap.parse_args()
    import uvicorn

    uvicorn.run(create_app(), host=a.host, port=a.port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover
    _main()
