"""Server settings: pydantic models, read from YAML and/or ``ROUTEGUARD_SERVER_*`` environment variables.

Unknown keys are rejected everywhere (a typo must not silently drop a limit or a check). Nothing
here is global: :func:`load_settings` returns a fresh object that the app factory receives.

Environment variables override the YAML file. Nested keys use ``__``:
``ROUTEGUARD_SERVER_BATCHING__MAX_BATCH_SIZE=32``, ``ROUTEGUARD_SERVER_API_KEYS=key1,key2``,
``ROUTEGUARD_SERVER_UPSTREAM__BASE_URL=http://127.0.0.1:8001/v1``. ``ROUTEGUARD_SERVER_CONFIG`` names
the YAML file. Other ``ROUTEGUARD_*`` variables (used by other parts of the library) are not read.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from ..errors import ConfigError

ENV_PREFIX = "ROUTEGUARD_SERVER_"
CONFIG_ENV = "ROUTEGUARD_SERVER_CONFIG"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class BatchingSettings(_Strict):
    """Micro-batching of concurrent requests into one ``guard.check_batch`` call."""

    enabled: bool = True
    max_batch_size: int = Field(64, ge=1, le=1024)
    max_wait_ms: float = Field(2.0, ge=0.0, le=1000.0)
    #: conversations waiting or being judged at once; beyond it requests get 429 (bounded memory)
    max_queue: int = Field(1024, ge=1, le=1_000_000)
    #: per-request deadline for a verdict; past it the request gets 503
    request_timeout_s: float = Field(10.0, gt=0.0, le=600.0)
    #: worker threads running unbatched checks (batching uses one thread per batch in flight)
    unbatched_threads: int = Field(1, ge=1, le=64)
    retry_after_s: int = Field(1, ge=0, le=3600)


class UpstreamSettings(_Strict):
    """The OpenAI-compatible LLM behind ``POST /v1/chat/completions``."""

    base_url: str | None = None              # e.g. http://127.0.0.1:8001/v1 ; None: the proxy is off
    api_key: SecretStr | None = None
    timeout_s: float = Field(60.0, gt=0.0, le=3600.0)
    connect_timeout_s: float = Field(5.0, gt=0.0, le=600.0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError(f"upstream base_url must start with http:// or https://, got {v!r}")
        return v.rstrip("/") if v else v


class StreamSettings(_Strict):
    """How streamed answers are moderated: a sliding window over the accumulated text."""

    check_every_chars: int = Field(200, ge=1, le=100_000)
    window_chars: int = Field(1500, ge=50, le=1_000_000)
    refusal: str = "I can't continue with this response because it was flagged by the safety guard."


class LiteLLMSettings(_Strict):
    """``POST /beta/litellm_basic_guardrail_api``."""

    #: images cannot be judged yet (text only). ``block``: a request or reply with an image is
    #: BLOCKED; ``allow``: its text is judged and the images pass unjudged (counted in
    #: ``routeguard_unjudged_images``)
    images: Literal["block", "allow"] = "block"
    #: how long a pre_call/during_call request's messages are kept (in memory, by litellm_call_id)
    #: so that the post_call reply is judged as the answer to its prompt (LiteLLM sends the reply
    #: alone); 0: not kept
    remember_prompts_s: float = Field(300.0, ge=0.0, le=86_400.0)
    remember_max_calls: int = Field(4096, ge=1, le=1_000_000)


class ServerSettings(_Strict):
    """Everything ``routeguard serve`` and :func:`routeguard.server.create_app` read."""

    model: str = "default"                   # 'default', 'monolith' or a model folder
    #: threads of the server's encoder: onnxruntime intra-op threads, or for an int8 encoder (one text per
    #: call) the one-thread workers its calls run on side by side (None: the library default, min(4, CPUs))
    encoder_threads: int | None = Field(None, ge=1, le=256)
    #: most texts per encoder pass; a micro-batch is sorted by length and cut into passes of similar
    #: length (None: the library default, 64)
    encoder_batch_size: int | None = Field(None, ge=1, le=1024)
    #: onnxruntime's intra-op thread spinning (onnxruntime's default: on). Off, as in the library: the
    #: encoder shares the cores with the HTTP side, and sleeping threads leave it CPU (benchmarks/load.py)
    encoder_spinning: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    #: API keys, sent as ``Authorization: Bearer <key>`` or ``x-api-key: <key>`` (LiteLLM's
    #: ``api_key`` setting sends the latter); empty: no authentication (only sensible on loopback)
    api_keys: list[SecretStr] = Field(default_factory=list)
    protect_metrics: bool = True             # /metrics needs a key when keys are configured
    max_body_bytes: int = Field(1_048_576, ge=1024, le=1 << 30)
    max_messages: int = Field(256, ge=1, le=1000)
    max_texts: int = Field(64, ge=1, le=4096)       # inputs per moderation / guardrail request
    #: bounds on per-request thresholds (clients may tune thresholds, not switch checks off)
    min_threshold: float = Field(0.05, ge=0.0, le=1.0)
    max_threshold: float = Field(0.95, ge=0.0, le=1.0)
    cors_origins: list[str] = Field(default_factory=list)   # empty: CORS off
    log_level: str = "info"
    playground: bool = True
    refusal: str = "I can't help with that request because it was flagged by the safety guard."
    #: operator policies every trajectory sent to /v1/guard is checked against (a request's own
    #: ``policies`` are added to these)
    agent_policies: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(default_factory=list,
                                                                                         max_length=64)
    batching: BatchingSettings = Field(default_factory=BatchingSettings)
    upstream: UpstreamSettings = Field(default_factory=UpstreamSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    litellm: LiteLLMSettings = Field(default_factory=LiteLLMSettings)

    @model_validator(mode="after")
    def _bounds(self) -> "ServerSettings":
        if self.min_threshold > self.max_threshold:
            raise ValueError(f"min_threshold {self.min_threshold} > max_threshold {self.max_threshold}")
        if self.log_level.lower() not in ("critical", "error", "warning", "info", "debug"):
            raise ValueError(f"log_level must be critical/error/warning/info/debug, not {self.log_level!r}")
        return self

    def api_key_values(self) -> list[str]:
        return [k.get_secret_value() for k in self.api_keys]

    # -- loading -----------------------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | Path) -> "ServerSettings":
        return load_settings(path, env={})


def _set_path(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for k in keys[:-1]:
        nxt = data.setdefault(k, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"setting {'.'.join(keys)}: {k!r} is not a section")
        data = nxt
    data[keys[-1]] = value


def _env_value(field_path: list[str], raw: str) -> Any:
    """Parse an env value: JSON if it parses (numbers, bools, lists), comma lists for list fields."""
    list_fields = {("api_keys",), ("cors_origins",)}
    if tuple(field_path) in list_fields and not raw.lstrip().startswith("["):
        return [s.strip() for s in raw.split(",") if s.strip()]
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    """``ROUTEGUARD_SERVER_A__B=v`` -> ``{"a": {"b": v}}``; unknown names are rejected by the model."""
    data: dict[str, Any] = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__")]
        if not all(keys):
            raise ConfigError(f"environment variable {name}: empty key segment")
        _set_path(data, keys, _env_value(keys, raw))
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_settings(path: str | Path | None = None, *, env: Mapping[str, str] | None = None,
                  **overrides: Any) -> ServerSettings:
    """YAML file (``path`` or ``$ROUTEGUARD_CONFIG``), then env overrides, then keyword overrides."""
    env = os.environ if env is None else env
    path = path or env.get(CONFIG_ENV) or None
    data: dict[str, Any] = {}
    if path:
        p = Path(path)
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except OSError as e:
            raise ConfigError(f"cannot read server config {p}: {e}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"server config {p} is not valid YAML: {e}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"server config {p} must be a mapping, not {type(loaded).__name__}")
        data = loaded
    data = _merge(data, env_overrides(env))
    data = _merge(data, {k: v for k, v in overrides.items() if v is not None})
    try:
        return ServerSettings.model_validate(data)
    except ValidationError as e:
        msgs = "; ".join(f"{'.'.join(str(x) for x in err['loc']) or 'root'}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"invalid server settings{f' in {path}' if path else ''}: {msgs}") from None
