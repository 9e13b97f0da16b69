"""Train the router, the experts, the always-on binary expert and the monolithic baseline.

All heads read the same frozen-encoder features (see :mod:`routeguard.features`) of the same
GuardZoo training records; calibration (Platt) and every threshold are chosen on the dev split only.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data.build import read_split
from ..encoders import base_encoder
from ..encoders.base import Encoder
from ..experts.base import HeadExpert
from ..guard import RouteGuard
from ..heads import MLPHead, sigmoid
from ..policy import Policy
from ..router import Router
from ..taxonomy import CATEGORIES, DOMAINS, categories_of
from .config import TrainConfig
from .embed_cache import CachedEncoder, EmbeddingCache
from .fitting import (Prepared, Progress, _select, best_threshold, calibrate, cap_sources, data_fingerprint,
                      fit_head, prepare, record_logits, style_weights, to_conv)

log = logging.getLogger(__name__)
__all__ = ["train", "to_conv", "cap_sources", "Prepared"]


def train(cfg: TrainConfig, encoder: Encoder | None = None, progress: Progress | None = None) -> dict[str, Path]:
    """Train the configured models; returns {model name: saved folder}."""
    t0 = time.perf_counter()
    np.random.seed(cfg.seed)
    if cfg.datasets_root is not None and not any((cfg.data / f"train.{x}").is_file() for x in ("jsonl", "parquet")):
        from ..data.build import build, write

        log.info("no GuardZoo build in %s: building it from %s", cfg.data, cfg.datasets_root)
        write(build(cfg.datasets_root, progress=(lambda n, k: progress(f"load {n}", k, k)) if progress else None),
              cfg.data)
    if encoder is None and (cfg.finetune is not None or cfg.quantize_encoder):
        encoder = own_encoder(cfg, progress)
    encoder = encoder or base_encoder()
    cache = EmbeddingCache(encoder, cfg.cache_dir or (cfg.data / ".cache"))
    train_recs = cap_sources(_select(read_split(cfg.data, "train"), cfg.ood_protocol, cfg.exclude), cfg.source_cap, cfg.seed)
    dev_recs = _select(read_split(cfg.data, "dev"), cfg.ood_protocol, cfg.exclude)
    tr = prepare(train_recs, cache, cfg.max_chunks, progress, cfg.sentence_rows, cfg.seed)
    dv = prepare(dev_recs, cache, cfg.max_chunks, progress)
    log.info("train records %d (rows %d), dev %d", len(tr.records), len(tr.feats), len(dv.records))
    heads_cfg = cfg.head
    # label-dropout free, deterministic: every head sees the same rows it is defined on
    stage = [0]
    n_heads = 1 + (len(DOMAINS) + 1 if "routeguard" in cfg.models else 0) + (1 if "monolith" in cfg.models else 0)

    weight = style_weights(tr.records)      # per record; rows inherit their record's weight

    def fit(name: str, x: np.ndarray, y: np.ndarray, outputs: list[str], rows: np.ndarray) -> MLPHead:
        if progress:
            progress(f"fit {name}", stage[0], n_heads)
        h = fit_head(x, y, outputs, heads_cfg, cfg.seed, sample_weight=weight[tr.owner[rows]] * tr.row_weight[rows])
        stage[0] += 1
        return h

    # 1. always-on binary expert: every record (including unsafe records of unknown category)
    all_rows = np.arange(len(tr.feats))
    general = fit("general", tr.feats, tr.y_unsafe[tr.owner][:, None], ["unsafe"], all_rows)
    calibrate(general, dv, dv.y_unsafe[:, None], np.ones(len(dv.records), bool))
    p_dev_unsafe = sigmoid(record_logits(general, dv)[:, 0] * general.platt_a[0] + general.platt_b[0])
    t_unsafe, f1_unsafe = best_threshold(p_dev_unsafe, dv.y_unsafe)

    rows_k = tr.rows_of(tr.known)
    x_k = tr.feats[rows_k]
    yc_k = tr.y_cat[tr.owner[rows_k]]
    dev_known = dv.known
    fingerprint = data_fingerprint(cfg.data)
    meta_common: dict[str, Any] = {
        "trained_on": str(cfg.data), "data_fingerprint": fingerprint, "seed": cfg.seed,
        "ood_protocol": cfg.ood_protocol, "train_records": len(tr.records), "train_rows": int(len(tr.feats)),
        "dev_records": len(dv.records), "encoder": encoder.name, "config": json.loads(cfg.model_dump_json()),
    }
    saved: dict[str, Path] = {}

    dev_cat_f1: dict[str, float] = {}
    dev_decision_f1 = [float("nan")]

    def thresholds_for(heads: list[MLPHead]) -> tuple[dict[str, float], float]:
        """Per-category thresholds (dev F1), then the category gate maximising dev binary F1."""
        th, flags = {}, np.zeros(len(dv.records), bool)
        for h in heads:
            p = sigmoid(record_logits(h, dv) * h.platt_a + h.platt_b)
            for j, c in enumerate(h.outputs):
                if c in CATEGORIES:
                    th[c], dev_cat_f1[c] = best_threshold(p[dev_known, j], dv.y_cat[dev_known, CATEGORIES.index(c)])
                    flags |= p[:, j] >= th[c]
        y = dv.y_unsafe > 0
        best = (0.0, -1.0)
        for gate in (0.0, t_unsafe / 4, t_unsafe / 2, 3 * t_unsafe / 4, t_unsafe):
            pred = (p_dev_unsafe >= t_unsafe) | (flags & (p_dev_unsafe >= gate))
            f1 = 2 * float((pred & y).sum()) / max(1.0, float(pred.sum() + y.sum()))
            if f1 > best[1] + 1e-4:
                best = (round(float(gate), 4), f1)
        dev_decision_f1[0] = best[1]
        return th, best[0]

    if "routeguard" in cfg.models:
        # 2. router: domains + safe, on records whose categories are known
        y_dom = np.zeros((len(tr.records), len(DOMAINS) + 1), np.float32)
        for j, d in enumerate(DOMAINS):
            idx = [CATEGORIES.index(c) for c in categories_of(d) if c in CATEGORIES]
            y_dom[:, j] = tr.y_cat[:, idx].max(1)
        y_dom[:, -1] = 1 - tr.y_unsafe
        router_head = fit("router", x_k, y_dom[tr.owner[rows_k]], list(DOMAINS) + ["safe"], rows_k)
        dv_dom = np.zeros((len(dv.records), len(DOMAINS) + 1), np.float32)
        for j, d in enumerate(DOMAINS):
            idx = [CATEGORIES.index(c) for c in categories_of(d) if c in CATEGORIES]
            dv_dom[:, j] = dv.y_cat[:, idx].max(1)
        dv_dom[:, -1] = 1 - dv.y_unsafe
        calibrate(router_head, dv, dv_dom, dev_known)
        # 3. one expert per domain over its categories; it sees every known record (others' are negatives)
        experts: dict[str, HeadExpert] = {"general": HeadExpert("general", general)}
        for d in DOMAINS:
            cats = [c for c in categories_of(d) if c in CATEGORIES]
            idx = [CATEGORIES.index(c) for c in cats]
            h = fit(f"expert {d}", x_k, yc_k[:, idx], cats, rows_k)
            calibrate(h, dv, dv.y_cat[:, idx], dev_known)
            experts[d] = HeadExpert(d, h)
        th, gate = thresholds_for([e.head for n, e in experts.items() if n != "general"])
        router = Router(router_head)
        route_t = choose_route_threshold(router, experts, dv, cfg.router_recall)
        policy = Policy(thresholds=th, unsafe_threshold=t_unsafe, category_gate=gate, route_threshold=route_t)
        guard = RouteGuard(encoder, experts, router, policy, meta=dict(
            meta_common, name="routeguard", dev_category_f1=_rounded(dev_cat_f1), dev_decision_f1=round(dev_decision_f1[0], 4)))
        saved["routeguard"] = guard.save(cfg.out / "routeguard")
    if "monolith" in cfg.models:
        h = fit("monolith", x_k, yc_k, list(CATEGORIES), rows_k)
        calibrate(h, dv, dv.y_cat, dev_known)
        th, gate = thresholds_for([h])
        policy = Policy(thresholds=th, unsafe_threshold=t_unsafe, category_gate=gate)
        guard = RouteGuard(encoder, {"general": HeadExpert("general", general), "monolith": HeadExpert("monolith", h)},
                           None, policy, meta=dict(meta_common, name="monolith", dev_category_f1=_rounded(dev_cat_f1),
                                                   dev_decision_f1=round(dev_decision_f1[0], 4)))
        saved["monolith"] = guard.save(cfg.out / "monolith")
    log.info("trained in %.0f s (dev binary F1 %.3f at %.3f)", time.perf_counter() - t0, f1_unsafe, t_unsafe)
    from .model_card import write_model_card

    if "routeguard" in saved:
        from .expand import expand

        for ex in cfg.expansions:
            if progress:
                progress(f"expand {ex.expert}", 0, 1)
            expand(saved["routeguard"], ex.expert, ex.categories, cfg.data, saved["routeguard"], head=cfg.head,
                   seed=cfg.seed, source_cap=cfg.source_cap, max_chunks=cfg.max_chunks, exclude=cfg.exclude,
                   cache_dir=cfg.cache_dir, sentences=cfg.sentence_rows)
        if cfg.trajectory_head:      # after the expansions: the head reads the final experts' scores
            from ..agent.train_trajectory import fit_for_model

            if progress:
                progress("trajectory head", 0, 1)
            fit_for_model(saved["routeguard"], cfg.data, cache_dir=cfg.cache_dir, ood_protocol=cfg.ood_protocol,
                          log=log.info)

    from .operating_points import choose_all

    for name, folder in saved.items():      # operating points, once every expert (expansions too) is in
        if progress:
            progress(f"operating points {name}", 0, 1)
        guard = RouteGuard.from_folder(folder, encoder=CachedEncoder(cache))   # dev judged as at run time
        points = choose_all(guard, dv)
        guard.operating_points = {k: op.policy for k, op in points.items()}
        guard.policy = points["default"].policy
        guard.meta["operating_points"] = {k: op.summary() for k, op in points.items()}
        guard.save(folder)
        log.info("%s operating points: %s", name, {k: op.summary() for k, op in points.items()})
    # indexes that ship beside the models (their heads do not depend on them)
    if cfg.exemplars:
        from ..explain.exemplars import build_exemplar_index

        if progress:
            progress("exemplar index", 0, 1)
        build_exemplar_index(cfg.data, cfg.out / "exemplars.npz", encoder=encoder)
    if cfg.matcher is not None:
        from ..agent.train_matcher import train_matcher

        if progress:
            progress("agent policy matcher", 0, 1)
        train_matcher(cfg.datasets_root, cfg.data, cfg.matcher, seed=cfg.seed)      # on the base MiniLM
    for folder in saved.values():
        m = json.loads((folder / "model.json").read_text())
        m["meta"]["train_seconds"] = round(time.perf_counter() - t0, 1)
        m["meta"]["dev_binary_f1"] = round(f1_unsafe, 4)
        m["meta"]["dev_binary_f1_threshold"] = round(float(t_unsafe), 4)
        (folder / "model.json").write_text(json.dumps(m, indent=2))
        write_model_card(folder)
    return saved


def own_encoder(cfg: TrainConfig, progress: Progress | None = None) -> Encoder:
    """The encoder this config ships in ``<out>/encoder``: fine-tuned (``finetune``) or an int8 copy of the
    packaged one (``quantize_encoder``), made now unless it is there."""
    from ..encoders import folder_encoder

    folder = cfg.out / "encoder"
    if not (folder / "onnx" / "model.onnx").is_file():
        if cfg.finetune is not None:
            from .finetune import finetune

            finetune(cfg.data, folder, cfg.finetune, seed=cfg.seed, source_cap=cfg.source_cap, exclude=cfg.exclude,
                     ood_protocol=cfg.ood_protocol, progress=progress)
        else:
            from .quantize import quantize_packaged

            quantize_packaged(folder)
    return folder_encoder(str(folder.resolve()))


def _rounded(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if v != v else round(v, 4)) for k, v in d.items()}


def choose_route_threshold(router: Router, experts: dict[str, HeadExpert], dv: Prepared, target: float) -> float:
    """Largest route threshold whose dev router recall (unsafe records reaching all their domains) >= target."""
    from ..features import EncodedBatch

    batch = EncodedBatch([None] * len(dv.records), dv.feats, dv.owner, [], np.ones(len(dv.records)))  # type: ignore[list-item]
    scores = router.scores(batch)
    need = [(i, {d for d in DOMAINS if any(c in categories_of(d) for c in r.categories)})
            for i, r in enumerate(dv.records) if r.label == "unsafe" and r.categories]
    need = [(i, ds) for i, ds in need if ds]
    best = 0.05
    for t in np.arange(0.05, 0.6, 0.025):
        routes, _ = router.route(scores, Policy(route_threshold=float(t)))
        rec = np.mean([ds <= set(routes[i]) for i, ds in need]) if need else 1.0
        if rec >= target:
            best = round(float(t), 3)
    return best
