"""The one error type of the HTTP layer and the one exception mapper that renders every failure as
``{"error": {"message", "type", "code"}}`` with the right status code.

Messages name the offending field and the limit, never echo the user's text.
"""
from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import InputError
from .protocol import ErrorDetail, ErrorResponse

log = logging.getLogger("routeguard.server")

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
          404: "not_found_error", 405: "invalid_request_error", 413: "invalid_request_error",
          415: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_error",
          500: "server_error", 502: "upstream_error", 503: "service_unavailable", 504: "upstream_timeout"}


class APIError(Exception):
    """Raise anywhere in the server to answer with ``status`` and the standard error body."""

    def __init__(self, status: int, message: str, code: str, *, type: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.type = type or _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        self.headers = headers or {}


def error_body(status: int, message: str, code: str | None, type: str | None = None) -> dict[str, Any]:
    t = type or _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return ErrorResponse(error=ErrorDetail(message=message, type=t, code=code)).model_dump()


def error_response(status: int, message: str, code: str | None, *, type: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, type), status_code=status, headers=headers)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    # drop pydantic's union-branch tags (e.g. 'str', 'list[str]') so the path stays readable
    parts = [p for p in parts if not (p.startswith(("list[", "function-")) or p in ("str", "int", "float", "bool"))]
    return ".".join(parts) or "body"


def validation_message(errors: list[dict[str, Any]], limit: int = 3) -> str:
    msgs = []
    seen = set()
    for e in errors:
        m = f"{_loc(e.get('loc', ()))}: {e.get('msg', 'invalid')}"
        if m not in seen:
            seen.add(m)
            msgs.append(m)
    more = f" (and {len(msgs) - limit} more)" if len(msgs) > limit else ""
    return "; ".join(msgs[:limit]) + more


def install_error_handlers(app: FastAPI) -> None:
    """The exception mapper: every error the app can raise becomes the standard error body."""

    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code, type=exc.type, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errs):
            return error_response(400, "request body is not valid JSON", "invalid_json")
        if any(e.get("type") == "missing" and tuple(e.get("loc", ())) == ("body",) for e in errs):
            return error_response(400, "request body is missing (send a JSON object)", "missing_body")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not (ctype == "application/json" or ctype.endswith("+json")):
            return error_response(415, f"send the body as JSON with 'Content-Type: application/json' "
                                  f"(got {ctype or 'no content type'!r})", "unsupported_media_type")
        return error_response(422, validation_message(errs), "invalid_request")

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        return error_response(422, str(exc), "invalid_input")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
                413: "body_too_large"}.get(exc.status_code, "http_error")
        msg = str(exc.detail)
        if exc.status_code == 400 and "parsing the body" in msg:
            msg, code = "request body could not be decoded (send UTF-8 JSON)", "invalid_body"
        return error_response(exc.status_code, msg, code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        # type and stack only: exception messages may quote user input
        log.error("unhandled %s on %s\n%s", type(exc).__name__, request.url.path,
                  "".join(traceback.format_tb(exc.__traceback__)))
        return error_response(500, "internal server error", "internal_error")
