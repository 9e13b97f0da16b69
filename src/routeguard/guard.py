"""RouteGuard: encode once, route, run the routed experts, and let the Policy decide."""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .encoders.base import Encoder
from .errors import ConfigError, InputError, RouteGuardError
from .experts.base import Expert, HeadExpert
from .features import EncodedBatch, encode_conversations, feature_dim
from .heads import MLPHead
from .policy import Policy
from .router import Router
from .taxonomy import ALL_CATEGORIES, CATEGORIES, domain_of
from .types import (BatchItemError, Conversation, ExpertResult, GuardInput, Route, Target, Verdict,
                    to_conversation)

BINARY = "unsafe"   # output name of the always-on binary expert
MODEL_FORMAT = 1


#: Optional files of a model folder that travel with the model (read by wrappers, not by the guard).
ATTACHMENTS = ("trajectory_head.json",)


class RouteGuard:
    """A router-expert guard.

    ``experts`` maps a domain (or ``"general"``, the always-on binary expert) to an :class:`Expert`.
    With ``router=None`` every expert is always consulted (this is how the monolithic baseline runs).
    """

    def __init__(self, encoder: Encoder, experts: dict[str, Expert], router: Router | None = None,
                 policy: Policy | None = None, always_on: Sequence[str] = ("general",),
                 meta: dict[str, Any] | None = None):
        self.encoder, self.experts, self.router = encoder, dict(experts), router
        self.policy = policy or Policy()
        self.always_on = [e for e in always_on if e in self.experts]
        self.meta = meta or {}
        # extra files of the model folder, kept as text for the wrappers that read them (e.g. the agent
        # guard's trajectory_head.json); saved back with the model
        self.attachments: dict[str, str] = {}
        # named decision rules chosen at training time for a false-positive budget ("default", "strict");
        # ``policy`` is one of them or a caller's own
        self.operating_points: dict[str, Policy] = {}
        self._fingerprint: str | None = None
        if router is not None:
            unknown = [d for d in router.domains if d not in self.experts]
            if unknown:
                raise ConfigError(f"router routes to domains without an expert: {unknown}")
        self.categories = [c for c in ALL_CATEGORIES
                           if any(c in e.outputs for e in self.experts.values())]

    @property
    def name(self) -> str:
        return str(self.meta.get("name", "routeguard"))

    # -- public API ------------------------------------------------------------------------------
    def check(self, x: GuardInput, *, target: Target | None = None, policy: Policy | None = None) -> Verdict:
        """Judge one input (string, list of messages, dict, or Conversation). Raises InputError."""
        return self._check_convs([to_conversation(x, target)], policy or self.policy)[0]

    def check_batch(self, xs: Sequence[GuardInput], *, target: Target | None = None,
                    policy: Policy | None = None) -> list[Verdict | BatchItemError]:
        """Judge many inputs in one encoder pass. A bad item yields a BatchItemError in its place."""
        convs: list[Conversation] = []
        slots: list[int] = []
        out: list[Verdict | BatchItemError | None] = [None] * len(xs)
        for i, x in enumerate(xs):
            try:
                convs.append(to_conversation(x, target))
                slots.append(i)
            except InputError as e:
                out[i] = BatchItemError(index=i, error=str(e))
        good: list[Conversation] = []
        good_slots: list[int] = []
        for c, i in zip(convs, slots):           # target/role problems surface here, per item
            try:
                c.focus_and_context()
                good.append(c)
                good_slots.append(i)
            except InputError as e:
                out[i] = BatchItemError(index=i, error=str(e))
        if good:
            for i, v in zip(good_slots, self._check_convs(good, policy or self.policy)):
                out[i] = v
        return out  # type: ignore[return-value]

    # -- the pipeline ----------------------------------------------------------------------------
    def _check_convs(self, convs: list[Conversation], policy: Policy) -> list[Verdict]:
        t0 = time.perf_counter()
        flat, views = with_action_views(convs)
        bar = policy.reread_sentences_above
        reread = None if bar >= 1.0 else (lambda b: self._suspicious(b, bar))
        triage = reread if policy.reread_triage == "sentence" else None   # then on each sentence's row
        batch = encode_conversations(self.encoder, flat, reread, triage)
        return combine_action_views(views, self.judge(batch, policy, t0))

    def _suspicious(self, batch: EncodedBatch, bar: float) -> list[int]:
        """Conversations whose always-on P(unsafe) reaches ``bar`` (all of them if an expert fails: fail closed)."""
        n = len(batch.conversations)
        if not self.always_on:                         # nothing cheap to triage with: re-read all
            return list(range(n))
        hit = np.zeros(n, bool)
        for name in self.always_on:
            expert = self.experts[name]
            try:
                probs = expert.score(batch, np.arange(n))
                col = list(expert.outputs).index(BINARY) if BINARY in expert.outputs else None
                p = probs[:, col] if col is not None else probs.max(1)
                hit |= ~(p < bar)                      # NaN counts as suspicious
            except Exception:  # noqa: BLE001 - the verdict pass reports the failure; here: re-read all
                return list(range(n))
        return [int(i) for i in np.flatnonzero(hit)]

    def judge(self, batch: EncodedBatch, policy: Policy, t0: float | None = None) -> list[Verdict]:
        """Route, run the experts and decide, on already-encoded conversations."""
        t0 = time.perf_counter() if t0 is None else t0
        convs = batch.conversations
        n = len(convs)
        if self.router is not None:
            rscores = self.router.scores(batch)
            routes, fallbacks = self.router.route(rscores, policy)
            router_names = self.router.outputs
        else:
            rscores = np.zeros((n, 0), np.float32)
            routes, fallbacks = [[e for e in self.experts if e not in self.always_on]] * n, [False] * n
            router_names = []
        plan = [sorted(set(r) | set(self.always_on), key=list(self.experts).index) for r in routes]
        results: list[list[ExpertResult]] = [[] for _ in range(n)]
        for name, expert in self.experts.items():
            which = np.array([i for i in range(n) if name in plan[i]], np.int64)
            if len(which) == 0:
                continue
            e0 = time.perf_counter()
            try:
                probs = expert.score(batch, which)
                if probs.shape != (len(which), len(expert.outputs)) or not np.all(np.isfinite(probs)):
                    raise RouteGuardError(f"expert returned scores of shape {probs.shape} or non-finite values")
                err = None
            except Exception as e:  # noqa: BLE001 - any expert failure becomes a degraded verdict
                probs, err = None, f"{type(e).__name__}: {e}"
            ms = (time.perf_counter() - e0) * 1000 / max(1, len(which))
            for j, i in enumerate(which):
                if err is None:
                    scores = {o: float(np.clip(p, 0.0, 1.0)) for o, p in zip(expert.outputs, probs[j])}
                    res = ExpertResult(expert=name, scores=scores, latency_ms=ms,
                                       unsafe_score=scores.get(BINARY, max(scores.values(), default=0.0)))
                else:
                    res = ExpertResult(expert=name, latency_ms=ms, error=err)
                results[i].append(res)
        total_ms = (time.perf_counter() - t0) * 1000
        return [self._decide(convs[i], results[i], policy,
                             Route(experts=plan[i], fallback=fallbacks[i],
                                   router_scores={k: float(v) for k, v in zip(router_names, rscores[i])}),
                             int(batch.n_chunks[i]), total_ms / n) for i in range(n)]

    def _decide(self, conv: Conversation, results: list[ExpertResult], policy: Policy, route: Route,
                chunks: int, ms: float) -> Verdict:
        policy = policy.for_target(conv.resolved_target)
        cat_scores = {c: 0.0 for c in self.categories}
        unsafe_bin: float | None = None
        failed = [r for r in results if r.error]
        for r in results:
            for k, v in r.scores.items():
                if k == BINARY:
                    unsafe_bin = v
                else:
                    cat_scores[k] = max(cat_scores.get(k, 0.0), v)
        flags = policy.flags(cat_scores, unsafe_bin)
        top = max(cat_scores.items(), key=lambda kv: kv[1]) if cat_scores else ("", 0.0)
        unsafe_score = unsafe_bin if unsafe_bin is not None else top[1]
        bin_flag = unsafe_bin is not None and unsafe_bin >= policy.unsafe_threshold
        flagged = any(flags.values()) or bin_flag
        degraded = bool(failed)
        if degraded and policy.on_error == "block":
            flagged = True
            unsafe_score = max(unsafe_score, 1.0 if not results or len(failed) == len(results) else unsafe_score)
        reason = self._reason(flags, cat_scores, unsafe_score, bin_flag, failed, policy, route)
        return Verdict(flagged=flagged, unsafe_score=float(unsafe_score), categories=flags,
                       category_scores=cat_scores, target=conv.resolved_target, route=route,
                       experts=results, degraded=degraded, reason=reason, chunks=chunks, latency_ms=ms)

    @staticmethod
    def _reason(flags: dict[str, bool], scores: dict[str, float], unsafe: float, bin_flag: bool,
                failed: list[ExpertResult], policy: Policy, route: Route) -> str:
        parts = []
        hit = sorted((c for c, f in flags.items() if f), key=lambda c: -scores[c])
        if hit:
            parts.append("unsafe: " + ", ".join(f"{c} {scores[c]:.2f}" for c in hit))
        elif bin_flag:
            parts.append(f"unsafe (no single category above threshold): P(unsafe)={unsafe:.2f}")
        else:
            top = max(scores, key=scores.get) if scores else None  # type: ignore[arg-type]
            parts.append(f"safe: P(unsafe)={unsafe:.2f}" + (f", highest category {top} {scores[top]:.2f}" if top else ""))
        if failed:
            act = "blocked (fail-closed)" if policy.on_error == "block" else "allowed (on_error=allow)"
            parts.append(f"DEGRADED, {act}: " + "; ".join(f"{r.expert}: {r.error}" for r in failed))
        if route.fallback:
            parts.append("router unsure: consulted every expert")
        return "; ".join(parts)

    # -- persistence -----------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        experts_cfg = {}
        for name, e in self.experts.items():
            if not isinstance(e, HeadExpert):
                raise ConfigError(f"expert {name!r} ({type(e).__name__}) is not a saved head; save its config instead")
            arrays.update(e.head.to_arrays(f"expert.{name}"))
            experts_cfg[name] = list(e.outputs)
        if self.router is not None:
            arrays.update(self.router.head.to_arrays("router"))
            for d, h in self.router.extensions.items():
                arrays.update(h.to_arrays(f"router_ext.{d}"))
        cfg = {
            "format": MODEL_FORMAT,
            "encoder": self._encoder_cfg(folder),
            "experts": experts_cfg,
            "always_on": self.always_on,
            "router": list(self.router.head.outputs) if self.router is not None else None,
            "router_extensions": list(self.router.extensions) if self.router is not None else [],
            "policy": self.policy.model_dump(),
            "operating_points": {k: p.model_dump() for k, p in self.operating_points.items()},
            "meta": self.meta,
        }
        np.savez_compressed(folder / "weights.npz", **arrays)
        (folder / "model.json").write_text(json.dumps(cfg, indent=2, sort_keys=False))
        for name, text in self.attachments.items():
            (folder / name).write_text(text)
        return folder

    def _encoder_cfg(self, folder: Path) -> dict[str, Any]:
        """The encoder entry of model.json; a fine-tuned encoder's folder is stored relative to the model."""
        cfg: dict[str, Any] = {"name": self.encoder.name, "dim": self.encoder.dim, "max_tokens": self.encoder.max_tokens}
        enc, enc_folder = self.encoder, None
        for _ in range(3):                  # through wrappers (memo, cache) to the ONNX encoder
            enc_folder = getattr(enc, "folder", None)
            if enc_folder is not None:
                break
            enc = getattr(enc, "inner", None) or getattr(getattr(enc, "cache", None), "encoder", None)
        if enc_folder is not None and self.encoder.name.startswith("routeguard/"):
            cfg["folder"] = os.path.relpath(Path(enc_folder).resolve(), folder.resolve())
        return cfg

    def replace(self, *, encoder: Encoder | None = None, policy: Policy | None = None) -> "RouteGuard":
        """A guard with the same experts, router and attachments, and another encoder and/or policy."""
        g = RouteGuard(encoder or self.encoder, self.experts, self.router, policy or self.policy,
                       always_on=self.always_on, meta=self.meta)
        g.attachments, g._fingerprint = dict(self.attachments), self._fingerprint
        g.operating_points = dict(self.operating_points)
        return g

    def with_encoder_options(self, *, threads: int | None = None, batch_size: int | None = None,
                             spinning: bool | None = None) -> "RouteGuard":
        """The same guard with its own encoder (the one its model names) reopened with these session
        options; ``None`` keeps an option as it is, and with none given the guard is returned as it is.
        Call while the encoder's folder exists."""
        options = {k: v for k, v in (("threads", threads), ("batch_size", batch_size), ("spinning", spinning))
                   if v is not None}
        if not options:
            return self
        from .encoders import OnnxEncoder

        if not isinstance(self.encoder, OnnxEncoder):
            raise ConfigError(f"encoder options need an ONNX encoder; this guard uses {type(self.encoder).__name__}")
        return self.replace(encoder=self.encoder.with_options(**options))

    def at(self, operating_point: str) -> "RouteGuard":
        """The same guard deciding with one of its named operating points (e.g. ``"strict"``)."""
        if operating_point not in self.operating_points:
            raise ConfigError(f"unknown operating point {operating_point!r}; this model has: "
                              f"{', '.join(sorted(self.operating_points)) or 'none'}")
        return self.replace(policy=self.operating_points[operating_point])

    @property
    def weights_fingerprint(self) -> str:
        """A hash of the trained head weights (experts and router), computed once: which model an add-on
        fitted on its scores (e.g. the agent trajectory head) belongs to."""
        if self._fingerprint is None:
            h = hashlib.sha1()
            heads = [(f"expert.{n}", getattr(e, "head", None)) for n, e in self.experts.items()]
            if self.router is not None:
                heads.append(("router", self.router.head))
            for name, head in heads:
                h.update(name.encode())
                if isinstance(head, MLPHead):
                    for k, v in sorted(head.to_arrays(name).items()):
                        h.update(k.encode())
                        h.update(np.ascontiguousarray(v, np.float32).tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    @classmethod
    def from_folder(cls, folder: str | Path, encoder: Encoder | None = None) -> "RouteGuard":
        from .encoders import model_encoder

        folder = Path(folder)
        cfg_path, w_path = folder / "model.json", folder / "weights.npz"
        if not cfg_path.is_file() or not w_path.is_file():
            raise ConfigError(f"{folder} is not a RouteGuard model folder (needs model.json and weights.npz)")
        cfg = json.loads(cfg_path.read_text())
        if cfg.get("format") != MODEL_FORMAT:
            raise ConfigError(f"{cfg_path}: unsupported model format {cfg.get('format')!r}")
        encoder = encoder or model_encoder(folder, cfg["encoder"])
        if encoder.name != cfg["encoder"]["name"] and cfg["encoder"].get("folder"):
            raise ConfigError(f"{cfg_path}: model was trained on encoder {cfg['encoder']['name']}, got {encoder.name}")
        if encoder.dim != cfg["encoder"]["dim"]:
            raise ConfigError(f"{cfg_path}: model expects a {cfg['encoder']['dim']}-d encoder, got {encoder.dim}")
        with np.load(w_path) as z:
            arrays = {k: z[k] for k in z.files}
        experts: dict[str, Expert] = {
            name: HeadExpert(name, MLPHead.from_arrays(arrays, f"expert.{name}", outs))
            for name, outs in cfg["experts"].items()}
        for e in experts.values():
            w0 = e.head.layers[0][0]  # type: ignore[attr-defined]
            if w0.shape[0] != feature_dim(encoder.dim):
                raise ConfigError(f"{w_path}: expert {e.name} expects {w0.shape[0]} features")
        router = None
        if cfg.get("router"):
            ext = {d: MLPHead.from_arrays(arrays, f"router_ext.{d}", [d]) for d in cfg.get("router_extensions", [])}
            router = Router(MLPHead.from_arrays(arrays, "router", cfg["router"]), ext)
        guard = cls(encoder, experts, router, Policy.model_validate(cfg["policy"]),
                    always_on=cfg.get("always_on", ["general"]), meta=cfg.get("meta", {}))
        guard.attachments = {n: (folder / n).read_text(encoding="utf-8") for n in ATTACHMENTS if (folder / n).is_file()}
        guard.operating_points = {k: Policy.model_validate(v) for k, v in cfg.get("operating_points", {}).items()}
        return guard


def with_action_views(convs: list[Conversation]) -> tuple[list[Conversation], list[list[str]]]:
    """The conversations followed by the extra conversations that judge their pending tool calls
    (:meth:`Conversation.action_views`), and each conversation's view labels, for
    :func:`combine_action_views`. One encoder pass then judges a reply and the actions it takes."""
    views = [c.action_views() for c in convs]
    return list(convs) + [v for vs in views for _, v in vs], [[label for label, _ in vs] for vs in views]


def combine_action_views(views: list[list[str]], results: Sequence) -> list:
    """Each conversation's verdict combined with its tool-call verdicts (:meth:`Verdict.combined`).
    ``results`` is in the order :func:`with_action_views` returned; a BatchItemError stays as it is."""
    out, k = [], len(views)
    for i, labels in enumerate(views):
        parts = list(zip(labels, results[k:k + len(labels)]))
        k += len(labels)
        r = results[i]
        if isinstance(r, BatchItemError) or not parts:
            out.append(r)
            continue
        bad = next((p for _, p in parts if isinstance(p, BatchItemError)), None)
        out.append(r.combined([(lab, p) for lab, p in parts if not isinstance(p, BatchItemError)])
                   if bad is None else BatchItemError(index=i, error=f"tool call: {bad.error}"))
    return out


def default_categories() -> list[str]:
    return list(CATEGORIES)


__all__ = ["RouteGuard", "domain_of"]
