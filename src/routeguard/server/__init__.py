"""RouteGuard's HTTP server: OpenAI moderation, LiteLLM guardrail, a rich guard API, a guarded
chat-completions proxy, micro-batching, metrics and a playground page.

    >>> from routeguard.server import create_app, ServerSettings
    >>> app = create_app(settings=ServerSettings(model="default"))   # serve with any ASGI server

Needs the ``serve`` extra (fastapi, uvicorn, httpx, prometheus-client).
"""
from .app import create_app, create_app_from_env
from .settings import BatchingSettings, ServerSettings, StreamSettings, UpstreamSettings, load_settings

__all__ = ["BatchingSettings", "ServerSettings", "StreamSettings", "UpstreamSettings", "create_app",
           "create_app_from_env", "load_settings"]
