"""Judge specs: one string that names a judge, for the CLI, configs and ``routeguard eval``.

    <format>@<base url>#<model>[?option=value&...]        an OpenAI-compatible server
    <format>@gguf:<file.gguf | gemma3-270m>[?option=...]  a local GGUF model (llama-cpp-python)

Examples: ``llama-guard-3@http://localhost:8000/v1#meta-llama/Llama-Guard-3-8B``,
``wildguard@http://gpu:8000#allenai/wildguard?timeout=10&concurrency=16``,
``shieldgemma@http://h:8000#google/shieldgemma-2b?policies=dangerous,hate``.

Options: ``timeout`` (s), ``retries``, ``backoff`` (s), ``concurrency``, ``logprobs`` (0/1),
``max_tokens``, ``max_input_chars``, ``mode`` (template|native), ``policies`` (comma list, per-policy
formats), ``controversial`` (qwen3guard: unsafe|safe), ``name``, ``n_ctx`` (gguf), ``gguf_mode``
(chat|completion), and for cascades ``band`` (lo,hi), ``combine`` (judge|max) and ``fast`` (the fast
RouteGuard model: a packaged name or a folder; default ``default``). The API key comes
from ``ROUTEGUARD_JUDGE_API_KEY`` or ``OPENAI_API_KEY`` (never from the spec). Unknown options are errors.
"""
from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .judge import Judge

__all__ = ["parse_judge_spec", "judge_from_spec"]

_INT = {"retries", "concurrency", "max_tokens", "max_input_chars", "n_ctx"}
_FLOAT = {"timeout", "backoff"}
_STR = {"mode", "controversial", "name", "gguf_mode", "combine", "fast"}
_OTHER = {"logprobs", "policies", "band"}
KNOWN = _INT | _FLOAT | _STR | _OTHER


def parse_judge_spec(spec: str) -> dict[str, Any]:
    """Split a spec into ``{"format", "kind": "http"|"gguf", "url"|"path", "model", "options"}``."""
    spec = spec.strip()
    fmt, at, rest = spec.partition("@")
    if not at or not fmt.strip() or not rest.strip():
        raise ConfigError(f"judge spec {spec!r} must look like <format>@<base url>#<model> "
                          "or <format>@gguf:<file.gguf>")
    opts: dict[str, Any] = {}
    head, q, query = rest.rpartition("?")
    if q and "=" in query and ("#" in head or head.startswith("gguf:")):
        rest = head
        for kv in query.split("&"):
            k, eq, v = kv.partition("=")
            k = k.strip()
            if not eq or k not in KNOWN:
                raise ConfigError(f"judge spec {spec!r}: unknown option {k!r}; known: {', '.join(sorted(KNOWN))}")
            try:
                if k in _INT:
                    opts[k] = int(v)
                elif k in _FLOAT:
                    opts[k] = float(v)
                elif k == "logprobs":
                    if v.lower() not in ("0", "1", "true", "false", "yes", "no"):
                        raise ValueError(v)
                    opts[k] = v.lower() in ("1", "true", "yes")
                elif k == "policies":
                    opts[k] = [p.strip() for p in v.split(",") if p.strip()]
                elif k == "band":
                    lo, hi = (float(x) for x in v.split(","))
                    opts[k] = (lo, hi)
                else:
                    opts[k] = v
            except ValueError:
                raise ConfigError(f"judge spec {spec!r}: bad value {v!r} for option {k!r}") from None
    out: dict[str, Any] = {"format": fmt.strip(), "options": opts}
    if rest.startswith("gguf:"):
        out.update(kind="gguf", path=rest[5:], model=rest[5:])
        if not out["path"]:
            raise ConfigError(f"judge spec {spec!r}: gguf: needs a file path (or gemma3-270m)")
        return out
    url, hash_, model = rest.partition("#")
    if not hash_ or not model.strip():
        raise ConfigError(f"judge spec {spec!r}: the model name is missing (…#<model>)")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"judge spec {spec!r}: base URL must start with http:// or https://")
    out.update(kind="http", url=url, model=model.strip())
    return out


def judge_from_spec(spec: str) -> tuple[Judge, dict[str, Any]]:
    """A :class:`Judge` from a spec, and the options not used by the judge (``band``, ``combine``, ``fast``)."""
    p = parse_judge_spec(spec)
    o = dict(p["options"])
    rest = {k: o.pop(k) for k in ("band", "combine", "fast") if k in o}
    fmt_opts: dict[str, Any] = {}
    if "mode" in o:
        fmt_opts["prompt_mode"] = o.pop("mode")
    for k in ("policies", "controversial"):
        if k in o:
            fmt_opts[k] = o.pop(k)
    judge_kw = {k: o.pop(k) for k in ("logprobs", "max_tokens", "max_input_chars", "name") if k in o}
    if p["kind"] == "gguf":
        from .gguf import LlamaCppBackend, gemma3_270m_path

        path = gemma3_270m_path() if p["path"] in ("gemma3-270m", "gemma3_270m") else p["path"]
        bkw = {"n_ctx": o.pop("n_ctx")} if "n_ctx" in o else {}
        if "gguf_mode" in o:
            bkw["mode"] = o.pop("gguf_mode")
        if o:
            raise ConfigError(f"judge spec {spec!r}: options {sorted(o)} do not apply to a gguf judge")
        return Judge(LlamaCppBackend(path, **bkw), p["format"], **judge_kw, **fmt_opts), rest
    for k in ("n_ctx", "gguf_mode"):
        if k in o:
            raise ConfigError(f"judge spec {spec!r}: option {k!r} applies to gguf judges only")
    return Judge.openai(p["format"], p["url"], p["model"], **o, **judge_kw, **fmt_opts), rest
