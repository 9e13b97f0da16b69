"""Guards under evaluation: one base class, one registry, adapters for RouteGuard, peers and HTTP guards.

Every guard judges a batch of GuardZoo :class:`~routeguard.data.schema.Record`\\ s and returns one
typed :class:`Prediction` per record. A record the guard could not judge gets a prediction with
``error`` set; such a prediction is always ``flagged`` (fail closed) and is never counted as safe.

Guards are created by spec through :func:`create_guard`::

    routeguard                   the packaged default (routeguard.load("default"))
    monolith                     the packaged monolithic baseline
    routeguard:<folder or name>  any model routeguard.load() accepts
    securevector                 securevector-guardian-model (offline TF-IDF + LR threat classifier)
    profanity                    alt-profanity-check
    prompt-guardrail             prompt-guardrail (TF-IDF + LR injection detector)
    http:<base url>              RouteGuard's own server (POST {base}/v1/guard)
    moderation:<base url>        any OpenAI-compatible moderation endpoint (POST {base}/v1/moderations)
    <label>=<spec>               any of the above under a display name of your choice
    <folder>                     a RouteGuard model folder

Unknown names are errors at start-up, never a silently skipped guard.

Guards defined elsewhere register themselves with :func:`register` when their module is imported; the
registry imports those modules on first use: the built-in :data:`PLUGIN_MODULES` (the LLM judges
``judge:`` and ``cascade:``, which build on this module) and any ``routeguard.guards`` entry point a
third-party package declares.
"""
from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

from ..data.schema import Record
from ..errors import ConfigError
from ..taxonomy import CATEGORIES, OPENAI_TO_OURS

__all__ = [
    "EvalGuard", "GuardUnavailable", "HTTPRouteGuard", "ModerationGuard", "Prediction",
    "ProfanityCheckGuard", "PromptGuardrailGuard", "RouteGuardGuard", "SecureVectorGuard",
    "create_guard", "guard_names", "judged_text", "register",
]


class GuardUnavailable(ConfigError):
    """A guard cannot be created here (package missing, model not loadable). The message says why."""


@dataclass
class Prediction:
    """What one guard said about one record.

    - ``unsafe_score``: the guard's P(unsafe) in [0, 1], or None when it gives no probability.
    - ``flagged``: the guard's own decision (an error prediction is always flagged).
    - ``category_scores``: probabilities per taxonomy category id (only categories the guard knows).
    - ``categories``: taxonomy categories flagged at the guard's own thresholds.
    - ``routed``: experts the router consulted (None for guards without a router).
    - ``error``: why the record could not be judged; None when it was.
    - ``latency_ms``: wall time per record (a batch's time divided by its size for batched guards).
    - ``native``: the guard's own label, for error analysis (e.g. ``{"category": "jailbreak"}``).
    """

    unsafe_score: float | None
    flagged: bool
    category_scores: dict[str, float] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    routed: list[str] | None = None
    error: str | None = None
    latency_ms: float = 0.0
    native: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.unsafe_score is not None:
            s = float(self.unsafe_score)
            if not 0.0 <= s <= 1.0 or s != s:
                raise ValueError(f"unsafe_score must be a probability in [0, 1], got {self.unsafe_score!r}")
            self.unsafe_score = s
        if self.error is not None:
            self.flagged = True          # fail closed: an unjudged record is never safe
        self.flagged = bool(self.flagged)

    @classmethod
    def failed(cls, error: str, latency_ms: float = 0.0) -> "Prediction":
        return cls(unsafe_score=None, flagged=True, error=error, latency_ms=latency_ms)

    @classmethod
    def all_failed(cls, e: BaseException, t0: float, n: int) -> list["Prediction"]:
        """A batch call that crashed judged nothing: each of its ``n`` records is an error."""
        ms = _timed_share(t0, n)
        return [cls.failed(f"{type(e).__name__}: {e}", ms) for _ in range(n)]

    @classmethod
    def from_verdict(cls, v: Any, latency_ms: float, *, routed: bool, native: dict[str, Any]) -> "Prediction":
        """A RouteGuard-family :class:`~routeguard.Verdict` as a prediction."""
        return cls(unsafe_score=min(1.0, max(0.0, v.unsafe_score)), flagged=v.flagged,
                   category_scores=dict(v.category_scores), categories=v.flagged_categories,
                   routed=list(v.route.experts) if routed else None, latency_ms=latency_ms, native=native)

    def to_dict(self) -> dict[str, Any]:
        return {"unsafe_score": self.unsafe_score, "flagged": self.flagged,
                "category_scores": self.category_scores, "categories": self.categories,
                "routed": self.routed, "error": self.error, "latency_ms": self.latency_ms,
                "native": self.native}


def judged_text(record: Record) -> str:
    """The text a text-only guard judges: the judged turn (or the rendered transcript for
    conversation / trajectory targets). Raises InputError / ValueError for a malformed record."""
    from ..training.fitting import to_conv

    return to_conv(record).focus_and_context()[0]


class EvalGuard:
    """Base class of a guard under evaluation. Subclasses implement :meth:`predict`, batch-first.

    ``categories`` lists the taxonomy categories the guard can flag (empty: binary only; category
    metrics are then not reported). ``routed`` says whether predictions carry the route taken.
    """

    kind: ClassVar[str] = "guard"
    name: str
    categories: tuple[str, ...] = ()
    routed: bool = False

    def predict(self, records: list[Record]) -> list[Prediction]:  # pragma: no cover - interface
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "categories": list(self.categories),
                "routed": self.routed}

    def close(self) -> None:
        """Release resources (HTTP clients). Safe to call twice."""


# --- registry --------------------------------------------------------------------------------------

Factory = Callable[[str | None], EvalGuard]
_REGISTRY: dict[str, tuple[Factory, str]] = {}
_ALIASES: dict[str, str] = {}
# modules that register guards of their own (they import this module, never the other way round)
PLUGIN_MODULES: tuple[str, ...] = ("routeguard.judges.evaluation",)
ENTRY_POINT_GROUP = "routeguard.guards"
_plugins_loaded = False


def _load_plugins() -> None:
    """Import the plugin modules once, so their ``@register`` calls run. A broken third-party entry point
    is reported and skipped; a broken built-in one is an error."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    import importlib

    for module in PLUGIN_MODULES:
        importlib.import_module(module)
    _plugins_loaded = True          # set before the entry points, which may use the registry themselves
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as e:  # noqa: BLE001 - someone else's package must not take the registry down
            warnings.warn(f"guard plugin {ep.name!r} ({ep.value}) failed to load: {type(e).__name__}: {e}",
                          stacklevel=2)


def register(name: str, help: str = "", aliases: Sequence[str] = ()) -> Callable[[Factory], Factory]:
    """Register a guard factory ``f(arg: str | None) -> EvalGuard`` under ``name`` (and aliases)."""
    def deco(f: Factory) -> Factory:
        for n in (name, *aliases):
            if n in _REGISTRY or n in _ALIASES:
                raise ConfigError(f"guard name {n!r} is already registered")
        _REGISTRY[name] = (f, help)
        for a in aliases:
            _ALIASES[a] = name
        return f
    return deco


def guard_names() -> dict[str, str]:
    """Registered guard names and their one-line help."""
    _load_plugins()
    return {n: h for n, (_, h) in _REGISTRY.items()}


def create_guard(spec: str) -> EvalGuard:
    """Create a guard from a spec (see the module docstring). Raises ConfigError for an unknown name
    and GuardUnavailable when the guard cannot run here."""
    _load_plugins()
    spec = spec.strip()
    label = None
    if "=" in spec.split(":", 1)[0]:
        label, spec = (s.strip() for s in spec.split("=", 1))
    if not spec:
        raise ConfigError("empty guard spec")
    kind, arg = spec, None
    if ":" in spec and not Path(spec).is_dir():
        head, tail = spec.split(":", 1)
        if head in _REGISTRY or head in _ALIASES:
            kind, arg = head, tail
    kind = _ALIASES.get(kind, kind)
    if kind not in _REGISTRY:
        if Path(spec).is_dir():
            kind, arg = "routeguard", spec
        else:
            raise ConfigError(f"unknown guard {spec!r}; known: {', '.join(sorted(_REGISTRY))} "
                              "(or kind:argument, label=spec, or a RouteGuard model folder)")
    if kind == "routeguard" and arg and Path(arg).is_dir():
        guard = RouteGuardGuard(arg, encoder=_encoder())
    else:
        guard = _REGISTRY[kind][0](arg)
    if label:
        guard.name = label
    return guard


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _timed_share(t0: float, n: int) -> float:
    return (time.perf_counter() - t0) * 1000.0 / max(1, n)


def _texts(records: list[Record]) -> tuple[list[str], dict[int, str]]:
    """Judged texts, and errors by index for records whose text cannot be extracted."""
    texts, errors = [], {}
    for i, r in enumerate(records):
        try:
            t = judged_text(r)
            if not t.strip():
                raise ValueError("judged text is empty")
            texts.append(t)
        except Exception as e:  # noqa: BLE001 - any bad record becomes an error prediction
            errors[i] = f"{type(e).__name__}: {e}"
            texts.append("")
    return texts, errors


# --- RouteGuard (in process) -----------------------------------------------------------------------

class RouteGuardGuard(EvalGuard):
    """Any model ``routeguard.load()`` accepts, judged with ``check_batch`` (one encoder pass)."""

    kind = "routeguard"

    def __init__(self, model: str | Path = "default", *, name: str | None = None, guard: Any = None,
                 encoder: Any = None):
        import routeguard

        self.model = str(model)
        try:
            self.guard = guard if guard is not None else routeguard.load(model, encoder=encoder)
        except ConfigError as e:
            raise GuardUnavailable(f"cannot load RouteGuard model {model!r}: {e}") from e
        self.name = name or (self.model if self.model in ("default", "routeguard", "monolith")
                             else (Path(self.model).name or self.model))
        if self.name == "default":
            self.name = "routeguard"
        self.categories = tuple(c for c in self.guard.categories if c in CATEGORIES)
        self.routed = self.guard.router is not None

    def info(self) -> dict[str, Any]:
        return {**super().info(), "model": self.model, "model_name": self.guard.name,
                "experts": list(self.guard.experts)}

    def predict(self, records: list[Record]) -> list[Prediction]:
        from ..types import BatchItemError

        t0 = time.perf_counter()
        xs = [{"messages": r.messages, "target": r.target} for r in records]
        try:
            out = self.guard.check_batch(xs)
        except Exception as e:  # noqa: BLE001 - a crash judges nothing: every record is an error
            return Prediction.all_failed(e, t0, len(records))
        ms = _timed_share(t0, len(records))
        preds = []
        for v in out:
            if isinstance(v, BatchItemError):
                preds.append(Prediction.failed(v.error, ms))
                continue
            native = {"degraded": v.degraded, "fallback": v.route.fallback} if v.degraded or v.route.fallback else {}
            preds.append(Prediction.from_verdict(v, ms, routed=self.routed, native=native))
        return preds


_SHARED_ENCODER: list[Any] = []


def share_encoder(enabled: bool = True, cache_dir: str | Path | None = None) -> None:
    """Let RouteGuard-family guards created after this call share one memoising encoder, so a text is
    encoded once for RouteGuard and the monolith (optionally backed by a training embedding cache,
    read-only). Their latency then excludes repeated encoding: use benchmarks/speed.py for latency."""
    from ..encoders import default_encoder
    from ..encoders.memo import MemoEncoder

    _SHARED_ENCODER.clear()
    if enabled and cache_dir is not None:
        from ..training.embed_cache import CachedEncoder, EmbeddingCache

        _SHARED_ENCODER.append(CachedEncoder(EmbeddingCache(default_encoder(), Path(cache_dir))))
    elif enabled:
        _SHARED_ENCODER.append(MemoEncoder(default_encoder()))


def _encoder() -> Any:
    return _SHARED_ENCODER[0] if _SHARED_ENCODER else None


@register("routeguard", "RouteGuard: packaged default, or routeguard:<model folder or packaged name>",
          aliases=("default",))
def _make_routeguard(arg: str | None) -> EvalGuard:
    return RouteGuardGuard(arg or "default", encoder=_encoder())


@register("monolith", "the packaged monolithic baseline (every expert always on, no router)")
def _make_monolith(arg: str | None) -> EvalGuard:
    return RouteGuardGuard(arg or "monolith", name="monolith", encoder=_encoder())


# --- offline peers ---------------------------------------------------------------------------------

def _need(module: str, dist: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except Exception as e:  # noqa: BLE001 - ImportError or a broken install
        raise GuardUnavailable(f"{dist} is not usable here ({type(e).__name__}: {e}); "
                               f"install it with: pip install 'routeguard[peers]'") from e


class _TextPeer(EvalGuard):
    """A peer that judges the text of the judged turn only."""

    dist: ClassVar[str] = ""

    def info(self) -> dict[str, Any]:
        return {**super().info(), "package": self.dist, "version": _version(self.dist),
                "judges": "text of the judged turn (transcript for conversation/trajectory targets)"}

    def predict(self, records: list[Record]) -> list[Prediction]:
        t0 = time.perf_counter()
        texts, errors = _texts(records)
        ok = [i for i in range(len(records)) if i not in errors]
        try:
            judged = self._judge([texts[i] for i in ok]) if ok else []
            if len(judged) != len(ok):
                raise RuntimeError(f"{self.name} returned {len(judged)} results for {len(ok)} texts")
        except Exception as e:  # noqa: BLE001 - the whole batch failed: every record is an error
            return Prediction.all_failed(e, t0, len(records))
        ms = _timed_share(t0, len(records))
        by_i = dict(zip(ok, judged))
        out = []
        for i in range(len(records)):
            if i in errors:
                out.append(Prediction.failed(errors[i], ms))
            else:
                p = by_i[i]
                p.latency_ms = ms
                out.append(p)
        return out

    def _judge(self, texts: list[str]) -> list[Prediction]:  # pragma: no cover - interface
        raise NotImplementedError


class SecureVectorGuard(_TextPeer):
    """securevector-guardian-model: TF-IDF + LR over 8 threat classes (benign, prompt_injection,
    jailbreak, harmful_content, ...). P(unsafe) = its malicious probability mass; the decision is its
    own windowed verdict (calibrated document threshold, stricter window threshold)."""

    kind = "securevector"
    dist = "securevector-guardian-model"

    def __init__(self) -> None:
        _need("svguardian", self.dist)
        from svguardian import resolve_runtime
        from svguardian.model.pure_infer import PureGuardian
        from svguardian.window import predict_windowed

        try:
            path = resolve_runtime(download=False)
            self.model = PureGuardian.load(path)
        except Exception as e:  # noqa: BLE001
            raise GuardUnavailable(f"{self.dist}: cannot load its bundled model ({type(e).__name__}: {e})") from e
        self._predict = predict_windowed
        self.name = "securevector"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "threshold": self.model.threshold, "classes": list(self.model.classes)}

    def _judge(self, texts: list[str]) -> list[Prediction]:
        out = []
        for t in texts:
            r = self._predict(self.model, t)
            out.append(Prediction(unsafe_score=min(1.0, max(0.0, float(r["malicious_score"]))),
                                  flagged=r["verdict"] == "malicious",
                                  native={"category": r.get("category")} if r.get("category") else {}))
        return out


class ProfanityCheckGuard(_TextPeer):
    """alt-profanity-check: linear SVM (calibrated) over TF-IDF; P(unsafe) = P(offensive), flag at 0.5."""

    kind = "profanity"
    dist = "alt-profanity-check"

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod = _need("profanity_check.profanity_check", self.dist)
        self.vectorizer, self.model = mod.vectorizer, mod.model
        classes = list(getattr(self.model, "classes_", [0, 1]))
        if 1 not in classes:
            raise GuardUnavailable(f"{self.dist}: unexpected model classes {classes}")
        self._pos = classes.index(1)
        self.name = "profanity"

    def _judge(self, texts: list[str]) -> list[Prediction]:
        x = self.vectorizer.transform(texts)
        proba = self.model.predict_proba(x)[:, self._pos]
        label = self.model.predict(x)
        return [Prediction(unsafe_score=float(min(1.0, max(0.0, p))), flagged=int(y) == 1)
                for p, y in zip(proba, label)]


class PromptGuardrailGuard(_TextPeer):
    """prompt-guardrail (module ``guardify``): TF-IDF + logistic regression injection detector.
    Its ``detect()`` reports the winning class's probability; we read P(injection) from the model."""

    kind = "prompt-guardrail"
    dist = "prompt-guardrail"

    def __init__(self) -> None:
        mod = _need("guardify", self.dist)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # pickled with scikit-learn 1.7 (InconsistentVersionWarning)
                g = mod.LogisticRegressionGuardrail()
        except Exception as e:  # noqa: BLE001
            raise GuardUnavailable(f"{self.dist}: cannot load its model ({type(e).__name__}: {e})") from e
        self.clf, self.vectorizer = g._clf, g._vectorizer
        classes = [int(c) for c in self.clf.classes_]
        if 1 not in classes:
            raise GuardUnavailable(f"{self.dist}: unexpected model classes {classes}")
        self._pos = classes.index(1)
        self.name = "prompt-guardrail"

    def _judge(self, texts: list[str]) -> list[Prediction]:
        x = self.vectorizer.transform(texts)
        proba = self.clf.predict_proba(x)[:, self._pos]
        label = self.clf.predict(x)
        return [Prediction(unsafe_score=float(min(1.0, max(0.0, p))), flagged=int(y) == 1)
                for p, y in zip(proba, label)]


@register("securevector", "securevector-guardian-model 1.4.0 (offline threat classifier)",
          aliases=("securevector-guardian-model",))
def _make_securevector(arg: str | None) -> EvalGuard:
    return SecureVectorGuard()


@register("profanity", "alt-profanity-check 1.9.1 (offensive-language classifier)",
          aliases=("alt-profanity-check", "profanity-check"))
def _make_profanity(arg: str | None) -> EvalGuard:
    return ProfanityCheckGuard()


@register("prompt-guardrail", "prompt-guardrail 1.0.1 (jailbreak / prompt-injection classifier)",
          aliases=("guardify",))
def _make_prompt_guardrail(arg: str | None) -> EvalGuard:
    return PromptGuardrailGuard()


# --- HTTP guards -----------------------------------------------------------------------------------

RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class _HTTPGuard(EvalGuard):
    """Shared HTTP plumbing: one httpx client, a timeout, retries with backoff on transport errors
    and on 408/429/5xx (Retry-After honoured, capped), per-record requests run ``concurrency`` at a
    time. Any failure becomes an error prediction (flagged), never a safe verdict."""

    path: ClassVar[str] = ""
    key_env: ClassVar[str] = ""

    def __init__(self, base_url: str, *, name: str, timeout: float = 30.0, retries: int = 2,
                 backoff: float = 0.5, concurrency: int = 8, api_key: str | None = None,
                 transport: Any = None):
        try:
            import httpx
        except ImportError as e:
            raise GuardUnavailable(f"{self.kind} guard needs httpx (pip install 'routeguard[eval]'): {e}") from e

        if not base_url or not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{self.kind}: base URL must start with http:// or https://, got {base_url!r}")
        if retries < 0 or timeout <= 0 or concurrency < 1:
            raise ConfigError(f"{self.kind}: need retries >= 0, timeout > 0 and concurrency >= 1")
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + self.path
        self.name, self.retries, self.backoff, self.concurrency = name, retries, backoff, concurrency
        key = api_key if api_key is not None else (os.environ.get(self.key_env) if self.key_env else None)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(timeout=timeout, headers=headers, transport=transport)
        self.timeout = timeout

    def info(self) -> dict[str, Any]:
        return {**super().info(), "url": self.url, "timeout_s": self.timeout, "retries": self.retries}

    def close(self) -> None:
        self.client.close()

    def _post(self, body: dict[str, Any]) -> Any:
        """POST with retries; returns the decoded JSON body or raises RuntimeError naming the cause."""
        import httpx

        last = "no attempt"
        for attempt in range(self.retries + 1):
            wait = self.backoff * (2 ** attempt)
            try:
                resp = self.client.post(self.url, json=body)
            except httpx.HTTPError as e:
                last = f"{type(e).__name__}: {e}"
            else:
                if resp.status_code == 200:
                    try:
                        return resp.json()
                    except ValueError as e:
                        raise RuntimeError(f"{self.url} answered 200 with a body that is not JSON: {e}") from None
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                if resp.status_code not in RETRY_STATUS:
                    raise RuntimeError(last)
                ra = resp.headers.get("Retry-After")
                if ra:
                    try:
                        wait = max(wait, min(float(ra), 30.0))
                    except ValueError:
                        pass
            if attempt < self.retries and wait > 0:
                time.sleep(wait)
        raise RuntimeError(f"{self.url} failed after {self.retries + 1} attempts: {last}")

    def _one(self, record: Record) -> Prediction:
        t0 = time.perf_counter()
        try:
            p = self._parse(self._post(self._body(record)))
        except Exception as e:  # noqa: BLE001 - network, HTTP or parse failure: fail closed
            return Prediction.failed(f"{type(e).__name__}: {e}", _timed_share(t0, 1))
        p.latency_ms = _timed_share(t0, 1)
        return p

    def predict(self, records: list[Record]) -> list[Prediction]:
        if self.concurrency == 1 or len(records) <= 1:
            return [self._one(r) for r in records]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(records))) as pool:
            return list(pool.map(self._one, records))

    def _body(self, record: Record) -> dict[str, Any]:  # pragma: no cover - interface
        raise NotImplementedError

    def _parse(self, data: Any) -> Prediction:  # pragma: no cover - interface
        raise NotImplementedError


class HTTPRouteGuard(_HTTPGuard):
    """RouteGuard's own server: ``POST {base}/v1/guard`` with ``{"messages", "target"}`` -> Verdict."""

    kind = "http"
    path = "/v1/guard"
    key_env = "ROUTEGUARD_API_KEY"
    categories = tuple(CATEGORIES)

    def __init__(self, base_url: str, *, name: str | None = None, **kw: Any):
        super().__init__(base_url, name=name or "routeguard-http", **kw)
        self.routed = True       # predictions carry the route; None when the server has no router

    def _body(self, record: Record) -> dict[str, Any]:
        return {"messages": record.messages, "target": record.target}

    def _parse(self, data: Any) -> Prediction:
        from ..types import Verdict

        v = Verdict.model_validate(data)
        if not 0.0 <= v.unsafe_score <= 1.0:
            raise ValueError(f"server returned unsafe_score {v.unsafe_score} outside [0, 1]")
        has_router = bool(v.route.router_scores)
        return Prediction(unsafe_score=v.unsafe_score, flagged=v.flagged,
                          category_scores={k: s for k, s in v.category_scores.items()},
                          categories=v.flagged_categories,
                          routed=list(v.route.experts) if has_router else None,
                          native={"degraded": True} if v.degraded else {})


class ModerationGuard(_HTTPGuard):
    """An OpenAI-compatible moderation endpoint: ``POST {base}/v1/moderations`` ``{"input": text}``.
    flagged = results[0].flagged; P(unsafe) = max category score; OpenAI categories are mapped to ours
    (categories without an OpenAI counterpart are never predicted)."""

    kind = "moderation"
    path = "/v1/moderations"
    key_env = "OPENAI_API_KEY"
    categories = tuple(c for c in CATEGORIES if any(c in v for v in OPENAI_TO_OURS.values()))

    def __init__(self, base_url: str, *, name: str | None = None, model: str | None = None, **kw: Any):
        if base_url.rstrip("/").endswith("/v1"):
            base_url = base_url.rstrip("/")[:-3]
        super().__init__(base_url, name=name or "moderation", **kw)
        self.model = model

    def _body(self, record: Record) -> dict[str, Any]:
        body: dict[str, Any] = {"input": judged_text(record)}
        if self.model:
            body["model"] = self.model
        return body

    def _parse(self, data: Any) -> Prediction:
        try:
            res = data["results"][0]
            flagged = res["flagged"]
            scores = res.get("category_scores") or {}
            flags = res.get("categories") or {}
        except (KeyError, IndexError, TypeError) as e:
            raise ValueError(f"not a moderation response (missing {e})") from None
        if not isinstance(flagged, bool):
            raise ValueError(f"results[0].flagged is {flagged!r}, not a boolean")
        for k, s in scores.items():
            if not isinstance(s, (int, float)) or not 0.0 <= float(s) <= 1.0:
                raise ValueError(f"category score {k}={s!r} is not a probability")
        ours: dict[str, float] = {}
        cats: set[str] = set()
        for k, s in scores.items():
            for c in OPENAI_TO_OURS.get(k, ()):
                ours[c] = max(ours.get(c, 0.0), float(s))
        for k, f in flags.items():
            if f:
                cats.update(OPENAI_TO_OURS.get(k, ()))
        return Prediction(unsafe_score=max((float(s) for s in scores.values()), default=None),
                          flagged=flagged, category_scores=ours, categories=sorted(cats))


@register("http", "RouteGuard server: http:<base url> (POST /v1/guard)", aliases=("routeguard-http",))
def _make_http(arg: str | None) -> EvalGuard:
    if not arg:
        raise ConfigError("http guard needs a base URL: http:http://localhost:8000")
    return HTTPRouteGuard(arg)


@register("moderation", "OpenAI-compatible moderation endpoint: moderation:<base url>",
          aliases=("openai-moderation",))
def _make_moderation(arg: str | None) -> EvalGuard:
    if not arg:
        raise ConfigError("moderation guard needs a base URL: moderation:http://localhost:8000")
    return ModerationGuard(arg)


