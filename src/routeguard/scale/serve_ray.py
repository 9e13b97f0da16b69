"""``routeguard serve --engine ray``: the HTTP API on Ray Serve, the router and each expert a deployment.

Deployments (each scaled on its own: ``num_replicas``, ``autoscaling_config`` and
``ray_actor_options`` such as ``num_cpus``/``num_gpus`` come from :class:`RayServeConfig`):

- ``RouteGuardRouter``: the router head. Gets the encoded batch and the policy, returns router
  scores and routes.
- ``RouteGuardExpert-<name>``: one per expert. Gets the rows of the conversations routed to it,
  returns its calibrated scores. An expert built by a factory (an LLM judge, say) is declared under
  ``extra_experts`` and may ask for a GPU in its ``ray_actor_options``.
- ``RouteGuardIngress``: the FastAPI app of :func:`routeguard.server.create_app` (the same routes,
  protocol, auth, limits, micro-batching and metrics as the single-process server), holding the
  encoder. Its guard encodes each batch once, calls the router deployment, fans out to the routed
  expert deployments concurrently and applies the Policy with the library's own decision code
  (:meth:`RouteGuard.judge`), so its verdicts equal the single-process guard's.

An expert deployment that fails or exceeds ``expert_timeout_s`` gives a degraded verdict, blocked
fail-closed under the default policy, exactly as a failing in-process expert does.

Every replica loads the model by name or folder and checks its fingerprint against the one the
application was built with: a node with another version of the model refuses to start.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import ConfigError
from ..experts.base import Expert
from ..features import EncodedBatch
from ..guard import RouteGuard
from ..policy import Policy
from .records import ModelSpec

log = logging.getLogger("routeguard.scale.serve_ray")
CONFIG_ENV = "ROUTEGUARD_RAY_SERVE_CONFIG"
ACTOR_OPTION_KEYS = {"num_cpus", "num_gpus", "memory", "resources", "accelerator_type", "runtime_env",
                     "label_selector"}


# --- configuration --------------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeploymentOptions(_Strict):
    """Scaling and resources of one deployment (unset fields inherit the defaults; ``ray_actor_options``
    are merged key by key)."""

    num_replicas: int | Literal["auto"] | None = None
    autoscaling_config: dict[str, Any] | None = None
    max_ongoing_requests: int | None = Field(None, ge=1)
    ray_actor_options: dict[str, Any] | None = None

    @field_validator("ray_actor_options")
    @classmethod
    def _known(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        unknown = sorted(set(v or {}) - ACTOR_OPTION_KEYS)
        if unknown:
            raise ValueError(f"unknown ray_actor_options {unknown}; known: {sorted(ACTOR_OPTION_KEYS)}")
        return v

    def over(self, base: "DeploymentOptions") -> dict[str, Any]:
        """Serve ``.options(...)`` kwargs: this deployment's settings over ``base``."""
        mine, theirs = self.model_dump(exclude_none=True), base.model_dump(exclude_none=True)
        merged = {**theirs, **mine}
        if "ray_actor_options" in mine and "ray_actor_options" in theirs:   # e.g. add num_gpus, keep num_cpus
            merged["ray_actor_options"] = {**theirs["ray_actor_options"], **mine["ray_actor_options"]}
        if "autoscaling_config" in merged and "num_replicas" in merged and merged["num_replicas"] != "auto":
            merged.pop("num_replicas")
        return merged


class ExtraExpert(_Strict):
    """An expert that is not a saved head: ``factory`` ("module:callable") returns an Expert."""

    factory: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    always_on: bool = True           # consulted on every conversation (the router does not know it)

    @field_validator("factory")
    @classmethod
    def _shape(cls, v: str) -> str:
        if ":" not in v:
            raise ValueError(f"factory must look like 'package.module:callable', got {v!r}")
        return v


class RayServeConfig(_Strict):
    """Where Ray runs and how each deployment is scaled (YAML; unknown keys rejected).

    ``experts`` holds per-expert overrides of ``expert_defaults`` by expert name; a name that is
    not an expert of the model is a start-up error.
    """

    address: str | None = None              # None: start a local Ray; 'auto', 'host:6379', 'ray://host:10001'
    num_cpus: int | None = Field(None, ge=1)   # CPUs of a local Ray (None: all)
    app_name: str = "routeguard"
    route_prefix: str = "/"
    expert_timeout_s: float = Field(10.0, gt=0.0, le=600.0)
    ingress: DeploymentOptions = Field(default_factory=lambda: DeploymentOptions(
        num_replicas=1, ray_actor_options={"num_cpus": 1}))
    #: the heads are small MLPs: a tenth of a CPU each lets a 2-core machine hold the whole application
    router: DeploymentOptions = Field(default_factory=lambda: DeploymentOptions(
        num_replicas=1, ray_actor_options={"num_cpus": 0.1}))
    expert_defaults: DeploymentOptions = Field(default_factory=lambda: DeploymentOptions(
        num_replicas=1, ray_actor_options={"num_cpus": 0.1}))
    #: refuse to deploy when the deployments ask for more CPUs/GPUs than the cluster has (Serve would
    #: otherwise wait for them forever); turn off on an autoscaling cluster
    check_resources: bool = True
    experts: dict[str, DeploymentOptions] = Field(default_factory=dict)
    extra_experts: dict[str, ExtraExpert] = Field(default_factory=dict)


def load_ray_config(path: str | Path | None = None, **overrides: Any) -> RayServeConfig:
    """Read a :class:`RayServeConfig` from YAML (``path``); keyword overrides win."""
    data: dict[str, Any] = {}
    if path:
        p = Path(path)
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read Ray Serve config {p}: {e}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"Ray Serve config {p} must be a mapping, not {type(loaded).__name__}")
        data = loaded
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return RayServeConfig.model_validate(data)
    except ValidationError as e:
        msgs = "; ".join(f"{'.'.join(str(x) for x in err['loc']) or 'root'}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"invalid Ray Serve config{f' in {path}' if path else ''}: {msgs}") from None


# --- what each replica loads --------------------------------------------------------------------------

class _NoEncoder:
    """Stands in for the encoder where only heads are needed (router and expert replicas)."""

    name = "none"
    max_tokens = 0

    def __init__(self, dim: int):
        self.dim = dim

    def encode(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - never called
        raise RuntimeError("this replica holds no encoder")

    def chunk(self, text: str) -> list[str]:  # pragma: no cover - never called
        raise RuntimeError("this replica holds no encoder")


def _load_model(model: str, fingerprint: str, encoder_options: dict[str, Any] | None = None) -> RouteGuard:
    """The model of this application, from its files. ``encoder_options`` (the ingress): with the model's
    own encoder reopened with them; ``None`` (expert and router replicas): without an encoder."""
    spec = ModelSpec.resolve(model)
    if spec.fingerprint != fingerprint:
        raise ConfigError(f"model {model!r} on this node has fingerprint {spec.fingerprint}, the application was "
                          f"built with {fingerprint}: install the same model on every node")
    cfg = json.loads(dict(spec.files)["model.json"])
    import tempfile

    with tempfile.TemporaryDirectory(prefix="routeguard-model-") as d:
        folder = spec.materialize(Path(d))
        if encoder_options is None:
            return RouteGuard.from_folder(folder, encoder=_NoEncoder(int(cfg["encoder"]["dim"])))
        return RouteGuard.from_folder(folder).with_encoder_options(**encoder_options)


def _make_extra(extra: ExtraExpert, name: str) -> Expert:
    import importlib

    mod, _, attr = extra.factory.partition(":")
    try:
        fn = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"extra expert {name!r}: cannot import factory {extra.factory!r}: {e}") from None
    expert = fn(**extra.kwargs)
    if not isinstance(expert, Expert):
        raise ConfigError(f"extra expert {name!r}: factory returned {type(expert).__name__}, not an Expert")
    return expert


def subset(batch: EncodedBatch, which: np.ndarray) -> EncodedBatch:
    """The conversations ``which`` of ``batch`` with their feature rows (in the same row order)."""
    pos = np.full(len(batch.conversations), -1)
    pos[which] = np.arange(len(which))
    rows = np.nonzero(pos[batch.owner] >= 0)[0]
    return EncodedBatch([batch.conversations[i] for i in which], batch.features[rows], pos[batch.owner[rows]],
                        [batch.chunks[r] for r in rows], batch.n_chunks[which])


class _FixedRouter:
    """Router answers already fetched from the router deployment, for :meth:`RouteGuard.judge`."""

    def __init__(self, outputs: list[str], domains: list[str], scores: np.ndarray,
                 routes: list[list[str]], fallbacks: list[bool]):
        self.outputs, self.domains = outputs, domains
        self._answer = (scores, routes, fallbacks)

    def scores(self, batch: EncodedBatch) -> np.ndarray:
        return self._answer[0]

    def route(self, scores: np.ndarray, policy: Policy) -> tuple[list[list[str]], list[bool]]:
        return self._answer[1], self._answer[2]


class _RemoteAnswer(Expert):
    """An expert whose scores are a pending call to its deployment (sent before judge() runs)."""

    def __init__(self, name: str, outputs: tuple[str, ...], call: tuple[np.ndarray, Any] | None, timeout_s: float):
        self.name, self.outputs, self._call, self._timeout = name, outputs, call, timeout_s

    def score(self, batch: EncodedBatch, which: np.ndarray) -> np.ndarray:
        if self._call is None or not np.array_equal(self._call[0], which):  # pragma: no cover - plan mismatch
            raise RuntimeError(f"expert {self.name}: no pending call for these conversations")
        response = self._call[1]
        try:
            return np.asarray(response.result(timeout_s=self._timeout))
        except TimeoutError:
            response.cancel()
            raise TimeoutError(f"expert deployment {self.name} gave no answer within {self._timeout:g} s") from None
        except Exception as e:
            cause = getattr(e, "cause", None)          # RayTaskError wraps the replica's exception
            if isinstance(cause, Exception):
                raise cause from None
            raise


class ServeGuard(RouteGuard):
    """A RouteGuard whose router and experts are Ray Serve deployments; encodes and decides locally."""

    def __init__(self, encoder: Any, expert_outputs: dict[str, tuple[str, ...]], router_info: dict[str, list[str]] | None,
                 policy: Policy, always_on: list[str], meta: dict[str, Any], router_handle: Any,
                 expert_handles: dict[str, Any], expert_timeout_s: float, *, weights_fingerprint: str = "",
                 attachments: dict[str, str] | None = None):
        experts = {n: _RemoteAnswer(n, outs, None, expert_timeout_s) for n, outs in expert_outputs.items()}
        router = (_FixedRouter(router_info["outputs"], router_info["domains"], np.zeros((0, 0)), [], [])
                  if router_info else None)
        super().__init__(encoder, experts, router, policy, always_on=always_on, meta=meta)  # type: ignore[arg-type]
        self.expert_outputs, self.router_info = dict(expert_outputs), router_info
        self._router_handle, self._expert_handles = router_handle, dict(expert_handles)
        self._timeout = expert_timeout_s
        # the experts are remote, so the model's fingerprint and attachments come from the ingress's copy
        self._fingerprint, self.attachments = weights_fingerprint, dict(attachments or {})

    def replace(self, *, encoder: Any = None, policy: Policy | None = None) -> "ServeGuard":
        return ServeGuard(encoder or self.encoder, self.expert_outputs, self.router_info, policy or self.policy,
                          self.always_on, self.meta, self._router_handle, self._expert_handles, self._timeout,
                          weights_fingerprint=self.weights_fingerprint, attachments=self.attachments)

    def judge(self, batch: EncodedBatch, policy: Policy, t0: float | None = None) -> list[Any]:
        """Route remotely, send every routed expert its conversations at once, then decide locally.
        Runs in the server's scorer thread (blocking waits are fine there)."""
        t0 = time.perf_counter() if t0 is None else t0
        n = len(batch.conversations)
        router = None
        if self.router_info is not None:
            scores, routes, fallbacks = self._router_handle.route.remote(batch, policy).result(timeout_s=self._timeout)
            router = _FixedRouter(self.router_info["outputs"], self.router_info["domains"], scores, routes, fallbacks)
        else:
            routes = [[e for e in self.experts if e not in self.always_on]] * n
        # the same plan as RouteGuard.judge: routed experts plus the always-on ones
        plan = [sorted(set(r) | set(self.always_on), key=list(self.experts).index) for r in routes]
        calls: dict[str, tuple[np.ndarray, Any]] = {}
        for name in self.experts:
            which = np.array([i for i in range(n) if name in plan[i]], np.int64)
            if len(which):
                calls[name] = (which, self._expert_handles[name].score.remote(subset(batch, which)))
        answers = {name: _RemoteAnswer(name, outs, calls.get(name), self._timeout)
                   for name, outs in self.expert_outputs.items()}
        local = RouteGuard(self.encoder, answers, router, policy, always_on=self.always_on,  # type: ignore[arg-type]
                           meta=self.meta)
        return local.judge(batch, policy, t0)


# --- deployments --------------------------------------------------------------------------------------

class RouterReplica:
    """The router deployment's replica: the router head only (no encoder)."""

    def __init__(self, model: str, fingerprint: str):
        guard = _load_model(model, fingerprint)
        if guard.router is None:
            raise ConfigError(f"model {model!r} has no router")
        self.router = guard.router

    def describe(self) -> dict[str, list[str]]:
        return {"outputs": list(self.router.outputs), "domains": list(self.router.domains)}

    def route(self, batch: EncodedBatch, policy: Policy) -> tuple[np.ndarray, list[list[str]], list[bool]]:
        scores = self.router.scores(batch)
        routes, fallbacks = self.router.route(scores, policy)
        return scores, routes, fallbacks


class ExpertReplica:
    """An expert deployment's replica: one expert (a saved head, or one built by a factory)."""

    def __init__(self, model: str, fingerprint: str, name: str, extra: ExtraExpert | None = None):
        if extra is not None:
            self.expert = _make_extra(extra, name)
        else:
            guard = _load_model(model, fingerprint)
            if name not in guard.experts:
                raise ConfigError(f"model {model!r} has no expert {name!r}")
            self.expert = guard.experts[name]

    def describe(self) -> list[str]:
        return list(self.expert.outputs)

    def score(self, batch: EncodedBatch) -> np.ndarray:
        """Scores of every conversation of ``batch`` (the ingress sends only those routed here)."""
        return self.expert.score(batch, np.arange(len(batch.conversations)))


def _ingress_class() -> Any:
    """The ingress deployment class (built lazily: importing this module does not need Ray)."""
    from ray import serve

    @serve.ingress()
    class IngressReplica:
        async def __init__(self, model: str, fingerprint: str, settings: Any, router: Any,
                           experts: dict[str, Any], always_on: list[str], expert_timeout_s: float,
                           encoder_threads: int | None = None):
            kw = {k: v for k, v in (("threads", settings.encoder_threads or encoder_threads),
                                    ("batch_size", settings.encoder_batch_size)) if v}
            base = _load_model(model, fingerprint, encoder_options=kw)
            outputs = {n: tuple(await h.describe.remote()) for n, h in experts.items()}
            info = await router.describe.remote() if router is not None else None
            self.settings = settings
            self.guard = ServeGuard(base.encoder, outputs, info, base.policy, always_on, base.meta, router,
                                    experts, expert_timeout_s, weights_fingerprint=base.weights_fingerprint,
                                    attachments=base.attachments)

        def __serve_build_asgi_app__(self) -> Any:
            from ..server.app import create_app

            return create_app(guard=self.guard, settings=self.settings)

    return IngressReplica


def resource_demand(config: RayServeConfig, expert_names: list[str], has_router: bool = True) -> dict[str, float]:
    """CPUs and GPUs the application asks for at its minimum size (autoscaling: ``min_replicas``)."""
    parts = [config.ingress.over(DeploymentOptions())]
    if has_router:
        parts.append(config.router.over(DeploymentOptions()))
    parts += [config.experts.get(n, DeploymentOptions()).over(config.expert_defaults) for n in expert_names]
    need = {"CPU": 0.0, "GPU": 0.0}
    for opts in parts:
        auto = opts.get("autoscaling_config") or {}
        n = opts.get("num_replicas", 1)
        replicas = int(auto.get("min_replicas", 1)) if auto or n == "auto" else int(n)
        actor = opts.get("ray_actor_options") or {}
        need["CPU"] += replicas * float(actor.get("num_cpus", 1))      # Serve's default is 1 CPU
        need["GPU"] += replicas * float(actor.get("num_gpus", 0))
    return need


def _check_fits(settings: Any, config: RayServeConfig) -> None:
    import ray

    cfg = json.loads(dict(ModelSpec.resolve(settings.model).files)["model.json"])
    need = resource_demand(config, list(cfg["experts"]) + list(config.extra_experts), bool(cfg.get("router")))
    have = ray.cluster_resources()
    short = {k: (v, have.get(k, 0.0)) for k, v in need.items() if v > have.get(k, 0.0) + 1e-9}
    if short:
        what = ", ".join(f"{v:g} {k} (cluster has {h:g})" for k, (v, h) in short.items())
        raise ConfigError(f"the deployments ask for {what}: lower num_replicas / ray_actor_options in the Ray Serve "
                          "config, add nodes, or set check_resources: false on an autoscaling cluster")


def build_app(settings: Any, config: RayServeConfig | None = None) -> Any:
    """The bound Ray Serve application for ``settings.model`` (pass it to ``serve.run``)."""
    from ray import serve

    config = config or RayServeConfig()
    spec = ModelSpec.resolve(settings.model)
    cfg = json.loads(dict(spec.files)["model.json"])
    names = list(cfg["experts"]) + list(config.extra_experts)
    clash = sorted(set(cfg["experts"]) & set(config.extra_experts))
    if clash:
        raise ConfigError(f"extra_experts {clash} clash with the model's experts")
    unknown = sorted(set(config.experts) - set(names))
    if unknown:
        raise ConfigError(f"Ray Serve config: experts {unknown} are not experts of model {settings.model!r}; "
                          f"its experts: {names}")
    router = None
    if cfg.get("router"):
        router = serve.deployment(RouterReplica).options(
            name="RouteGuardRouter", **config.router.over(DeploymentOptions())).bind(settings.model, spec.fingerprint)
    experts = {}
    for name in names:
        opts = config.experts.get(name, DeploymentOptions()).over(config.expert_defaults)
        experts[name] = serve.deployment(ExpertReplica).options(name=f"RouteGuardExpert-{name}", **opts).bind(
            settings.model, spec.fingerprint, name, config.extra_experts.get(name))
    always_on = [e for e in cfg.get("always_on", ["general"]) if e in cfg["experts"]]
    always_on += [n for n, x in config.extra_experts.items() if x.always_on]
    ingress = config.ingress.over(DeploymentOptions())
    # onnxruntime threads = the ingress's CPUs (unless the server settings say otherwise)
    threads = max(1, int((ingress.get("ray_actor_options") or {}).get("num_cpus", 1) or 1))
    return serve.deployment(_ingress_class()).options(name="RouteGuardIngress", **ingress).bind(
        settings.model, spec.fingerprint, settings, router, experts, always_on, config.expert_timeout_s, threads)


def start(settings: Any, config: RayServeConfig | None = None, *, blocking: bool = False) -> Any:
    """Connect to (or start) Ray, start Serve's HTTP proxy on ``settings.host:port`` and deploy.
    Returns the ingress handle (``blocking=False``)."""
    from ray import serve

    from .ray_engine import connect

    config = config or RayServeConfig()
    connect(config.address, config.num_cpus)
    if config.check_resources:
        _check_fits(settings, config)
    serve.start(http_options={"host": settings.host, "port": settings.port})
    return serve.run(build_app(settings, config), name=config.app_name, route_prefix=config.route_prefix,
                     blocking=blocking)


def run(settings: Any, ray_config: str | Path | None = None, *, engine: str = "ray") -> None:
    """What ``routeguard serve --engine ray`` calls: deploy, then serve until SIGINT/SIGTERM, and shut Serve
    (and a Ray started here) down. ``ray_config`` (or ``$ROUTEGUARD_RAY_SERVE_CONFIG``) is the
    :class:`RayServeConfig` YAML. A bad engine name or config is reported on stderr with exit status 2,
    like the CLI's other errors."""
    import os
    import signal
    import sys
    import threading

    stop = threading.Event()
    started = False
    try:
        if engine != "ray":
            raise ConfigError(f"--engine must be local or ray, not {engine!r}")
        config = load_ray_config(ray_config or os.environ.get(CONFIG_ENV))
        if getattr(settings, "workers", 1) > 1:
            log.warning("workers=%d is a uvicorn setting; with Ray, scale the ingress deployment instead",
                        settings.workers)
        sys.stderr.write(f"RouteGuard on Ray Serve: {settings.model} at http://{settings.host}:{settings.port} "
                         f"(auth {'on' if settings.api_keys else 'OFF'}); Ctrl-C stops it\n")
        started = True
        # our own wait, not Ray's blocking serve.run (it exits the process on Ctrl-C before we can clean
        # up); installed first, so a signal that comes while deploying stops the server once it is up
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        start(settings, config)
        while not stop.wait(0.5):
            pass
        sys.stderr.write("RouteGuard on Ray Serve: stopping\n")
    except ConfigError as e:
        sys.stderr.write(f"error: {e}\n")
        raise SystemExit(2) from None
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C while deploying
        pass
    finally:
        if started:
            import ray
            from ray import serve

            serve.shutdown()
            if config.address is None:          # a local Ray started by connect(): stop it too
                ray.shutdown()


__all__ = ["DeploymentOptions", "ExpertReplica", "ExtraExpert", "RouterReplica", "resource_demand", "RayServeConfig", "ServeGuard", "build_app", "load_ray_config",
           "run", "start", "subset"]
