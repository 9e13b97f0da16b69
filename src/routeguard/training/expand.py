"""Modular expansion: add an expert for a new threat, and teach the router to send to it, without
retraining or changing any existing expert or the base router head (their weights are copied as is).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..data.build import read_split
from ..errors import ConfigError
from ..experts.base import HeadExpert
from ..guard import RouteGuard
from ..heads import sigmoid
from ..router import Router
from ..taxonomy import ALL_CATEGORIES
from .config import HeadConfig
from .embed_cache import EmbeddingCache
from .fitting import (Progress, SentenceNegatives, _select, best_threshold, calibrate, cap_sources, fit_head, prepare, record_logits,
                      style_weights)

log = logging.getLogger(__name__)


def expand(model: str | Path, expert: str, categories: list[str], data: str | Path, out: str | Path, *,
           head: HeadConfig | None = None, router_hidden: list[int] | None = None, seed: int = 13,
           source_cap: int = 4000, max_chunks: int = 4, exclude: list[str] | None = None,
           cache_dir: Path | None = None, progress: Progress | None = None,
           sentences: SentenceNegatives = SentenceNegatives()) -> Path:
    guard = RouteGuard.from_folder(model)
    if guard.router is None:
        raise ConfigError(f"{model} has no router: expansion adds a routed expert")
    if expert in guard.experts:
        raise ConfigError(f"expert {expert!r} already exists in {model}")
    for c in categories:
        if c not in ALL_CATEGORIES:
            raise ConfigError(f"unknown category {c!r}; known: {', '.join(ALL_CATEGORIES)}")
        owners = [n for n, e in guard.experts.items() if c in e.outputs]
        if owners:
            raise ConfigError(f"category {c!r} is already scored by expert(s) {owners}")
    head = head or HeadConfig()
    data = Path(data)
    cache = EmbeddingCache(guard.encoder, cache_dir or (data / ".cache"))
    tr = prepare(cap_sources(_select(read_split(data, "train"), False, exclude or []), source_cap, seed),
                 cache, max_chunks, progress, sentences, seed)
    dv = prepare(_select(read_split(data, "dev"), False, exclude or []), cache, max_chunks, progress)

    def labels(p):
        return np.array([[c in r.categories for c in categories] for r in p.records], np.float32)

    y_tr, y_dv = labels(tr), labels(dv)
    if y_tr.sum() == 0:
        raise ConfigError(f"no training record carries {categories} in {data}")
    everyone = np.ones(len(dv.records), bool)
    weight = style_weights(tr.records)[tr.owner] * tr.row_weight
    new_head = fit_head(tr.feats, y_tr[tr.owner], list(categories), head, seed, sample_weight=weight)
    calibrate(new_head, dv, y_dv, everyone)
    route_cfg = head.model_copy(update={"hidden": router_hidden or [64]})
    y_route = y_tr.max(1, keepdims=True)
    route_head = fit_head(tr.feats, y_route[tr.owner], [expert], route_cfg, seed, sample_weight=weight)
    calibrate(route_head, dv, y_dv.max(1, keepdims=True), everyone)

    p_dv = sigmoid(record_logits(new_head, dv) * new_head.platt_a + new_head.platt_b)
    thresholds = dict(guard.policy.thresholds)
    dev_f1 = {}
    for j, c in enumerate(categories):
        thresholds[c], dev_f1[c] = best_threshold(p_dv[:, j], y_dv[:, j])
    p_route = sigmoid(record_logits(route_head, dv)[:, 0] * route_head.platt_a[0] + route_head.platt_b[0])
    pos = y_dv.max(1) > 0
    route_recall = float((p_route[pos] >= guard.policy.route_threshold).mean()) if pos.any() else float("nan")

    experts = dict(guard.experts)
    experts[expert] = HeadExpert(expert, new_head)
    router = Router(guard.router.head, {**guard.router.extensions, expert: route_head})
    meta = dict(guard.meta)
    meta.setdefault("expansions", []).append({
        "expert": expert, "categories": list(categories), "data": str(data), "train_records": len(tr.records),
        "positives": int(y_tr.max(1).sum()), "dev_f1": {k: (None if v != v else round(v, 4)) for k, v in dev_f1.items()},
        "dev_route_recall": None if route_recall != route_recall else round(route_recall, 4), "seed": seed})
    new = RouteGuard(guard.encoder, experts, router, guard.policy.merged(thresholds=thresholds),
                     always_on=guard.always_on, meta=meta)
    folder = new.save(out)
    from .model_card import write_model_card

    write_model_card(folder)
    log.info("added expert %s (%s): dev F1 %s, dev router recall %.3f", expert, categories, dev_f1, route_recall)
    return folder
