"""The FastAPI app factory. The HTTP layer only translates: routes parse, the service decides.

``create_app(guard=..., settings=...)`` builds a self-contained app (its own service, scorer, metrics
registry and upstream client); nothing lives at module level, so tests can build many apps in one
process. ``create_app_from_env`` is the factory uvicorn calls for ``routeguard serve``.
"""
from __future__ import annotations

import hmac
import logging
import time
import uuid
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any, AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..guard import RouteGuard
from .errors import APIError, error_body, install_error_handlers
from .metrics import Metrics
from .protocol import (ChatCompletionRequest, ErrorResponse, GuardRequest, GuardResponse, Health,
                       LiteLLMGuardrailRequest, LiteLLMGuardrailResponse, ModerationRequest,
                       ModerationResponse)
from .proxy import ChatProxy
from .service import GuardService
from .settings import ServerSettings, load_settings

log = logging.getLogger("routeguard.server")
access_log = logging.getLogger("routeguard.server.access")

ENDPOINTS = ("/", "/healthz", "/readyz", "/metrics", "/v1/moderations", "/v1/guard",
             "/beta/litellm_basic_guardrail_api", "/v1/chat/completions")


_METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


class BodyTooLarge(StarletteHTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"request body is larger than {limit} bytes")


class ServerMiddleware:
    """Request ids, the body-size limit (413), access logs without content, and HTTP metrics."""

    def __init__(self, app: ASGIApp, settings: ServerSettings, metrics: Metrics):
        self.app, self.limit, self.metrics = app, settings.max_body_bytes, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        path = scope.get("path", "")
        endpoint = path if path in ENDPOINTS else "other"
        rid = uuid.uuid4().hex[:16]
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
            await send(message)

        async def reply(code: int, text: str, err_code: str) -> None:
            import json
            body = json.dumps(error_body(code, text, err_code)).encode()
            await send_wrapper({"type": "http.response.start", "status": code,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode()),
                                            (b"connection", b"close")]})
            await send_wrapper({"type": "http.response.body", "body": body})

        try:
            declared = None
            for k, v in scope.get("headers", []):
                if k == b"content-length":
                    try:
                        declared = int(v)
                    except ValueError:
                        declared = -1
            if declared is not None and (declared < 0 or declared > self.limit):
                if declared < 0:
                    await reply(400, "invalid Content-Length header", "bad_request")
                else:
                    await reply(413, f"request body is {declared} bytes; the limit is {self.limit}",
                                "body_too_large")
                return
            seen = 0

            async def limited_receive() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > self.limit:
                        raise BodyTooLarge(self.limit)
                return message

            try:
                await self.app(scope, limited_receive, send_wrapper)
            except BodyTooLarge:
                if not started:
                    await reply(413, f"request body is larger than {self.limit} bytes", "body_too_large")
        finally:
            dt = time.perf_counter() - t0
            method = scope.get("method", "")
            method = method if method in _METHODS else "other"          # bounded label values
            self.metrics.requests.labels(endpoint=endpoint, method=method, status=str(status)).inc()
            self.metrics.latency.labels(endpoint=endpoint).observe(dt)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %s %d %.1fms", rid, method, endpoint, status, dt * 1000)


def _json(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


def _playground_html() -> str:
    return (resources.files("routeguard.server") / "static" / "index.html").read_text(encoding="utf-8")


def create_app(guard: RouteGuard | None = None, settings: ServerSettings | None = None) -> FastAPI:
    """A RouteGuard HTTP app. ``guard=None`` loads ``settings.model`` in the background at startup
    (``/readyz`` answers 503 until it is ready)."""
    settings = settings or ServerSettings()
    metrics = Metrics()
    service = GuardService(settings, metrics)
    proxy = ChatProxy(service, settings)
    keys = [k.encode() for k in settings.api_key_values()]
    page = _playground_html() if settings.playground else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start(guard)
        await proxy.start()
        try:
            yield
        finally:
            await proxy.stop()
            await service.stop()

    app = FastAPI(title="RouteGuard", version=__version__, lifespan=lifespan,
                  description="Router-expert safety guard: OpenAI moderation, LiteLLM guardrail, "
                              "a rich guard API and a guarded chat-completions proxy.")
    app.state.service, app.state.settings, app.state.metrics = service, settings, metrics
    install_error_handlers(app)

    async def require_key(request: Request) -> None:
        """``Authorization: Bearer <key>`` or ``x-api-key: <key>`` (what LiteLLM sends for ``api_key``)."""
        if not keys:
            return
        offered: list[bytes] = []
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            offered.append(token.strip().encode())
        if "x-api-key" in request.headers:
            offered.append(request.headers["x-api-key"].strip().encode())
        if not any(hmac.compare_digest(tok, k) for tok in offered for k in keys):
            raise APIError(401, "missing or invalid API key (send 'Authorization: Bearer <key>' or "
                           "'x-api-key: <key>')", "invalid_api_key", headers={"WWW-Authenticate": "Bearer"})

    auth = [Depends(require_key)]
    errors: dict[int | str, dict[str, Any]] = {c: {"model": ErrorResponse} for c in (400, 401, 413, 422, 429, 503)}

    @app.get("/", include_in_schema=False)
    async def playground() -> Response:
        if page is None:
            raise APIError(404, "the playground is disabled", "not_found")
        return HTMLResponse(page, headers={"Cache-Control": "no-cache",
                                           "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
                                                                      "script-src 'unsafe-inline'; img-src data:"})

    @app.get("/healthz", response_model=Health)
    async def healthz() -> Response:
        return _json(Health(status="ok"))

    @app.get("/readyz", response_model=Health, responses={503: {"model": Health}})
    async def readyz() -> Response:
        st = service.state if service.state != "ready" else "ok"
        return _json(Health(status=st, model=service.model_name if service.ready else settings.model,  # type: ignore[arg-type]
                            batching=settings.batching.enabled, detail=service.error),
                     200 if service.ready else 503)

    @app.get("/metrics", dependencies=auth if settings.protect_metrics else [])
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/moderations", dependencies=auth, response_model=ModerationResponse, responses=errors)
    async def moderations(req: ModerationRequest) -> Response:
        return _json(await service.moderate(req))

    @app.post("/v1/guard", dependencies=auth, response_model=GuardResponse, responses=errors)
    async def guard_endpoint(req: GuardRequest) -> Response:
        return _json(await service.guard_call(req))

    @app.post("/beta/litellm_basic_guardrail_api", dependencies=auth, response_model=LiteLLMGuardrailResponse,
              responses=errors)
    async def litellm_guardrail(req: LiteLLMGuardrailRequest) -> Response:
        return Response((await service.litellm(req)).model_dump_json(exclude_none=True),
                        media_type="application/json")

    @app.post("/v1/chat/completions", dependencies=auth, responses={**errors, 502: {"model": ErrorResponse},
                                                                    504: {"model": ErrorResponse}})
    async def chat_completions(req: ChatCompletionRequest) -> Response:
        return await proxy.complete(req)

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "x-api-key"], allow_credentials=False)
    app.add_middleware(ServerMiddleware, settings=settings, metrics=metrics)
    return app


def create_app_from_env() -> FastAPI:
    """uvicorn factory (``routeguard.server.app:create_app_from_env``): settings from
    ``$ROUTEGUARD_SERVER_CONFIG`` and ``ROUTEGUARD_SERVER_*`` variables, model loaded at startup."""
    return create_app(settings=load_settings())


__all__ = ["create_app", "create_app_from_env"]
