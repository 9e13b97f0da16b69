"""``POST /v1/chat/completions``: a guarded proxy to an upstream OpenAI-compatible LLM.

1. The request's conversation is judged before anything is forwarded; flagged -> a refusal
   completion (``finish_reason: "content_filter"``), the upstream is never called.
2. A plain answer is judged (as the response to the conversation) before it is returned; a flagged
   choice is replaced by the refusal.
3. A streamed answer is held back and released only after the guard has passed it: every
   ``check_every_chars`` new characters the last ``window_chars`` of the accumulated text are judged,
   and at the end the whole answer is. The moment a check flags, the stream is cut with a refusal
   chunk. Upstream errors and timeouts give 502/504 (or an error event once streaming has begun), a
   guard that cannot answer cuts the stream: this proxy never fails open.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, AsyncIterator

import httpx
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.responses import Response

from ..types import Conversation, Verdict
from .errors import APIError, error_body
from .protocol import ChatCompletionRequest, new_id, now
from .service import GuardService, summary_reason
from .settings import ServerSettings

log = logging.getLogger("routeguard.server")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _sse(obj: Any) -> bytes:
    return b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj, ensure_ascii=False).encode()) + b"\n\n"


DONE = b"data: [DONE]\n\n"


@dataclass
class _Choice:
    text: str = ""
    checked: int = 0          # characters of `text` already passed by a check
    released: bool = False    # some of its text has reached the client


class ChatProxy:
    def __init__(self, service: GuardService, settings: ServerSettings):
        self.service, self.settings = service, settings
        self.client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        up = self.settings.upstream
        if up.base_url:
            headers = {"Authorization": f"Bearer {up.api_key.get_secret_value()}"} if up.api_key else {}
            self.client = httpx.AsyncClient(
                base_url=up.base_url, headers=headers, trust_env=False,
                timeout=httpx.Timeout(up.timeout_s, connect=up.connect_timeout_s))

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    # -- helpers ---------------------------------------------------------------------------------
    def _answer_conv(self, messages: list[dict[str, Any]], content: str, tool_calls: Any, where: str) -> Conversation:
        msg: dict[str, Any] = {"role": "assistant", "content": content or ""}
        if tool_calls:
            msg["tool_calls"] = tool_calls
        try:
            return self.service.conversation(messages + [msg], "response", where)
        except APIError as e:   # an answer we cannot parse is an upstream fault, not "safe"
            raise APIError(502, f"the upstream answer could not be judged: {e.message}", "upstream_invalid") from None

    def _refusal(self, req: ChatCompletionRequest, verdict: Verdict) -> dict[str, Any]:
        return {"id": new_id("chatcmpl"), "object": "chat.completion", "created": now(), "model": req.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": self.settings.refusal},
                             "logprobs": None, "finish_reason": "content_filter"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "routeguard": {"blocked": "request", "reason": summary_reason([verdict], "prompt"),
                               "degraded": verdict.degraded}}

    async def _send(self, body: dict[str, Any], stream: bool) -> httpx.Response:
        assert self.client is not None
        try:
            req = self.client.build_request("POST", "/chat/completions", json=body)
            resp = await self.client.send(req, stream=stream)
        except httpx.TimeoutException:
            raise APIError(504, f"the upstream LLM did not answer within {self.settings.upstream.timeout_s:g} s",
                           "upstream_timeout") from None
        except httpx.HTTPError as e:
            raise APIError(502, f"the upstream LLM could not be reached ({type(e).__name__})",
                           "upstream_unreachable") from None
        if resp.status_code != 200:
            try:
                raw = await resp.aread()
            except httpx.HTTPError:
                raw = b""
            finally:
                await resp.aclose()
            detail = ""
            try:
                err = json.loads(raw).get("error", {})
                detail = f": {str(err.get('message', ''))[:200]}" if isinstance(err, dict) else ""
            except (ValueError, AttributeError):
                pass
            raise APIError(502, f"the upstream LLM answered {resp.status_code}{detail}", "upstream_error")
        return resp

    # -- the endpoint ----------------------------------------------------------------------------
    async def complete(self, req: ChatCompletionRequest) -> Response:
        if self.client is None:
            raise APIError(501, "the chat-completions proxy is not configured (set upstream.base_url)",
                           "proxy_not_configured", type="invalid_request_error")
        conv = self.service.conversation(req.messages, None, "messages")
        verdict = (await self.service.judge([conv]))[0]
        if verdict.flagged:
            log.info("chat request blocked: %s", ",".join(verdict.flagged_categories) or "unsafe")
            body = self._refusal(req, verdict)
            if req.stream:
                return StreamingResponse(self._refusal_stream(body), media_type="text/event-stream",
                                         headers=SSE_HEADERS)
            return JSONResponse(body)
        payload = req.model_dump()
        if req.stream:
            resp = await self._send(payload, stream=True)
            return StreamingResponse(self._moderate_stream(resp, req), media_type="text/event-stream",
                                     headers=SSE_HEADERS)
        resp = await self._send(payload, stream=False)
        try:
            data = resp.json()
            choices = data["choices"]
            if not isinstance(choices, list):
                raise TypeError("choices is not a list")
        except (ValueError, KeyError, TypeError):
            raise APIError(502, "the upstream answer is not a chat completion", "upstream_invalid") from None
        judged: list[tuple[int, Conversation]] = []
        for i, ch in enumerate(choices):
            msg = (ch or {}).get("message") or {}
            content, tools = msg.get("content"), msg.get("tool_calls")
            if (isinstance(content, str) and content.strip()) or tools:
                judged.append((i, self._answer_conv(req.messages, content if isinstance(content, str) else "",
                                                    tools, f"choices[{i}]")))
        verdicts = await self.service.judge([c for _, c in judged]) if judged else []
        report = []
        for (i, _), v in zip(judged, verdicts):
            report.append({"index": i, "flagged": v.flagged, "degraded": v.degraded})
            if v.flagged:
                log.info("chat answer blocked: %s", ",".join(v.flagged_categories) or "unsafe")
                choices[i]["message"] = {"role": "assistant", "content": self.settings.refusal}
                choices[i]["finish_reason"] = "content_filter"
        data["routeguard"] = {"blocked": "response" if any(v.flagged for v in verdicts) else None,
                              "choices": report}
        return JSONResponse(data)

    # -- streaming -------------------------------------------------------------------------------
    async def _refusal_stream(self, body: dict[str, Any]) -> AsyncIterator[bytes]:
        chunk = {"id": body["id"], "object": "chat.completion.chunk", "created": body["created"],
                 "model": body["model"],
                 "choices": [{"index": 0, "delta": {"role": "assistant", "content": self.settings.refusal},
                              "logprobs": None, "finish_reason": "content_filter"}],
                 "routeguard": body["routeguard"]}
        yield _sse(chunk)
        yield DONE

    def _cut(self, meta: dict[str, Any], states: dict[int, _Choice], reason: str) -> list[bytes]:
        self.service.metrics.stream_cuts.inc()
        refusal = self.settings.stream.refusal
        choices = [{"index": i, "delta": {"content": ("\n\n" if st.released else "") + refusal},
                    "logprobs": None, "finish_reason": "content_filter"} for i, st in sorted(states.items())]
        chunk = {"id": meta.get("id") or new_id("chatcmpl"), "object": "chat.completion.chunk",
                 "created": meta.get("created") or now(), "model": meta.get("model", ""),
                 "choices": choices or [{"index": 0, "delta": {"content": refusal}, "logprobs": None,
                                         "finish_reason": "content_filter"}],
                 "routeguard": {"blocked": "response", "reason": reason}}
        return [_sse(chunk), DONE]

    async def _check(self, req: ChatCompletionRequest, states: dict[int, _Choice], final: bool) -> str | None:
        """Judge the choices that need it; a reason string if the stream must be cut, else None."""
        cfg = self.settings.stream
        todo: list[tuple[int, Conversation]] = []
        for i, st in states.items():
            if not st.text.strip():
                continue
            if final:     # the whole answer, unless one window check already covered all of it
                if st.checked == len(st.text) and len(st.text) <= cfg.window_chars:
                    continue
            elif len(st.text) - st.checked < cfg.check_every_chars:
                continue
            text = st.text if final else st.text[-cfg.window_chars:]
            try:
                todo.append((i, self._answer_conv(req.messages, text, None, f"choices[{i}]")))
            except APIError as e:
                return e.message
        if not todo:
            return None
        try:
            verdicts = await self.service.judge([c for _, c in todo])
        except APIError as e:     # saturated, timed out, failed: cut, never release unchecked text
            return f"the guard could not check the answer ({e.code}); stream stopped"
        if any(v.flagged for v in verdicts):
            log.info("chat stream cut: %s",
                     ",".join(c for v in verdicts if v.flagged for c in v.flagged_categories) or "unsafe")
            return summary_reason(verdicts, "choice", [i for i, _ in todo])
        for i, _ in todo:
            states[i].checked = len(states[i].text)
        return None

    async def _moderate_stream(self, resp: httpx.Response, req: ChatCompletionRequest) -> AsyncIterator[bytes]:
        states: dict[int, _Choice] = {}
        pending: list[bytes] = []
        meta: dict[str, Any] = {}
        finished = False
        problem: dict[str, Any] | None = None
        try:
            try:
                async for line in resp.aiter_lines():
                    if not line.startswith("data:"):
                        continue                      # blank separators, comments, event names
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        finished = True
                        break
                    try:
                        chunk = json.loads(payload)
                    except ValueError:
                        problem = error_body(502, "the upstream sent an invalid stream event", "upstream_invalid")
                        break
                    if not isinstance(chunk, dict) or "error" in chunk:
                        problem = error_body(502, "the upstream reported an error mid-stream", "upstream_error")
                        break
                    for k in ("id", "created", "model"):
                        meta.setdefault(k, chunk.get(k))
                    try:
                        for ch in chunk.get("choices") or []:
                            st = states.setdefault(int(ch.get("index", 0) or 0), _Choice())
                            delta = ch.get("delta") or {}
                            if isinstance(delta.get("content"), str):
                                st.text += delta["content"]
                            for tc in delta.get("tool_calls") or []:
                                fn = (tc or {}).get("function") or {}
                                st.text += str(fn.get("name") or "") + str(fn.get("arguments") or "")
                    except (AttributeError, TypeError, ValueError):
                        problem = error_body(502, "the upstream sent a malformed chunk", "upstream_invalid")
                        break
                    pending.append(payload.encode())
                    if any(len(st.text) - st.checked >= self.settings.stream.check_every_chars
                           for st in states.values()):
                        reason = await self._check(req, states, final=False)
                        if reason is not None:
                            for b in self._cut(meta, states, reason):
                                yield b
                            return
                        for p in pending:
                            yield _sse(p)
                        for st in states.values():
                            st.released = st.released or bool(st.text)
                        pending.clear()
            except httpx.TimeoutException:
                problem = error_body(504, "the upstream LLM stopped answering (timeout)", "upstream_timeout")
            except httpx.HTTPError as e:
                problem = error_body(502, f"the upstream stream failed ({type(e).__name__})", "upstream_error")
            # end of the answer (or of what the upstream sent): judge all of it before releasing the rest
            reason = await self._check(req, states, final=True)
            if reason is not None:
                for b in self._cut(meta, states, reason):
                    yield b
                return
            for p in pending:
                yield _sse(p)
            if problem is None and not finished:
                problem = error_body(502, "the upstream stream ended without [DONE]", "upstream_incomplete")
            if problem is not None:
                yield _sse(problem)
                return
            yield DONE
        finally:
            await resp.aclose()
